"""Concurrent `results publish` of one month: eight supervisors (or the CLI and the API)
publishing at once make each reviewed result public once, with one history row, and
exactly one of them reports what was published; the others find nothing left."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import models
from inspect_engine.errors import Conflict, DomainError
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows import results
from inspect_engine.workflows.planning import freeze_month, plan_month
from tests.api import servicecity
from tests.api.servicecity import MONTH
from tests.conftest import BACKENDS, own_database
from tests.workflows import tinycity
from tests.workflows.test_assign_concurrency import at_once

SUPERVISORS = 8
VISITS = 12  # visits whose every item is reported and reviewed
TODAY = date(2026, 10, 15)
INSPECTED_ON = date(2026, 9, 24)


@dataclass
class ReviewedMonth:
    factory: sessionmaker[Session]
    reviewed: set[int]  # ids of the reviewed, unpublished results
    history_before: int


@pytest.fixture(params=BACKENDS)
def reviewed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Iterator[ReviewedMonth]:
    """A fresh database whose September plan has teams and several reviewed results."""
    with own_database(request.param, tmp_path_factory, "publish", SUPERVISORS) as factory:
        with factory.begin() as session:
            city = servicecity.populate(session, tmp_path)
        ids: set[int] = set()
        with factory.begin() as session:
            for visit_code, (team, items) in sorted(city.visits.items())[:VISITS]:
                for item_code in items:
                    row = results.submit_result(
                        session,
                        inspector_id=team[0],
                        visit_code=visit_code,
                        item_code=item_code,
                        result="no_problem",
                        inspected_on=INSPECTED_ON,
                        today=TODAY,
                        actor=team[0],
                    )
                    ids.add(row.id)
        with factory.begin() as session:
            for result_id in sorted(ids):
                results.review_result(session, result_id, approve=True, departments=None)
            history = session.scalar(select(func.count()).select_from(models.Inspection)) or 0
        assert len(ids) > VISITS  # some visits carry more than one item
        yield ReviewedMonth(factory, ids, history)


def publish(factory: sessionmaker[Session], number: int) -> results.PublishReport:
    with factory.begin() as session:
        return results.publish_month(session, MONTH, today=TODAY, actor=f"supervisor{number}")


def test_eight_supervisors_publishing_at_once_publish_each_result_once(
    reviewed: ReviewedMonth,
) -> None:
    reports, errors = at_once(SUPERVISORS, lambda n: publish(reviewed.factory, n))
    assert [e for e in errors if not isinstance(e, DomainError)] == []
    assert len(reports) + len(errors) == SUPERVISORS
    winners = [r for r in reports if r.published > 0]
    assert len(winners) == 1, reports
    assert winners[0].published == len(reviewed.reviewed)
    assert winners[0].history_rows == len(reviewed.reviewed)
    with reviewed.factory() as session:
        published = session.scalars(select(models.Publication.result_id)).all()
        assert sorted(published) == sorted(reviewed.reviewed)  # one publication per result
        history = session.scalar(select(func.count()).select_from(models.Inspection))
        assert history == reviewed.history_before + len(reviewed.reviewed)
        statuses = set(
            session.scalars(
                select(models.Result.status).where(models.Result.id.in_(reviewed.reviewed))
            )
        )
        assert statuses == {"published"}
        audit = select(func.count()).where(models.AuditEntry.action == "result.publish")
        assert session.scalar(audit) == len(reports)  # one entry per call that went through
    # and a later call still finds nothing left
    assert publish(reviewed.factory, SUPERVISORS).published == 0


def test_publishing_before_the_draw_is_a_conflict(session: Session, tmp_path: Path) -> None:
    tinycity.build(session)
    plan_month(session, "2026-12", tinycity.tasks_file(tmp_path))
    with pytest.raises(Conflict, match="planned"):
        results.publish_month(session, "2026-12", today=TODAY)
    freeze_month(session, "2026-12", ExclusionPolicy())
    with pytest.raises(Conflict, match="frozen"):
        results.publish_month(session, "2026-12", today=TODAY)
