"""The phone pages in a real headless Chromium with axe-core (issue 19, GB/T 37668): the
inspector's sign-in, visits by day, calendar page (before and after a new link) and visit
page, the enterprise's verification page and the supervisor's board have no serious or
critical violation; an inspector signs in and reports a result with the keyboard alone. The
report is kept in artifacts/axe-field.json.

Without /usr/bin/chromium (scripts/install-browser.sh) or axe-core (scripts/install-axe.sh)
the test is skipped, except in CI."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from models.db import make_engine
from tests.browser import Axe, tab_to
from tests.field.conftest import ARTIFACTS
from tests.field.test_browser import PHONE, chromium, site  # noqa: F401 (the fixture)
from tests.field.test_inspector_day import schedule_everything


def sign_in_by_keyboard(page: Any, username: str, password: str) -> None:
    tab_to(page, "#username")
    page.keyboard.type(username)
    tab_to(page, "#password")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def schedule(url: str, inspector_id: str) -> None:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            schedule_everything(session, inspector_id)
            session.commit()
    finally:
        engine.dispose()


def test_the_phone_pages_pass_axe(site: dict[str, Any]) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    axe = Axe()
    base, city = site["base"], site["city"]
    schedule(site["url"], city.inspectors["insp_busy"])  # the day view with its days
    with chromium() as browser:
        try:
            # axe-core is injected as an inline script: the site's CSP would refuse it
            page = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()
            page.goto(base + "/field/visits")
            page.wait_for_url("**/login?next=*")
            axe.scan(page, "login")
            sign_in_by_keyboard(page, "insp_busy", city.password("insp_busy"))
            assert page.url.endswith("/field/visits")
            axe.scan(page, "field-visits")
            page.goto(base + "/field/calendar")
            axe.scan(page, "field-calendar")
            page.fill("#label", "工作手机")
            with page.expect_navigation():
                page.click("#create button[type=submit]")
            assert "此链接只显示这一次" in page.content()
            axe.scan(page, "field-calendar-link")
            page.goto(base + f"/field/visits/{site['visit']}")
            axe.scan(page, "field-visit")
            page.goto(base + f"/v/{site['code']}")
            axe.scan(page, "verify")
            page.goto(base + "/v")
            axe.scan(page, "verify-form")
            board = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()
            board.goto(base + "/board/2026-12?as_of=2026-12-10")
            sign_in_by_keyboard(board, "sup_all", city.password("sup_all"))
            assert "/board/2026-12" in board.url
            axe.scan(board, "board")
        finally:
            axe.write(ARTIFACTS / "axe-field.json")
    assert axe.blocking() == {}
    assert [p["page"] for p in axe.pages][-1] == "board"


def test_an_inspector_reports_a_result_with_the_keyboard_alone(
    site: dict[str, Any],  # noqa: F811
) -> None:
    base, city, visit = site["base"], site["city"], site["visit"]
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto(base + f"/field/visits/{visit}")
        sign_in_by_keyboard(page, "insp_busy", city.password("insp_busy"))
        assert page.url.endswith(f"/field/visits/{visit}")
        form = page.locator("form.result-form").first
        item_code = form.locator("input[name=item_code]").get_attribute("value")
        tab_to(page, f"#result-{item_code}")
        page.keyboard.press("End")  # the last choice, by keyboard
        chosen = page.evaluate("document.activeElement.value")
        tab_to(page, f"#note-{item_code}")
        page.keyboard.type("键盘报送")
        tab_to(page, "form.result-form button[type=submit]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert f"saved={item_code}" in page.url
        page.screenshot(path=str(ARTIFACTS / "field-keyboard-result.png"), full_page=True)
    engine = make_engine(site["url"])
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                select(models.Result.result, models.Result.note)
                .join(models.Visit, models.Visit.id == models.Result.visit_id)
                .where(models.Visit.visit_code == visit, models.Result.item_code == item_code)
            ).all()
    finally:
        engine.dispose()
    assert stored == [(chosen, "键盘报送")]
