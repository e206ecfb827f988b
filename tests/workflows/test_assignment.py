from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import Conflict
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.assignment import assign_month, reassign_inspector
from inspect_engine.workflows.month_export import export_month
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from tests.workflows import tinycity

MONTH = "2026-12"


def drawn(session: Session, tmp_path: Path, capacity: int = 20) -> None:
    tinycity.build(session)
    tinycity.add_inspectors(session, capacity=capacity)
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    freeze_month(session, MONTH, ExclusionPolicy())
    draw_month(session, MONTH, "dice:6-6-1-2-5-3-4-4-2-1")


def teams(session: Session) -> dict[str, list[models.Inspector]]:
    query = (
        select(models.Visit.visit_code, models.Inspector)
        .join(models.TeamMember, models.TeamMember.visit_id == models.Visit.id)
        .join(models.Inspector, models.Inspector.inspector_id == models.TeamMember.inspector_id)
        .where(models.TeamMember.replaced_at.is_(None))
    )
    out: dict[str, list[models.Inspector]] = {}
    for code, inspector in session.execute(query):
        out.setdefault(code, []).append(inspector)
    return out


def test_teams_are_lawful_and_exported(session: Session, tmp_path: Path) -> None:
    with pytest.raises(Conflict, match="draw it before"):
        tinycity.build(session)
        plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
        assign_month(session, MONTH)
    session.rollback()
    drawn(session, tmp_path)
    outcome = assign_month(session, MONTH)
    assert not outcome.partial and outcome.staffed == outcome.visits > 0
    visits = {v.visit_code: v for v in session.scalars(select(models.Visit))}
    units = {e.credit_code: e.unit for e in session.scalars(select(models.Enterprise))}
    for code, members in teams(session).items():
        visit = visits[code]
        assert len({m.inspector_id for m in members}) == len(members) >= visit.team_size
        assert {m.department for m in members} >= set(visit.departments)
        if visit.mode == "cross_office":
            assert all(m.unit != units[visit.credit_code] for m in members)
        for member in members:  # qualified for his department's items on the visit
            wanted = {"SAMR": "food", "FIRE": "fire"}[member.department]
            if member.department == "FIRE" or "SAMR-FOOD" in visit.item_codes:
                assert wanted in (member.qualifications or "")
    again = assign_month(session, MONTH)
    assert not again.first_request and again.staffed == outcome.staffed
    export_month(session, MONTH, tmp_path / "out")
    rows = (tmp_path / "out" / "visits.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert all(row.split(",")[-2] for row in rows)  # every visit has its inspectors


def test_a_partial_plan_names_the_rule(session: Session, tmp_path: Path) -> None:
    drawn(session, tmp_path, capacity=1)
    outcome = assign_month(session, MONTH)
    assert outcome.partial
    assert outcome.staffed + len(outcome.unstaffed) == outcome.visits
    assert all("capacity" in reason for _, reason in outcome.unstaffed)
    run = session.scalars(select(models.AssignmentRun)).one()
    assert run.partial and len(run.unstaffed) == len(outcome.unstaffed)


def test_reassignment_replaces_only_the_withdrawn_inspector(
    session: Session, tmp_path: Path
) -> None:
    drawn(session, tmp_path)
    assign_month(session, MONTH)
    before = {code: {m.inspector_id for m in ms} for code, ms in teams(session).items()}
    busiest = max(
        {i for ms in before.values() for i in ms},
        key=lambda i: sum(i in ms for ms in before.values()),
    )
    reassign_inspector(session, MONTH, busiest, "病假 sick leave")
    after = {code: {m.inspector_id for m in ms} for code, ms in teams(session).items()}
    assert after.keys() == before.keys()
    for code, members in before.items():
        if busiest in members:
            assert busiest not in after[code]
            assert members - {busiest} <= after[code]
            assert len(after[code]) == len(members)
        else:
            assert after[code] == members
    replaced = session.scalars(
        select(models.TeamMember).where(models.TeamMember.replaced_at.is_not(None))
    ).all()
    assert replaced and all(p.inspector_id == busiest for p in replaced)
    assert all(p.replaced_reason == "病假 sick leave" for p in replaced)
