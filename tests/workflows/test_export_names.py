"""The month's export names each draw record after its task code: a code that would climb
out of the export folder (written into the database by hand, or stored before the rule)
stops the export before any file is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import InvalidInput
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.month_export import export_month
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from tests.workflows import tinycity

MONTH = "2026-12"


def test_a_stored_task_code_with_dots_and_slashes_cannot_break_the_export(
    session: Session, tmp_path: Path
) -> None:
    tinycity.build(session)
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    freeze_month(session, MONTH, ExclusionPolicy())
    draw_month(session, MONTH, "dice:4-4-2")
    plan = session.scalars(select(models.Plan)).one()
    sneaked = "../../escaped"
    good = session.scalars(select(models.Draw)).first()
    assert good is not None
    session.add(
        models.Task(task_code=sneaked, plan_id=plan.id, title="x", items=["SAMR-INFO"], ratios={})
    )
    session.flush()
    session.add(models.Draw(task_code=sneaked, plan_id=plan.id, record=good.record))
    session.flush()
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(InvalidInput, match=r"'\.\./\.\./escaped' cannot name an export file"):
        export_month(session, MONTH, out)
    assert not out.exists()
    assert not (tmp_path / "a" / "b" / "escaped.json").exists()
