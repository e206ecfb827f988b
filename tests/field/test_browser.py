"""Field and trust in a real headless Chromium (Debian's package through Playwright):
an inspector signs in, opens his task document and downloads the notice; the enterprise
opens the verification link printed in it, sees the genuine page and records the visit;
a tampered code shows the refusal page. Screenshots go to artifacts/ (CI artefacts).

Without /usr/bin/chromium (scripts/install-browser.sh) the test is skipped, except in CI."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from pypdf import PdfReader

from api.app import create_app
from inspect_engine.settings import Settings
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.browser import CHROMIUM, CHROMIUM_ARGS, free_port
from tests.field import fieldcity
from tests.field.conftest import ARTIFACTS

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("fieldsite")
    url = f"sqlite:///{folder / 'field.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        fieldcity.run_month(session, folder)
        city = fieldcity.add_users(session)
        visit = fieldcity.joint_visit(session)
        facts = {
            "visit": visit.visit_code,
            "code": visit.verify_token,
            "team": fieldcity.team_of(session, visit.id),
        }
        session.commit()
    engine.dispose()
    settings = Settings(database_url=url, environment="test", secret_key="browser-secret")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    with fieldcity.clock(fieldcity.TODAY):
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        try:
            yield {"base": f"http://127.0.0.1:{port}", "city": city, "url": url, **facts}
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("no /usr/bin/chromium: .ci/run must call scripts/install-browser.sh")
        pytest.skip("no /usr/bin/chromium: run scripts/install-browser.sh")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _link_in(pdf: bytes) -> str:
    """The verification link the PDF carries (its link annotation)."""
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A")
            if action is not None and "/URI" in action:
                return str(action["/URI"])
    raise AssertionError("the notice carries no verification link")


def test_an_enterprise_verifies_the_visit_from_its_notice(site: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    base, code, team = site["base"], site["code"], site["team"]
    with chromium() as browser:
        # the inspector, on his phone: sign in, open the task document, get the notice
        inspector = browser.new_context(viewport=PHONE)
        page = inspector.new_page()
        page.goto(base + "/field/visits")
        page.wait_for_url("**/login?next=*")
        page.fill("#username", "insp_busy")
        page.fill("#password", site["city"].password("insp_busy"))
        page.click("button[type=submit]")
        page.wait_for_url("**/field/visits")
        # the visit's day comes from the draw (a fresh nonce each run): a day before today
        # is listed under the folded "此前" section, which he opens first
        entry = page.locator(f"a[href='/field/visits/{site['visit']}']")
        if not entry.is_visible():
            page.locator("details summary").first.click()
        entry.click()
        page.wait_for_url(f"**/field/visits/{site['visit']}")
        assert "检查任务书" in page.content()
        page.screenshot(path=str(ARTIFACTS / "field-task-document.png"), full_page=True)
        _check_qr_on_screen(page, f"{base}/v/{code}")
        notice = inspector.request.get(base + f"/field/visits/{site['visit']}/notice.pdf")
        assert notice.ok and notice.headers["content-type"] == "application/pdf"
        link = _link_in(notice.body())
        assert link == f"{base}/v/{code}"

        # the enterprise, on its own phone: open the link, check, record the visit
        enterprise = browser.new_context(viewport=PHONE)
        page = enterprise.new_page()
        response = page.goto(link)
        assert response is not None and response.status == 200
        assert page.locator("#verdict").get_attribute("data-outcome") == "genuine"
        shown = page.locator("#certificates li").all_inner_texts()
        assert sorted(shown) == sorted(team)
        page.check("input[name=took_place][value=yes]")
        page.check("input[name=rating][value='5']")
        page.fill("#comment", "检查人员出示了执法证件，态度规范。")
        page.click("#record-form button[type=submit]")
        page.wait_for_url("**/v/*?recorded=1")
        assert page.locator("#recorded").is_visible()
        assert page.locator("#record-form").count() == 0
        page.screenshot(path=str(ARTIFACTS / "field-verify-genuine.png"), full_page=True)

        # a tampered code: one character changed
        tampered = code[:-1] + ("A" if code[-1] != "A" else "B")
        response = page.goto(f"{base}/v/{tampered}")
        assert response is not None and response.status == 404
        assert page.locator("#verdict").get_attribute("data-outcome") == "unknown"
        assert "核验码无效" in page.content() and "请勿接受" in page.content()
        page.screenshot(path=str(ARTIFACTS / "field-verify-refused.png"), full_page=True)

        # the supervisor's board shows the enterprise's confirmation
        supervisor = browser.new_context(viewport=PHONE)
        page = supervisor.new_page()
        page.goto(base + "/board/2026-12?as_of=2026-12-10")
        page.wait_for_url("**/login?next=*")
        page.fill("#username", "sup_all")
        page.fill("#password", site["city"].password("sup_all"))
        page.click("button[type=submit]")
        page.wait_for_url("**/board/2026-12?as_of=2026-12-10")
        # by district: each visit counts once (a visit of two tasks counts under both)
        districts = page.locator("table.progress").nth(1)
        confirmed = districts.locator("td.confirmed").all_inner_texts()
        assert sum(int(n) for n in confirmed) == 1
        page.screenshot(path=str(ARTIFACTS / "field-board.png"), full_page=True)


def _check_qr_on_screen(page: Any, expected: str) -> None:
    """The QR code drawn on the inspector's page reads back as the link (zbarimg)."""
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        return  # the PDF test reads the printed QR code; here the link is checked below
    shot = ARTIFACTS / "field-qr.png"
    page.locator(".verify-block .qr").screenshot(path=str(shot))
    decoded = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(shot)], capture_output=True, text=True, check=False
    )
    assert decoded.stdout.split() == [expected], decoded.stderr
