"""The web surface as an attacker meets it, through the production app on SQLite and
PostgreSQL: security headers on every page, the API documentation without any outside
host, X-Forwarded-* believed from the trusted proxies only, rate limits per real client
with 429 and Retry-After, made-up verification codes counted instead of stored, and a
loud warning when `serve` runs with the development secret."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

import models
from api.app import create_app
from inspect_engine.settings import Settings
from inspect_engine.workflows.signin import set_password
from inspect_engine.workflows.users import create_user, issue_token
from models.base import utcnow
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"
PROXY = "10.0.0.5"
STRANGER = ("198.51.100.7", 40000)
SECRET = "hygiene-test-secret"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A migrated database with one auditor; yields its URL and the auditor's password."""
    url = fresh_database_url(request.param, tmp_path_factory, "hygiene")
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        create_user(session, "au", "auditor")
        issue_token(session, "au")
        set_password(session, "au", PASSWORD, actor="test", now=utcnow())
        session.commit()
    try:
        yield url, PASSWORD
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)


def client(url: str, client_address: tuple[str, int] = STRANGER, **settings: Any) -> TestClient:
    """A fresh app (fresh rate-limit counters) seen from `client_address`."""
    app = create_app(Settings(database_url=url, environment="test", secret_key=SECRET, **settings))
    return TestClient(app, client=client_address, follow_redirects=False)


def count(url: str, model: Any, column: Any = None) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            what = func.count() if column is None else func.coalesce(func.sum(column), 0)
            return int(session.scalar(select(what).select_from(model)) or 0)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/", "text/html"),
        ("/login", "text/html"),
        ("/no-such-page", "text/html"),  # the HTML error page
        ("/v", "text/html"),
    ],
)
def test_every_page_sends_the_security_headers(
    database: tuple[str, str], path: str, accept: str
) -> None:
    with client(database[0]) as web:
        page = web.get(path, headers={"accept": accept})
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "same-origin"


def test_data_responses_may_not_run_anything(database: tuple[str, str]) -> None:
    with client(database[0]) as web:
        plans = web.get("/public/plans")
    assert plans.status_code == 200
    assert plans.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert plans.headers["x-content-type-options"] == "nosniff"


def test_a_verification_page_keeps_its_own_stricter_referrer_policy(
    database: tuple[str, str],
) -> None:
    with client(database[0]) as web:
        page = web.get("/v/" + "A" * 40)
    assert page.status_code == 404
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


def test_no_template_needs_an_inline_script_or_style() -> None:
    """The CSP allows neither: a template that used one would break in the browser."""
    found = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        found += [f"{template.name}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert found == []


# --------------------------------------------------------------------------- /docs, /redoc


def _same_site_urls(page: str) -> list[str]:
    urls = re.findall(r"""(?:src|href|spec-url|data-openapi)=["']([^"']+)""", page)
    assert urls
    return urls


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_documentation_loads_nothing_from_outside(
    database: tuple[str, str], path: str
) -> None:
    with client(database[0]) as web:
        page = web.get(path)
        assert page.status_code == 200
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)  # no inline script
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        for url in _same_site_urls(page.text):
            assert url.startswith("/") and not url.startswith("//"), url
            fetched = web.get(url)
            assert fetched.status_code == 200, url
        assert "cdn" not in page.text.lower()


