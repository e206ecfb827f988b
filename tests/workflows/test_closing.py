from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import Conflict
from inspect_engine.workflows.assignment import assign_month
from inspect_engine.workflows.closing import close_month
from inspect_engine.workflows.results import import_results
from tests.workflows.test_assignment import MONTH, drawn


def test_unvisited_enterprises_are_carried_over_once(session: Session, tmp_path: Path) -> None:
    drawn(session, tmp_path)
    with pytest.raises(Conflict, match="only an assigned plan closes"):
        close_month(session, MONTH)
    assign_month(session, MONTH)
    visits = session.scalars(select(models.Visit).order_by(models.Visit.visit_code)).all()
    done = visits[0]
    lines = ["visit_id,item_code,result,inspected_on,note"] + [
        f"{done.visit_code},{item},no_problem,2026-12-05," for item in done.item_codes
    ]
    path = tmp_path / "results.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_results(session, path, today=date(2026, 12, 20))
    carried = close_month(session, MONTH)
    assert [c.visit_code for c in carried] == [v.visit_code for v in visits[1:]]
    statuses = {v.visit_code: v.status for v in session.scalars(select(models.Visit))}
    assert statuses[done.visit_code] != "carried_over"
    assert all(statuses[c.visit_code] == "carried_over" for c in carried)
    assert close_month(session, MONTH) == carried  # idempotent: listed again, logged once
    logged = session.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "plan.carry_over")
    ).all()
    assert len(logged) == 1
