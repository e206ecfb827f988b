"""Carried-over visits (结转) on the pages, on SQLite and PostgreSQL: the board counts them and
lists the re-check's changes; the inspector's month and visit page mark them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from inspect_engine.settings import Settings
from inspect_engine.workflows import carryover, field, staffing
from inspect_engine.workflows.planning import get_plan
from inspect_engine.workflows.signin import set_password
from inspect_engine.workflows.users import create_user
from models.base import utcnow
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.field import fieldcity
from tests.workflows.test_carryover import DECEMBER, two_months


@dataclass
class Carried:
    client: TestClient
    carried: int  # visits carried into December
    changed: list[str]  # carried visits whose team the re-check changed
    inspector_visit: str  # a carried visit of the signed-in inspector


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Carried]:
    url = fresh_database_url(request.param, tmp_path_factory, "carryover")
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        two_months(session, tmp_path_factory.mktemp("carryover"))
        december = get_plan(session, DECEMBER)
        teams = staffing.carried_teams(session, december)
        code = sorted(c for c in teams if teams[c])[0]
        changed = [c.visit_code for c in field.month_board(session, DECEMBER).carried_changes]
        carried = len(carryover.carried_rows(session, december))
        for username, role, inspector in (
            ("admin", "admin", None),
            ("insp", "inspector", teams[code][0]),
        ):
            create_user(session, username, role, inspector_id=inspector)
            set_password(session, username, f"{username} 的密码-2026", actor="cli", now=utcnow())
        session.commit()
    settings = Settings(database_url=url, environment="test", secret_key="carry-test-secret")
    try:
        with fieldcity.clock(fieldcity.TODAY), TestClient(create_app(settings)) as client:
            yield Carried(client, carried, changed, code)
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)


def signed_in(served: Carried, username: str) -> TestClient:
    client = TestClient(served.client.app, follow_redirects=False)
    response = client.post(
        "/login",
        data={"username": username, "password": f"{username} 的密码-2026", "next": "/field"},
    )
    assert response.status_code == 303
    return client


def test_the_board_counts_carried_visits_and_lists_the_recheck(served: Carried) -> None:
    page = signed_in(served, "admin").get(f"/board/{DECEMBER}")
    assert page.status_code == 200
    counted = re.search(r'id="carried-counts".*?<span class="n carried">(\d+)</span>', page.text)
    assert counted and int(counted.group(1)) == served.carried
    for code in served.changed:
        assert f'<tr data-visit="{code}">' in page.text
    # per task: December's INFO row counts the carried visits it drew again
    info = re.search(r'<tr data-key="2026-12-INFO">.*?class="n carried">(\d+)<', page.text, re.S)
    assert info and int(info.group(1)) >= 1


def test_the_inspector_sees_his_carried_visits_marked(served: Carried) -> None:
    client = signed_in(served, "insp")
    month = client.get(f"/field/visits?month={DECEMBER}")
    assert month.status_code == 200
    card = re.search(
        rf'<li class="card">\s*<a href="/field/visits/{served.inspector_visit}">.*?</li>',
        month.text,
        re.S,
    )
    assert card and "结转" in card.group(0)
    visit = client.get(f"/field/visits/{served.inspector_visit}")
    assert visit.status_code == 200 and 'id="carried"' in visit.text


def test_the_desk_lists_carried_visits_first_and_marks_them(served: Carried) -> None:
    page = signed_in(served, "admin").get(f"/desk/{DECEMBER}")
    assert page.status_code == 200
    pattern = r'<tr data-visit="([^"]+)"><td data-label="户次" class="code">(.*?)</td>'
    rows = re.findall(pattern, page.text)
    assert rows
    marked = [code for code, cell in rows if "结转" in cell]
    assert marked == [code for code, _ in rows[: len(marked)]]  # first
    assert len(marked) == min(served.carried, len(rows))
    assert all(code.startswith("2026-11-") for code in marked)
