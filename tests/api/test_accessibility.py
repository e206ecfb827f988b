"""The public site in a real headless Chromium with axe-core (issue 19, GB/T 37668): every
kind of public page has no serious or critical violation, and the main flow, searching
the results, works with the keyboard alone. The report is kept in artifacts/axe-public.json.

Without /usr/bin/chromium (scripts/install-browser.sh) or axe-core (scripts/install-axe.sh)
the test is skipped, except in CI."""

from __future__ import annotations

from typing import Any

from tests.api.servicecity import MONTH
from tests.api.test_browser import ARTIFACTS, site  # noqa: F401 (the fixture)
from tests.browser import Axe, tab_to
from tests.field.test_browser import chromium

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def test_every_public_page_passes_axe(site: dict[str, Any]) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    axe = Axe()
    base = site["base"]
    with chromium() as browser:
        try:
            for viewport, suffix in ((LAPTOP, ""), (PHONE, "-phone")):
                # axe-core is injected as an inline script: the site's CSP would refuse it
                page = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
                for name, path in (
                    ("home", "/"),
                    ("plans", "/plans"),
                    ("plan", f"/plans/{MONTH}"),
                    ("results", "/results"),
                    ("estimates", f"/estimates/{MONTH}"),
                    ("audit", "/audit"),
                ):
                    page.goto(base + path)
                    axe.scan(page, name + suffix)
                page.goto(base + f"/plans/{MONTH}")
                page.locator("a[href^='/draws/']").first.click()
                page.wait_for_url("**/draws/*")
                axe.scan(page, "draw" + suffix)
                page.goto(base + f"/results?q={site['code']}")
                axe.scan(page, "search" + suffix)
                page.locator("table.results tbody tr a").first.click()
                page.wait_for_url("**/results/*")
                axe.scan(page, "result" + suffix)
                page.locator("a[href^='/enterprises/']").first.click()
                page.wait_for_url("**/enterprises/*")
                axe.scan(page, "enterprise" + suffix)
        finally:
            axe.write(ARTIFACTS / "axe-public.json")
    assert axe.blocking() == {}
    assert {p["page"] for p in axe.pages} >= {"home", "draw", "result", "audit-phone"}


def test_a_citizen_searches_with_the_keyboard_alone(site: dict[str, Any]) -> None:  # noqa: F811
    base, code = site["base"], site["code"]
    with chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        page.goto(base + "/")
        tab_to(page, "#q")
        page.keyboard.type(code)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/results?q=" in page.url
        assert page.locator("table.results tbody tr").count() == site["items"]
        tab_to(page, "table.results tbody tr a")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "/results/" in page.url and code in page.content()
        page.screenshot(path=str(ARTIFACTS / "site-keyboard-result.png"), full_page=True)
