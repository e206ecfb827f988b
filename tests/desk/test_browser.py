"""The whole month at the desk in a real headless Chromium (Debian's package through
Playwright), with the keyboard alone: sign in, upload the tasks, freeze with the declared
source, print the announcement, draw with the public contribution, assign the teams,
withdraw an inspector with a reason, review results (approve one, return one), publish,
close the month, download the sampling list. axe-core runs on every page it passes
through: no serious or critical violation. Screenshots and the axe report go to
artifacts/.

Without /usr/bin/chromium (scripts/install-browser.sh) or axe-core
(scripts/install-axe.sh) the test is skipped, except in CI."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import models
from api.app import create_app
from inspect_engine.settings import Settings
from inspect_engine.workflows import results
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.browser import Axe, served_by_uvicorn, tab_to
from tests.desk import deskcity
from tests.field import fieldcity
from tests.field.conftest import ARTIFACTS
from tests.field.test_browser import chromium

MONTH = deskcity.MONTH
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SOURCE = "2026年11月2日 中国福利彩票3D开奖号码"
CONTRIBUTION = "3D 第2026297期 5-0-8"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("desksite")
    url = f"sqlite:///{folder / 'desk.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        deskcity.build(session)
        session.commit()
    settings = Settings(database_url=url, environment="test", secret_key="desk-browser")
    try:
        with fieldcity.clock(deskcity.TODAY), served_by_uvicorn(create_app(settings)) as base:
            yield {
                "base": base,
                "engine": engine,
                "tasks": deskcity.tasks_csv(folder / "in"),
                "broken": deskcity.tasks_csv(folder / "bad", broken=True),
            }
    finally:
        engine.dispose()


def press_enter_on(page: Any, selector: str, path: str) -> None:
    tab_to(page, selector)
    style, width = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    # a solid ring of 2px or more, not the browser's thin default on a red button
    assert style == "solid" and width >= 2, f"{selector}: focus ring {style} {width}px"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert path in page.url, page.url


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"desk-{name}.png"), full_page=True)


def test_a_supervisor_runs_the_whole_month_at_the_desk(desk: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    axe = Axe()
    base = desk["base"]
    with chromium() as browser:
        # the test injects axe-core as an inline script: the site's CSP would refuse it
        page = browser.new_context(viewport=LAPTOP, bypass_csp=True).new_page()
        try:
            _run_month(page, base, desk, axe)
        finally:
            axe.write(ARTIFACTS / "axe-desk.json")


def _run_month(page: Any, base: str, desk: dict[str, Any], axe: Axe) -> None:
    # sign in, by keyboard
    page.goto(base + "/desk")
    page.wait_for_url("**/login?next=*")
    axe.check(page, "login")
    tab_to(page, "#username")
    page.keyboard.type("sup_all")
    tab_to(page, "#password")
    page.keyboard.type(deskcity.password("sup_all"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/desk")
    axe.check(page, "months")

    # open the month from the list's form
    tab_to(page, "#month")
    page.keyboard.press("Control+A")
    page.keyboard.type(MONTH)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_url(f"**/desk/{MONTH}")
    assert "尚未建立" in page.locator("#state").inner_text()
    axe.check(page, "month-empty")

    # a task file with bad rows: each row's error on the page, nothing imported
    page.get_by_label("抽查任务文件").set_input_files(str(desk["broken"]))
    tab_to(page, "#tasks button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#refusal").is_visible()
    assert page.locator("#row-errors tbody tr").count() == 2
    assert "尚未建立" in page.locator("#state").inner_text()
    shot(page, "0-row-errors")
    axe.check(page, "month-row-errors")

    # upload the tasks: the file comes from the chooser, the button by keyboard
    page.get_by_label("抽查任务文件").set_input_files(str(desk["tasks"]))
    press_enter_on(page, "#tasks button[type=submit]", "done=tasks")
    assert page.locator("#done").is_visible()
    assert page.locator("table.preview").count() == 2
    shot(page, "1-preview")
    axe.check(page, "month-planned")

    # freeze with the declared source
    tab_to(page, "#source")
    page.keyboard.type(SOURCE)
    press_enter_on(page, "#freeze button[type=submit]", "done=freeze")
    commitment = page.locator("#commitment-value").inner_text()
    assert len(commitment) == 64 and len(page.locator("#staffing-hash").inner_text()) == 64
    assert page.locator("#declared-source").inner_text() == SOURCE
    notice = page.request.get(base + f"/desk/{MONTH}/announcement.pdf")
    assert notice.ok and notice.headers["content-type"] == "application/pdf"
    shot(page, "2-frozen")
    axe.check(page, "month-frozen")

    # the draw with the public contribution
    assert page.get_by_label("公开随机数").count() == 1
    tab_to(page, "#contribution")
    page.keyboard.type(CONTRIBUTION)
    press_enter_on(page, "#draw button[type=submit]", "done=draw")
    assert page.locator("#contribution-value").inner_text() == CONTRIBUTION
    assert page.locator("#contribution-source").inner_text() == SOURCE
    shot(page, "3-drawn")

    # the teams
    press_enter_on(page, "#assign button[type=submit]", "done=assign")
    assert page.locator("#visits tbody tr").count() > 0
    assert page.locator(".run").count() >= 1
    axe.check(page, "month-assigned")

    # withdraw an inspector: the reason is required
    with make_session_factory(desk["engine"])() as session:
        _, _, withdrawn = deskcity.team_member(session, MONTH)
    tab_to(page, "#inspector-id")
    page.keyboard.type(withdrawn)
    tab_to(page, "#reason")
    page.keyboard.type("病假（2026-11-20 起）")
    press_enter_on(page, "#assign form button[type=submit]", "done=reassign")
    shot(page, "4-teams")

    # two results reported by the team, through the use case
    reported = _report_two_results(desk["engine"])
    page.reload()
    assert page.locator("#submitted tbody tr").count() == 2
    axe.check(page, "month-review")
    approve, send_back = reported
    press_enter_on(page, f"tr[data-result='{approve}'] button[aria-label^='通过']", "done=review")
    tab_to(page, f"#why-{send_back}")
    page.keyboard.type("检查日期与任务书不符，请核对")
    press_enter_on(page, f"tr[data-result='{send_back}'] button[aria-label^='退回']", "done=review")
    assert page.locator("#submitted tbody tr").count() == 0
    assert page.locator("#reviewed-count").inner_text() == "1"
    shot(page, "5-reviewed")

    # publish the plan and the reviewed results, then close the month
    press_enter_on(page, "#publish form[action$='publish-plan'] button", "done=publish-plan")
    press_enter_on(page, "#publish form[action$='publish-results'] button", "done=publish-results")
    press_enter_on(page, "#close button", "done=close")
    assert "已公示" in page.locator("#state").inner_text()
    shot(page, "6-closed")
    axe.check(page, "month-closed")

    # the same page on a phone: nothing wider than the screen
    page.set_viewport_size(PHONE)
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the phone page scrolls sideways ({width}px)"
    shot(page, "7-phone")
    axe.check(page, "month-phone")

    # the sampling list behind its link
    link = page.get_by_role("link", name="抽查名单")
    listing = page.request.get(base + str(link.get_attribute("href")))
    rows = list(load_workbook(io.BytesIO(listing.body())).worksheets[0].values)
    assert rows[0][:3] == ("检查编号", "统一社会信用代码", "企业名称") and len(rows) > 1

    with make_session_factory(desk["engine"])() as session:
        actions = set(session.scalars(select(models.AuditEntry.action)))
        rows = session.execute(select(models.Result.id, models.Result.status)).tuples()
        statuses = dict(rows.all())
    assert {"plan.freeze", "plan.draw", "plan.reassign", "plan.publish"} <= actions
    assert statuses[approve] in ("reviewed", "published") and statuses[send_back] == "returned"


def _report_two_results(engine: Any) -> tuple[int, int]:
    with make_session_factory(engine)() as session:
        visit_code, item_code, inspector_id = deskcity.team_member(session, MONTH)
        visit = session.scalars(
            select(models.Visit).where(models.Visit.visit_code == visit_code)
        ).one()
        made = []
        for item in visit.item_codes[:2] if len(visit.item_codes) > 1 else [item_code]:
            made.append(
                results.submit_result(
                    session, inspector_id=inspector_id, visit_code=visit_code, item_code=item,
                    result="no_problem", inspected_on=date(2026, 11, 18), today=deskcity.TODAY,
                    actor="inspector",
                ).id
            )  # fmt: skip
        if len(made) < 2:
            other_code, other_item, other_inspector = _second_visit(session, visit_code)
            made.append(
                results.submit_result(
                    session, inspector_id=other_inspector, visit_code=other_code,
                    item_code=other_item, result="no_problem", inspected_on=date(2026, 11, 18),
                    today=deskcity.TODAY, actor="inspector",
                ).id
            )  # fmt: skip
        session.commit()
        return made[0], made[1]


def _second_visit(session: Any, first: str) -> tuple[str, str, str]:
    row = session.execute(
        select(models.Visit.visit_code, models.Visit.item_codes, models.TeamMember.inspector_id)
        .join(models.Plan, models.Plan.id == models.Visit.plan_id)
        .join(models.TeamMember, models.TeamMember.visit_id == models.Visit.id)
        .where(models.Plan.month == MONTH, models.TeamMember.replaced_at.is_(None))
        .where(models.Visit.visit_code != first)
        .order_by(models.Visit.visit_code)
    ).first()
    assert row is not None
    return row[0], row[1][0], row[2]
