"""The staffing events on the board, through the production app on SQLite and PostgreSQL:
after the draw a conflict is imported for a member of one team and a supervisor withdraws
the busiest inspector. The JSON and the phone page list both events of the chain once, in
order, with who, where from and why, what each changed, and the counts of manual and of
imported changes; a supervisor sees the events of his departments."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from api.app import create_app
from inspect_engine.settings import Settings
from inspect_engine.workflows.assignment import reassign_inspector
from inspect_engine.workflows.imports import import_file
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.field import fieldcity
from tests.field.conftest import Served
from tests.field.test_pages import browser

REASON = "病假，住院两周"


def _record_events(session: Session, folder: Path) -> None:
    visits = list(session.scalars(select(models.Visit).order_by(models.Visit.visit_code)))
    places = [m for v in visits for m in fieldcity.team_of(session, v.id)]
    busiest = max(sorted(set(places)), key=places.count)
    target = next(v for v in visits if busiest not in fieldcity.team_of(session, v.id))
    member = fieldcity.team_of(session, target.id)[0]
    path = folder / "conflicts.csv"
    path.write_text(
        "inspector_id,credit_code,reason,raised_by,raised_on\n"
        f"{member},{target.credit_code},亲属任职,enterprise,2026-12-09\n",
        encoding="utf-8",
    )
    import_file(session, "conflicts", path, actor="importer")
    reassign_inspector(session, fieldcity.MONTH, busiest, REASON, actor="sup_all")


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    url = fresh_database_url(request.param, tmp_path_factory, "board-events")
    engine = make_engine(url)
    upgrade(engine)
    folder = tmp_path_factory.mktemp("board-events")
    with make_session_factory(engine)() as session:
        fieldcity.run_month(session, folder)
        city = fieldcity.add_users(session)
        _record_events(session, folder)
        session.commit()
    settings = Settings(database_url=url, environment="test", secret_key="board-events-secret")
    try:
        with fieldcity.clock(fieldcity.TODAY), TestClient(create_app(settings)) as client:
            yield Served(request.param, engine, client, city, settings)
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)


def _chain(served: Served) -> list[models.TeamEvent]:
    with served.session() as session:
        return list(session.scalars(select(models.TeamEvent).order_by(models.TeamEvent.seq)))


def test_the_json_board_lists_the_chain_with_who_why_and_what(served: Served) -> None:
    chain = _chain(served)
    body = served.client.get(
        "/supervisor/board/2026-12", headers=served.city.headers("admin")
    ).json()
    events = body["events"]
    assert [(e["seq"], e["kind"], e["by"], e["source"], e["reason"]) for e in events] == [
        (r.seq, r.kind, r.actor, r.source, r.reason) for r in chain
    ]
    assert [e["kind"] for e in events] == ["conflict", "withdraw"]
    assert [e["event_hash"] for e in events] == [r.event_hash for r in chain]
    withdraw = events[1]
    assert withdraw["manual"] and withdraw["reason"] == REASON and withdraw["by"] == "sup_all"
    assert (body["manual_events"], body["directory_events"]) == (1, 1)
    # what it changed is the outcome recorded with the event, visit by visit
    recorded = chain[1].outcome["replaced"]
    assert {t["visit_code"]: (t["removed"], t["added"]) for t in withdraw["teams"]} == {
        v: (r["removed"], r["added"]) for v, r in recorded.items()
    }
    assert len(withdraw["teams"]) > 1  # one event, several places: listed once
    assert all(c["kind"] != "reassignment" for c in body["changes"])


def test_the_page_shows_each_event_once_and_the_counts(served: Served) -> None:
    chain = _chain(served)
    page = browser(served, "sup_all").get("/board/2026-12").text
    rows = re.findall(r'<tr data-seq="(\d+)" data-kind="(\w+)" data-manual="(\w+)">', page)
    assert rows == [(str(r.seq), r.kind, "yes" if r.kind == "withdraw" else "no") for r in chain]
    assert page.count(REASON) == 1
    manual = re.search(r'class="n manual">(\d+)<', page)
    directory = re.search(r'class="n directory">(\d+)<', page)
    assert manual and directory and (manual.group(1), directory.group(1)) == ("1", "1")
    for visit_code in chain[1].outcome["replaced"]:
        assert f'data-visit="{visit_code}"' in page


def test_a_supervisor_sees_the_events_of_his_departments(served: Served) -> None:
    chain = _chain(served)
    with served.session() as session:
        fire_people = set(
            session.scalars(
                select(models.Inspector.inspector_id).where(models.Inspector.department == "FIRE")
            )
        )
        fire_visits = {
            v.visit_code for v in session.scalars(select(models.Visit)) if "FIRE" in v.departments
        }
    expected = [
        r.seq
        for r in chain
        if r.event["inspector_id"] in fire_people
        or set(r.outcome.get("replaced", {})) & fire_visits
    ]
    body = served.client.get(
        "/supervisor/board/2026-12", headers=served.city.headers("sup_fire")
    ).json()
    assert [e["seq"] for e in body["events"]] == expected
    assert body["manual_events"] + body["directory_events"] == len(expected)