def test_swagger_ui_runs_offline_in_a_real_browser(database: tuple[str, str]) -> None:
    """Chromium opens /docs served by uvicorn: Swagger UI shows the API, every request
    goes to this server and the CSP refuses nothing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.api.test_browser import chromium
    from tests.browser import CHROMIUM, served_by_uvicorn

    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install-browser.sh")
    app = create_app(Settings(database_url=database[0], environment="test", secret_key=SECRET))
    with served_by_uvicorn(app) as base, chromium(sync_api) as browser:
        page = browser.new_page()
        answered: list[str] = []
        refusals: list[str] = []
        page.on("response", lambda r: answered.append(r.url))
        page.on(
            "console",
            lambda m: refusals.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.goto(base + "/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=20_000)
        assert "inspect-engine" in page.inner_text(".swagger-ui .info .title")
        assert page.locator(".opblock").count() > 10  # the operations are listed
        page.goto(base + "/redoc")
        page.wait_for_selector("h1", timeout=20_000)
        assert "inspect-engine" in page.inner_text("h1")
    assert f"{base}/openapi.json" in answered
    outside = [url for url in answered if not url.startswith((base + "/", "data:", "blob:"))]
    assert outside == []
    # ReDoc's footer asks for its maker's logo on a CDN: the CSP stops it, ReDoc hides it
    assert [r for r in refusals if "cdn.redoc.ly/redoc/logo-mini.svg" not in r] == []


# --------------------------------------------------------------------------- proxies


def _sign_in(web: TestClient, password: str, **headers: str) -> Any:
    form = {"username": "au", "password": password, "next": "/field"}
    return web.post("/login", data=form, headers=headers)


def test_cookies_are_secure_behind_a_trusted_tls_proxy(database: tuple[str, str]) -> None:
    url, token = database
    with client(url, (PROXY, 1234), trusted_proxies=(PROXY,)) as web:
        signed = _sign_in(web, token, **{"x-forwarded-proto": "https"})
    assert signed.status_code == 303
    assert "secure" in signed.headers["set-cookie"].lower()


def test_a_stranger_cannot_claim_https_nor_an_address(database: tuple[str, str]) -> None:
    url, token = database
    with client(url, STRANGER, trusted_proxies=(PROXY,)) as web:
        signed = _sign_in(web, token, **{"x-forwarded-proto": "https"})
        assert signed.status_code == 303
        assert "secure" not in signed.headers["set-cookie"].lower()
        # a new X-Forwarded-For on every try does not buy new attempts: the sign-in
        # throttle keys on the stranger's own address
        wrong = [_sign_in(web, "wrong", **{"x-forwarded-for": f"192.0.2.{n}"}) for n in range(1, 5)]
    assert [r.status_code for r in wrong] == [401, 401, 401, 429]


def test_behind_the_proxy_each_real_client_has_its_own_limit(database: tuple[str, str]) -> None:
    url, _ = database
    with client(
        url, (PROXY, 1234), trusted_proxies=("10.0.0.0/24",), verify_rate_limit="2/minute"
    ) as web:
        first = [web.get("/v/X", headers={"x-forwarded-for": "192.0.2.1"}) for _ in range(3)]
        other = web.get("/v/X", headers={"x-forwarded-for": "192.0.2.2"})
    assert [r.status_code for r in first] == [404, 404, 429]
    assert other.status_code == 404


def test_an_address_that_is_not_an_address_is_refused_in_the_settings() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.local' is not an IP address or network"):
        Settings(trusted_proxies="10.0.0.5,proxy.local")
    assert Settings(trusted_proxies="10.0.0.5, 10.1.2.3/16").trusted_proxies == (
        "10.0.0.5",
        "10.1.0.0/16",
    )


# --------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_the_request_past_the_limit_gets_429_with_retry_after(
    database: tuple[str, str], accept: str
) -> None:
    # an address of its own: the sign-in throttle's counts are kept in the database
    address = ("203.0.113.1" if accept == "text/html" else "203.0.113.2", 40000)
    with client(database[0], address, verify_rate_limit="5/minute") as web:
        pages = [web.get(f"/v/CODE{n}", headers={"accept": accept}) for n in range(6)]
        logins = [_sign_in(web, "wrong") for _ in range(4)]
        posted = web.post("/v/CODE", data={"took_place": "yes"}, headers={"accept": accept})
    assert [p.status_code for p in pages] == [404] * 5 + [429]
    assert [p.status_code for p in logins] == [401] * 3 + [429]
    for refused in (pages[-1], logins[-1], posted):
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
    if accept == "application/json":
        assert pages[-1].json()["type"] == "/problems/too-many-requests"
    else:
        assert "too many requests" in pages[-1].text


def test_a_thousand_made_up_codes_add_no_row_per_request(database: tuple[str, str]) -> None:
    url, _ = database
    scans, misses = count(url, models.VerifyScan), count(url, models.VerifyMiss)
    counted = count(url, models.VerifyMiss, models.VerifyMiss.count)
    with client(url, verify_rate_limit="2000/minute") as web:
        for n in range(1000):
            assert web.get(f"/v/{n:040d}").status_code == 404
    assert count(url, models.VerifyScan) == scans
    assert count(url, models.VerifyMiss) <= misses + 1  # one bucket of one client, today
    assert count(url, models.VerifyMiss, models.VerifyMiss.count) == counted + 1000


# --------------------------------------------------------------------------- serve


@pytest.mark.parametrize("secret", [None, "a-private-secret"])
def test_serve_warns_loudly_with_the_development_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, secret: str | None
) -> None:
    import uvicorn

    from inspect_engine.cli import app

    started: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda served, **kw: started.update(kw))
    monkeypatch.setenv("INSPECT_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.delenv("INSPECT_SECRET_KEY", raising=False)
    if secret:
        monkeypatch.setenv("INSPECT_SECRET_KEY", secret)
    result = CliRunner().invoke(app, ["serve", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert ("INSPECT_SECRET_KEY is not set" in result.output) == (secret is None)
    # uvicorn's own proxy handling (trusting 127.0.0.1) is off: the app's setting decides
    assert started["proxy_headers"] is False and started["port"] == 8123


def test_an_unexpected_failure_is_answered_with_the_headers_too(
    database: tuple[str, str],
) -> None:
    """Starlette answers a 500 from outside every added middleware."""
    app = create_app(Settings(database_url=database[0], environment="test", secret_key=SECRET))

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/public/boom", boom)  # wiring: added to the production app
    with TestClient(app, raise_server_exceptions=False) as web:
        failed = web.get("/public/boom")
    assert failed.status_code == 500 and "a bug" not in failed.text
    assert failed.headers["x-content-type-options"] == "nosniff"
    assert failed.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
