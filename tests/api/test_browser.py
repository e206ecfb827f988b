"""The public website in a real headless Chromium (Debian's package, driven by Playwright):
search a credit code, open a result, follow its draw's verification link and download the
verifier, download the CSV. Screenshots are kept in artifacts/ (a CI artefact).

The browser comes from scripts/install-browser.sh; without it the test is skipped with
that instruction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

import models
from api.app import create_app
from inspect_engine.settings import Settings
from inspect_engine.workflows import results
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.api import servicecity
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A published month on SQLite, served by uvicorn on a free port."""
    folder = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{folder / 'site.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        city = servicecity.populate(session, folder)
        path = folder / "results.csv"
        lines = ["visit_id,item_code,result,inspected_on,note"]
        for visit, (_team, items) in sorted(city.visits.items()):
            lines += [f"{visit},{item},corrected,2026-09-21," for item in items]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        results.import_results(session, path, today=date(2026, 10, 1))
        results.publish_month(session, servicecity.MONTH, today=date(2026, 10, 1))
        visit = sorted(city.visits)[0]
        code = session.scalars(
            select(models.Visit.credit_code).where(models.Visit.visit_code == visit)
        ).one()
        session.commit()
    engine.dispose()
    port = free_port()
    app = create_app(Settings(database_url=url, environment="test"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield {
            "base": f"http://127.0.0.1:{port}",
            "code": code,
            "items": len(city.visits[visit][1]),
        }
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_citizen_checks_an_enterprise(site: dict[str, Any], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run scripts/install-browser.sh")
    ARTIFACTS.mkdir(exist_ok=True)
    base, code, items = site["base"], site["code"], site["items"]
    with chromium(sync_api) as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844}, accept_downloads=True)
        page.goto(base + "/")
        assert "抽查计划" in page.content()
        page.fill("#q", code)
        page.click("button[type=submit]")
        page.wait_for_url("**/results?q=*")
        rows = page.locator("table.results tbody tr")
        assert rows.count() == items
        page.screenshot(path=str(ARTIFACTS / "site-search.png"), full_page=True)

        page.locator("table.results tbody tr a").first.click()
        page.wait_for_url("**/results/*")
        assert code in page.content() and "发现问题经责令已改正" in page.content()
        page.screenshot(path=str(ARTIFACTS / "site-result.png"), full_page=True)

        page.click("#draw-link")
        page.wait_for_url("**/draws/*")
        assert "如何验证" in page.content()
        with page.expect_download() as verifier:
            page.click("#verifier-link")
        saved = tmp_path / "verify.py"
        verifier.value.save_as(saved)
        assert "ie-draw-v1" in saved.read_text(encoding="utf-8")
        page.screenshot(path=str(ARTIFACTS / "site-draw.png"), full_page=True)

        page.goto(base + f"/results?q={code}")
        with page.expect_download() as download:
            page.click("#csv-link")
        table = tmp_path / "results.csv"
        download.value.save_as(table)
        lines = table.read_text(encoding="utf-8-sig").splitlines()
        assert lines[0].startswith("id,published_at,task_code,credit_code")
        assert len(lines) == 1 + items
        assert all(code in line for line in lines[1:])


@contextmanager
def chromium(sync_api: Any) -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
