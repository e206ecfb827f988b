"""Concurrent supervisors on one plan: ten "assign" requests at once store one team set
(the others get its result), and two re-assignments of the same inspector do not both
apply. Through the use case the CLI and the API call, and through the API itself."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import models
from api.app import create_app
from inspect_engine.errors import DomainError
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.settings import Environment, Settings
from inspect_engine.workflows.assignment import AssignOutcome, assign_month, reassign_inspector
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from inspect_engine.workflows.users import create_user, issue_token
from tests.conftest import BACKENDS, database_url, own_database
from tests.workflows import tinycity

MONTH = "2026-12"
SUPERVISORS = 10


@dataclass
class DrawnMonth:
    url: str
    factory: sessionmaker[Session]


@pytest.fixture(params=BACKENDS)
def drawn(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Iterator[DrawnMonth]:
    """A fresh database whose December plan is drawn, not yet assigned."""
    yield from _december(request.param, tmp_path_factory, tmp_path, draw=True)


@pytest.fixture(params=BACKENDS)
def frozen(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> Iterator[DrawnMonth]:
    """A fresh database whose December plan is frozen, not yet drawn."""
    yield from _december(request.param, tmp_path_factory, tmp_path, draw=False)


def _december(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, *, draw: bool
) -> Iterator[DrawnMonth]:
    with own_database(backend, tmp_path_factory, "assign", SUPERVISORS) as factory:
        with factory.begin() as session:
            tinycity.build(session)
            tinycity.add_inspectors(session)
            plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
        with factory.begin() as session:
            freeze_month(session, MONTH, ExclusionPolicy())
        if draw:
            with factory.begin() as session:
                draw_month(session, MONTH, "coins:HTTHHTHT")
        yield DrawnMonth(database_url(factory), factory)


def at_once(count: int, call: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """`count` threads released together; each result or error is collected."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(number: int) -> None:
        barrier.wait()
        try:
            results.append(call(number))
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    return results, errors


def assign(factory: sessionmaker[Session]) -> AssignOutcome:
    with factory.begin() as session:
        return assign_month(session, MONTH)


def current_teams(session: Session) -> dict[str, list[str]]:
    query = (
        select(models.Visit.visit_code, models.TeamMember.inspector_id)
        .join(models.Visit, models.Visit.id == models.TeamMember.visit_id)
        .where(models.TeamMember.replaced_at.is_(None))
        .order_by(models.Visit.visit_code, models.TeamMember.inspector_id)
    )
    teams: dict[str, list[str]] = {}
    for visit_code, inspector_id in session.execute(query):
        teams.setdefault(visit_code, []).append(inspector_id)
    return teams


