"""People's sign-in through the production app, on SQLite and PostgreSQL, tried as an
attacker would: forged, stolen, expired and logged-out sessions, forms without their CSRF
token, a password guesser on one address while the real user signs in from another, and
tokens that expire and record who issued them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

import models
from inspect_engine.cli_service import users_app
from inspect_engine.workflows import signin
from inspect_engine.workflows.signin import hash_session, set_password
from models.base import utcnow
from models.db import make_session_factory
from tests.api.conftest import Service

PASSWORD = "正确的密码 correct horse"
VISITS = "/field/visits"


@pytest.fixture(scope="module")
def people(service: Service) -> Iterator[Service]:
    with make_session_factory(service.engine)() as session:
        for username in ("insp_s01", "insp_s02", "sup_samr", "auditor"):
            set_password(session, username, PASSWORD, actor="test", now=utcnow())
        session.commit()
    yield service


def browser(service: Service, address: str = "10.0.0.1", **kwargs: str) -> TestClient:
    return TestClient(service.client.app, follow_redirects=False, client=(address, 40000), **kwargs)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    response = client.post(
        "/login", data={"username": username, "password": password, "next": VISITS}
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == VISITS
    return str(client.cookies["ie_session"])


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def is_signed_in(client: TestClient) -> bool:
    response = client.get(VISITS)
    assert response.status_code in (200, 303), response.text
    return response.status_code == 200


def test_the_login_page_is_chinese_and_the_cookie_holds_a_session_id(people: Service) -> None:
    client = browser(people)
    page = client.get("/login?next=/field/visits")
    assert page.status_code == 200
    for label in ('<label for="username">用户名</label>', '<label for="password">密码</label>'):
        assert label in page.text
    assert '<button type="submit">登录</button>' in page.text
    response = client.post("/login", data={"username": "insp_s01", "password": PASSWORD})
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and "secure" not in lowered
    session_id = client.cookies["ie_session"]
    assert session_id not in people.city.tokens.values() and len(session_id) >= 40
    with people.engine.connect() as conn:
        stored = conn.scalars(select(models.WebSession.session_hash)).all()
    assert hash_session(session_id) in stored and session_id not in stored
    assert is_signed_in(client)


def test_the_cookie_is_secure_over_tls(people: Service) -> None:
    client = browser(people, base_url="https://testserver")
    response = client.post("/login", data={"username": "insp_s01", "password": PASSWORD})
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_forged_stolen_and_expired_sessions_are_refused(people: Service) -> None:
    forged = browser(people)
    forged.cookies.set("ie_session", "A" * 43)
    assert not is_signed_in(forged)
    victim = browser(people)
    session_id = sign_in(victim, "insp_s02")
    # an operator who reads the database gets only the hash: as a cookie it is worthless
    thief = browser(people, "10.9.9.9")
    thief.cookies.set("ie_session", hash_session(session_id))
    assert not is_signed_in(thief)
    # a stolen cookie works only while the session lives: idle 8 h ends it
    thief.cookies.set("ie_session", session_id)
    assert is_signed_in(thief)
    with people.engine.begin() as conn:
        conn.execute(
            update(models.WebSession)
            .where(models.WebSession.session_hash == hash_session(session_id))
            .values(last_seen_at=utcnow() - timedelta(hours=8, minutes=1))
        )
    assert not is_signed_in(thief) and not is_signed_in(victim)
    # and 7 days after sign-in, however busy
    busy = browser(people)
    busy_id = sign_in(busy, "insp_s02")
    with people.engine.begin() as conn:
        conn.execute(
            update(models.WebSession)
            .where(models.WebSession.session_hash == hash_session(busy_id))
            .values(created_at=utcnow() - timedelta(days=7, minutes=1), last_seen_at=utcnow())
        )
    assert not is_signed_in(busy)


def test_logout_ends_the_session_on_the_server(people: Service) -> None:
    client = browser(people)
    session_id = sign_in(client, "insp_s01")
    page = client.get(VISITS).text
    assert 'action="/logout"' in page
    refused = client.post("/logout", data={"csrf": "0" * 32})  # a forged logout form
    assert refused.status_code == 401
    assert is_signed_in(client)
    done = client.post("/logout", data={"csrf": csrf_of(page)})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    replay = browser(people)
    replay.cookies.set("ie_session", session_id)  # the old cookie, kept by an attacker
    assert not is_signed_in(replay)


def test_the_password_change_form_needs_its_csrf_token(people: Service) -> None:
    with make_session_factory(people.engine)() as session:
        set_password(session, "auditor", PASSWORD, actor="test", now=utcnow())
        session.commit()
    desk, phone = browser(people, "10.0.1.1"), browser(people, "10.0.1.2")
    sign_in(desk, "auditor")
    sign_in(phone, "auditor")
    page = desk.get("/account/password")
    assert page.status_code == 200 and "修改密码" in page.text
    new = "新的密码 2027 horse battery"
    form = {"current": PASSWORD, "new": new, "repeat": new}
    for forged in ({}, {"csrf": "f" * 32}):
        refused = desk.post("/account/password", data={**form, **forged})
        assert refused.status_code == 401
    wrong = desk.post(
        "/account/password", data={**form, "current": "not it at all", "csrf": csrf_of(page.text)}
    )
    assert wrong.status_code == 401 and "当前密码不正确" in wrong.text
    done = desk.post("/account/password", data={**form, "csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "密码已修改" in done.text
    assert desk.get("/account/password").status_code == 200  # this session stays
    assert phone.get("/account/password").status_code == 303  # the other one ended
    old = browser(people, "10.0.1.3").post(
        "/login", data={"username": "auditor", "password": PASSWORD}
    )
    assert old.status_code == 401
    sign_in(browser(people, "10.0.1.3"), "auditor", new)


def test_a_guesser_is_slowed_but_the_real_user_still_signs_in(people: Service) -> None:
    guesser = browser(people, "203.0.113.66")
    statuses = []
    for attempt in range(20):
        response = guesser.post(
            "/login", data={"username": "sup_samr", "password": f"guess-{attempt:04d}-xxxx"}
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["retry-after"]) >= 1
            assert "登录失败次数过多" in response.text
    assert statuses[: signin.FREE_FAILURES] == [401] * signin.FREE_FAILURES
    assert statuses[-1] == 429 and statuses.count(429) >= 15
    # the guesser cannot get in now even with the right password...
    blocked = guesser.post("/login", data={"username": "sup_samr", "password": PASSWORD})
    assert blocked.status_code == 429 and "set-cookie" not in blocked.headers
    # ...while the real user, on his own address, is not slowed at all
    sign_in(browser(people, "198.51.100.7"), "sup_samr")


def test_one_address_cannot_spray_every_account(people: Service) -> None:
    sprayer = browser(people, "203.0.113.99")
    for number in range(signin.CLIENT_BUDGET):
        response = sprayer.post(
            "/login", data={"username": f"someone{number:02d}", "password": "Winter2026!xx"}
        )
        assert response.status_code == 401
    stopped = sprayer.post("/login", data={"username": "insp_s01", "password": "Winter2026!xx"})
    assert stopped.status_code == 429
    sign_in(browser(people, "198.51.100.8"), "insp_s01")


def test_tokens_expire_and_record_their_issuer(people: Service) -> None:
    issued = people.client.post(
        "/admin/users/insp_s02/tokens",
        json={"expires_days": 30},
        headers=people.city.headers("admin"),
    )
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["issued_by"] == "admin" and body["expires_at"] is not None
    token = body["token"]
    me = people.client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "insp_s02"
    with people.engine.begin() as conn:
        row = conn.execute(
            select(models.ApiToken.issued_by, models.ApiToken.expires_at).where(
                models.ApiToken.id == body["token_id"]
            )
        ).one()
        assert row.issued_by == "admin"
        conn.execute(
            update(models.ApiToken)
            .where(models.ApiToken.id == body["token_id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    expired = people.client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    lasting = people.client.post(
        "/admin/users/insp_s02/tokens", headers=people.city.headers("admin")
    )
    assert lasting.status_code == 201 and lasting.json()["expires_at"] is None


def test_users_add_reads_the_password_from_one_line(
    people: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    if people.backend != "sqlite":
        pytest.skip("the command is the same on both; run once")
    monkeypatch.setenv("INSPECT_DATABASE_URL", people.url)
    password = " 带空格的密码 with spaces "
    added = CliRunner().invoke(
        users_app,
        ["add", "zhao", "--role", "auditor", "--password-stdin"],
        input=password.strip() + "  \nsecond line ignored\n",
    )
    assert added.exit_code == 1 and "space" in added.output  # refused, not trimmed
    added = CliRunner().invoke(
        users_app,
        ["add", "zhao", "--role", "auditor", "--password-stdin", "--expires-days", "90"],
        input="带空格的密码 with spaces\r\n",
    )
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    me = people.client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "zhao"
    sign_in(browser(people, "10.0.2.1"), "zhao", "带空格的密码 with spaces")
    assert (
        browser(people, "10.0.2.2")
        .post("/login", data={"username": "zhao", "password": "带空格的密码 with spaces\r"})
        .status_code
        == 401
    )
