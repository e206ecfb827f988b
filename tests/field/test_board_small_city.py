"""The board after a month run on the synthetic small city (the demo's): its counts agree
with the database, on SQLite and PostgreSQL."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import models
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows import field
from inspect_engine.workflows.assignment import assign_month
from inspect_engine.workflows.imports import import_file
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from simulations.city import CitySummary, generate_city

KINDS = ("enterprises", "inspectors", "items", "inspections", "leave", "conflicts")


@pytest.fixture(scope="module")
def small_city(tmp_path_factory: pytest.TempPathFactory) -> CitySummary:
    return generate_city("small", 2026, tmp_path_factory.mktemp("small-board"))


def test_board_counts_agree_after_a_month_on_the_small_city(
    session: Session, small_city: CitySummary
) -> None:
    out: Path = small_city.out_dir
    for kind in KINDS:
        import_file(session, kind, out / f"{kind}.csv")
    plan_month(session, "2026-12", out / "tasks.csv")
    freeze_month(session, "2026-12", ExclusionPolicy())
    draw_month(session, "2026-12", "board test: 2-7-1-8-2-8")
    assign_month(session, "2026-12")
    board = field.month_board(session, "2026-12", as_of=date(2026, 12, 10))
    visits = session.scalars(select(models.Visit)).all()
    assert board.total.drawn == len(visits) > 0
    staffed = session.scalar(
        select(func.count(func.distinct(models.TeamMember.visit_id))).where(
            models.TeamMember.replaced_at.is_(None)
        )
    )
    assert board.total.assigned == staffed
    assert board.total.items == sum(len(v.item_codes) for v in visits)
    assert board.total.visited == board.total.published == 0
    selected = dict(
        session.execute(
            select(models.Selection.task_code, func.count()).group_by(models.Selection.task_code)
        )
        .tuples()
        .all()
    )
    assert {row.key: row.drawn for row in board.tasks} == selected
    districts = dict(
        session.execute(
            select(models.Enterprise.district, func.count())
            .join(models.Visit, models.Visit.credit_code == models.Enterprise.credit_code)
            .group_by(models.Enterprise.district)
        )
        .tuples()
        .all()
    )
    assert {row.key: row.drawn for row in board.districts} == districts