def count(session: Session, query: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def assert_one_team_set(session: Session) -> dict[str, list[str]]:
    """One assignment run, one audit entry, and no visit with more places than it needs."""
    runs = select(models.AssignmentRun).where(models.AssignmentRun.label == "assign")
    assert count(session, runs) == 1
    audit = select(models.AuditEntry).where(models.AuditEntry.action == "plan.assign")
    assert count(session, audit) == 1
    teams = current_teams(session)
    assert teams, "no team was stored"
    sizes = {
        code: max(size, len(departments))
        for code, size, departments in session.execute(
            select(models.Visit.visit_code, models.Visit.team_size, models.Visit.departments)
        )
    }
    for visit_code, members in teams.items():
        assert len(members) == len(set(members)), f"{visit_code} has an inspector twice"
        assert len(members) <= sizes[visit_code], f"{visit_code} has two team sets"
    return teams


def test_ten_supervisors_assigning_at_once_store_one_team_set(drawn: DrawnMonth) -> None:
    outcomes, errors = at_once(SUPERVISORS, lambda _: assign(drawn.factory))
    assert errors == []
    assert sum(o.first_request for o in outcomes) == 1
    first = next(o for o in outcomes if o.first_request)
    for later in outcomes:  # every supervisor sees the one stored assignment
        assert (later.visits, later.staffed, later.unstaffed) == (
            first.visits,
            first.staffed,
            first.unstaffed,
        )
    with drawn.factory() as session:
        teams = assert_one_team_set(session)
        assert len(teams) == first.staffed
        status = session.scalar(select(models.Plan.status).where(models.Plan.month == MONTH))
        assert status == "assigned"


def test_two_reassignments_of_one_inspector_apply_once(drawn: DrawnMonth) -> None:
    assign(drawn.factory)
    with drawn.factory() as session:
        before = current_teams(session)
    places = Counter(member for members in before.values() for member in members)
    withdrawn = max(sorted(places), key=lambda inspector: places[inspector])

    def reassign(number: int) -> AssignOutcome:
        with drawn.factory.begin() as session:
            return reassign_inspector(session, MONTH, withdrawn, f"病假 {number}")

    outcomes, errors = at_once(2, reassign)
    assert len(outcomes) == 1, errors
    assert [type(e) for e in errors if not isinstance(e, DomainError)] == []
    assert "no open place" in str(errors[0])
    with drawn.factory() as session:
        after = current_teams(session)
        assert not any(withdrawn in members for members in after.values())
        replaced = select(models.TeamMember).where(
            models.TeamMember.inspector_id == withdrawn, models.TeamMember.replaced_at.is_not(None)
        )
        assert count(session, replaced) == places[withdrawn]  # each place closed once
        assert {code: len(m) for code, m in after.items()} == {
            code: len(m) for code, m in before.items()
        }  # one replacement per place, not two
        audit = select(models.AuditEntry).where(models.AuditEntry.action == "plan.reassign")
        assert count(session, audit) == 1


def test_concurrent_assign_requests_through_the_api(drawn: DrawnMonth) -> None:
    with drawn.factory.begin() as session:
        create_user(session, "chief", "supervisor", departments=("SAMR", "FIRE"))
        token = issue_token(session, "chief").token
    app = create_app(Settings(database_url=drawn.url, environment=Environment.TEST))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        responses, errors = at_once(
            SUPERVISORS,
            lambda _: client.post(f"/supervisor/plans/{MONTH}/assign", headers=headers),
        )
    assert errors == []
    # Writing requests queue for the plan (on SQLite they begin with the write lock), so
    # every supervisor gets the one stored result.
    assert [r.status_code for r in responses] == [200] * SUPERVISORS, [r.text for r in responses]
    winners = [r.json() for r in responses if r.json()["first_request"]]
    assert len(winners) == 1
    with drawn.factory() as session:
        assert_one_team_set(session)


def test_concurrent_draw_requests_through_the_api(frozen: DrawnMonth) -> None:
    with frozen.factory.begin() as session:
        create_user(session, "chief", "supervisor", departments=("SAMR", "FIRE"))
        token = issue_token(session, "chief").token
    app = create_app(Settings(database_url=frozen.url, environment=Environment.TEST))
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app) as client:
        responses, errors = at_once(
            SUPERVISORS,
            lambda n: client.post(
                f"/supervisor/plans/{MONTH}/draw",
                headers=headers,
                json={"contribution": f"第{n}位主管的号码"},
            ),
        )
    assert errors == []
    assert [r.status_code for r in responses] == [200] * SUPERVISORS, [r.text for r in responses]
    seeds = {r.json()["seed"] for r in responses}
    assert len(seeds) == 1  # one draw: everyone sees the first request's seed
    with frozen.factory() as session:
        assert count(session, select(models.Draw)) == 2  # the two tasks, drawn once
        plan = session.scalar(select(models.Plan).where(models.Plan.month == MONTH))
        assert plan is not None and plan.status == "drawn" and plan.seed in seeds


def test_two_imports_of_conflicts_at_once_extend_one_chain(
    drawn: DrawnMonth, tmp_path: Path
) -> None:
    """Two supervisors import a conflict each at the same moment: both are recorded, one
    after the other, in one unbroken chain (no two events with one place in it)."""
    from inspect_engine.assignment.events import GENESIS, Change, event_hash
    from inspect_engine.workflows.imports import import_file
    from models.db import WRITE_INTENT

    assign(drawn.factory)
    with drawn.factory() as session:
        teams = current_teams(session)
        query = select(models.Visit.visit_code, models.Visit.credit_code)
        code_of = dict(session.execute(query).tuples().all())
    pairs = [(members[0], code_of[visit]) for visit, members in sorted(teams.items())[:2]]
    files = []
    for number, (inspector_id, credit_code) in enumerate(pairs):
        path = tmp_path / f"conflicts-{number}.csv"
        path.write_text(
            "inspector_id,credit_code,reason,raised_by,raised_on\n"
            f"{inspector_id},{credit_code},利害关系,enterprise,2026-12-08\n",
            encoding="utf-8",
        )
        files.append(path)

    def upload(number: int) -> int:
        with drawn.factory.begin() as session:
            # as the API's writing requests begin (on SQLite: with the write lock)
            session.connection(execution_options={WRITE_INTENT: True})
            return import_file(session, "conflicts", files[number]).team_events

    recorded, errors = at_once(2, upload)
    assert errors == [] and recorded == [1, 1]
    with drawn.factory() as session:
        chain = session.scalars(select(models.TeamEvent).order_by(models.TeamEvent.seq)).all()
        assert [e.seq for e in chain] == [1, 2]
        previous = GENESIS
        for event in chain:
            assert event.prev_hash == previous
            assert event.event_hash == event_hash(previous, Change.from_dict(event.event))
            previous = event.event_hash
        after = current_teams(session)
    for inspector_id, credit_code in pairs:
        visit = next(v for v, c in code_of.items() if c == credit_code)
        assert inspector_id not in after[visit]
