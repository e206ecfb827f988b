"""Concurrent supervisors planning and freezing one month: one plan with one set of tasks;
one set of frames and one commitment, which every freeze gets back (the commitment is
public at once: there must never be two)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import models
from inspect_engine.errors import Conflict
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.planning import FreezeResult, PlanSummary, freeze_month, plan_month
from tests.conftest import BACKENDS, own_database
from tests.workflows import tinycity
from tests.workflows.test_assign_concurrency import MONTH, SUPERVISORS, at_once


@pytest.fixture(params=BACKENDS)
def planned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Iterator[sessionmaker[Session]]:
    """A fresh database whose December plan has its tasks, not yet frozen."""
    with own_database(request.param, tmp_path_factory, "freeze", SUPERVISORS) as factory:
        with factory.begin() as session:
            tinycity.build(session)
            plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
        yield factory


def test_concurrent_freezes_make_one_commitment(planned: sessionmaker[Session]) -> None:
    def freeze(_: int) -> FreezeResult:
        with planned.begin() as session:
            return freeze_month(session, MONTH, ExclusionPolicy())

    results, errors = at_once(SUPERVISORS, freeze)
    assert errors == []
    assert len({r.commitment for r in results}) == 1
    assert len({r.group_hash for r in results}) == 1
    with planned() as session:
        plan = session.scalars(select(models.Plan)).one()
        assert plan.status == "frozen" and plan.commitment == results[0].commitment
        audit = select(func.count()).where(models.AuditEntry.action == "plan.freeze")
        assert session.scalar(audit) == 1
        assert session.scalar(select(func.count()).select_from(models.Frame)) == len(
            results[0].frames
        )


@pytest.fixture(params=BACKENDS)
def city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sessionmaker[Session]]:
    """A fresh database with the tiny city and no plan."""
    with own_database(request.param, tmp_path_factory, "plan", SUPERVISORS) as factory:
        with factory.begin() as session:
            tinycity.build(session)
        yield factory


def test_concurrent_uploads_of_a_new_plan_make_one_plan(
    city: sessionmaker[Session], tmp_path: Path
) -> None:
    """Each request either makes or replaces the plan's tasks, or is told to try again;
    never a database error, never two plans or mixed tasks."""
    tasks = tinycity.tasks_file(tmp_path)

    def upload(_: int) -> PlanSummary:
        with city.begin() as session:
            return plan_month(session, MONTH, tasks)

    results, errors = at_once(SUPERVISORS, upload)
    assert all(isinstance(e, Conflict) and "try again" in str(e) for e in errors), errors
    assert results, "no upload made the plan"
    with city() as session:
        assert session.scalar(select(func.count()).select_from(models.Plan)) == 1
        stored = sorted(session.scalars(select(models.Task.task_code)))
        assert stored == sorted(results[0].tasks)
        audit = select(func.count()).where(models.AuditEntry.action == "plan.tasks")
        assert session.scalar(audit) == len(results)
