"""The field pages through HTTP, on SQLite and PostgreSQL: sign-in by cookie, the inspector's
month, visit and result form, the PDFs, the public verification page and the board (HTML
and JSON). The routers are mounted here as api/app.py will mount them."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select

import models
from inspect_engine.workflows import field
from tests.field import fieldcity
from tests.field.conftest import Served


def browser(served: Served, username: str | None = None) -> TestClient:
    """A fresh cookie jar, signed in as `username` through the login form."""
    client = TestClient(served.client.app, follow_redirects=False)
    if username is not None:
        response = client.post(
            "/login",
            data={
                "username": username,
                "password": served.city.password(username),
                "next": "/field",
            },
        )
        assert response.status_code == 303
    return client


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def joint(served: Served) -> tuple[str, str, list[str]]:
    """The joint visit of the busy inspector: (visit code, verification code, items)."""
    with served.session() as session:
        visit = fieldcity.joint_visit(session)
        assert visit.verify_token
        return visit.visit_code, visit.verify_token, list(visit.item_codes)


def test_sign_in_sets_a_lax_httponly_session_cookie(served: Served) -> None:
    client = browser(served)
    refused = client.post(
        "/login", data={"username": "insp_busy", "password": "wrong-password", "next": "/field"}
    )
    assert refused.status_code == 401 and "用户名或密码错误" in refused.text
    assert "set-cookie" not in refused.headers
    signed = client.post(
        "/login",
        data={
            "username": "insp_busy",
            "password": served.city.password("insp_busy"),
            "next": "//evil.test/x",
        },
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/field"
    cookie = signed.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=" in cookie
    assert served.city.tokens["insp_busy"] not in signed.headers["set-cookie"]
    assert client.get("/field").headers["location"] == "/field/visits"
    sup = browser(served, "sup_all")
    assert sup.get("/field").headers["location"] == "/board/2026-12"
    anonymous = browser(served).get("/field/visits")
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    old = browser(served).get("/field/login?next=/field/visits")
    assert old.status_code == 303 and old.headers["location"] == "/login?next=%2Ffield%2Fvisits"


def test_the_inspector_sees_his_month_and_the_task_document(served: Served) -> None:
    client = browser(served, "insp_busy")
    inspector_id = served.city.inspectors["insp_busy"]
    with served.session() as session:
        mine = set(
            session.scalars(
                select(models.Visit.visit_code)
                .join(models.TeamMember, models.TeamMember.visit_id == models.Visit.id)
                .where(
                    models.TeamMember.inspector_id == inspector_id,
                    models.TeamMember.replaced_at.is_(None),
                )
            )
        )
    month = client.get("/field/visits?month=2026-12")
    assert month.status_code == 200
    listed = set(re.findall(r'href="/field/visits/(2026-12-\d{6})"', month.text))
    assert listed == mine
    visit_code, code, items = joint(served)
    page = client.get(f"/field/visits/{visit_code}")
    assert page.status_code == 200
    assert page.text.count('class="stack result-form"') == len(items)
    assert "<svg" in page.text and f"/v/{code}" in page.text
    assert "《中华人民共和国消防法》第五十三条" in page.text
    assert inspector_id in page.text and f"检查员{inspector_id}" in page.text


def test_the_result_form_reports_through_the_results_workflow(served: Served) -> None:
    client = browser(served, "insp_busy")
    visit_code, _, items = joint(served)
    page = client.get(f"/field/visits/{visit_code}").text
    form = {"item_code": items[0], "result": "no_problem", "inspected_on": "2026-12-09"}
    forged = client.post(f"/field/visits/{visit_code}/results", data=form)
    assert forged.status_code == 401  # no CSRF token: refused, nothing written
    future = client.post(
        f"/field/visits/{visit_code}/results",
        data={**form, "inspected_on": "2026-12-11", "csrf": csrf_of(page)},
    )
    assert future.status_code == 422 and "in the future" in future.text
    sent = client.post(f"/field/visits/{visit_code}/results", data={**form, "csrf": csrf_of(page)})
    assert sent.status_code == 303
    with served.session() as session:
        row = session.scalars(
            select(models.Result)
            .join(models.Visit, models.Visit.id == models.Result.visit_id)
            .where(models.Visit.visit_code == visit_code, models.Result.item_code == items[0])
        ).one()
        assert (row.result, row.status, row.submitted_by) == (
            "no_problem",
            "submitted",
            "insp_busy",
        )
        assert row.inspected_on == date(2026, 12, 9)
    after = client.get(sent.headers["location"])
    assert "已报送" in after.text and "重新报送" in after.text


def test_another_inspectors_visit_does_not_exist_for_him(served: Served) -> None:
    client = browser(served, "insp_idle")
    visit_code, _, _ = joint(served)
    assert client.get(f"/field/visits/{visit_code}").status_code == 404
    page = client.get("/field/visits?month=2026-12").text
    assert visit_code not in page
    bearer = served.city.headers("insp_idle")
    assert (
        served.client.get(f"/field/visits/{visit_code}/task.pdf", headers=bearer).status_code == 404
    )


def test_the_documents_download_as_pdf_for_team_and_supervisors(served: Served) -> None:
    visit_code, code, _ = joint(served)
    for user in ("insp_busy", "sup_fire", "sup_samr", "admin"):
        response = served.client.get(
            f"/field/visits/{visit_code}/notice.pdf", headers=served.city.headers(user)
        )
        assert response.status_code == 200, user
        assert response.headers["content-type"] == "application/pdf"
        text = re.sub(r"\s+", "", PdfReader(io.BytesIO(response.content)).pages[0].extract_text())
        assert "告知书" in text and code in text and visit_code in text
    cookie = browser(served, "insp_busy").get(f"/field/visits/{visit_code}/task.pdf")
    assert cookie.status_code == 200 and cookie.content.startswith(b"%PDF")
    auditor = served.client.get(
        f"/field/visits/{visit_code}/task.pdf", headers=served.city.headers("auditor")
    )
    assert auditor.status_code == 404
    anonymous = served.client.get(f"/field/visits/{visit_code}/task.pdf")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


def _scan_count(served: Served) -> int:
    with served.session() as session:
        return int(session.scalar(select(func.count()).select_from(models.VerifyScan)) or 0)


def test_the_public_page_tells_genuine_from_forged_and_expired(served: Served) -> None:
    visit_code, code, _ = joint(served)
    public = browser(served)
    before = _scan_count(served)
    genuine = public.get(f"/v/{code}")
    assert genuine.status_code == 200 and "真实有效" in genuine.text
    assert genuine.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in genuine.headers["cache-control"]
    with served.session() as session:
        visit = fieldcity.joint_visit(session)
        team = fieldcity.team_of(session, visit.id)
        names = session.scalars(
            select(models.Inspector.name).where(models.Inspector.inspector_id.in_(team))
        ).all()
    assert all(member in genuine.text for member in team)
    assert not any(name in genuine.text for name in names)
    forged = public.get(f"/v/{code[::-1]}")
    assert forged.status_code == 404 and "核验码无效" in forged.text
    assert "请勿接受" in forged.text
    with fieldcity.clock(date(2027, 1, 10)):
        expired = public.get(f"/v/{code}")
    assert expired.status_code == 410 and "已过期" in expired.text and "2027-01-05" in expired.text
    assert _scan_count(served) == before + 2  # the forged code is only counted
    typed = public.get("/v", params={"code": " ".join(code[k : k + 4] for k in range(0, 40, 4))})
    assert typed.status_code == 303 and typed.headers["location"] == f"/v/{code}"
    assert public.get("/v", params={"code": "12345"}).status_code == 422
    assert visit_code in genuine.text


def test_the_enterprise_records_the_visit_on_the_page(served: Served) -> None:
    with served.session() as session:
        visit = session.scalars(
            select(models.Visit)
            .where(models.Visit.verify_token.is_not(None))
            .order_by(models.Visit.visit_code.desc())
        ).first()
        assert visit is not None and visit.verify_token
        code = visit.verify_token
    public = browser(served)
    wrong = public.post(f"/v/{code}", data={"took_place": "yes", "rating": "9"})
    assert wrong.status_code == 422 and "1–5" in wrong.text
    sent = public.post(
        f"/v/{code.lower()}", data={"took_place": "yes", "rating": "4", "comment": "准时、规范"}
    )
    assert sent.status_code == 303 and sent.headers["location"] == f"/v/{code}?recorded=1"
    shown = public.get(sent.headers["location"])
    assert "已记录" in shown.text and 'id="record-form"' not in shown.text
    again = public.post(f"/v/{code}", data={"took_place": "no"})
    assert again.status_code == 409 and "已经记录过" in again.text
    refused = public.post(f"/v/{'A' * 40}", data={"took_place": "yes"})
    assert refused.status_code == 404
    with served.session() as session:
        rows = session.scalars(select(models.VisitFeedback)).all()
        mine = [r for r in rows if r.visit_id == visit.id]
        assert [(r.took_place, r.rating, r.comment) for r in mine] == [(True, 4, "准时、规范")]


def test_the_board_as_a_page_and_as_json(served: Served) -> None:
    with served.session() as session:
        expected = field.month_board(session, "2026-12", as_of=date(2026, 12, 10))
        fire = field.month_board(session, "2026-12", departments={"FIRE"}, as_of=date(2026, 12, 10))
    data = served.client.get(
        "/supervisor/board/2026-12?as_of=2026-12-10", headers=served.city.headers("admin")
    )
    assert data.status_code == 200
    body = data.json()
    assert body["total"]["drawn"] == expected.total.drawn > 0
    assert body["total"]["items"] == expected.total.items
    assert [t["key"] for t in body["tasks"]] == [t.key for t in expected.tasks]
    scoped = served.client.get(
        "/supervisor/board/2026-12?as_of=2026-12-10", headers=served.city.headers("sup_fire")
    ).json()
    assert [d["key"] for d in scoped["departments"]] == ["FIRE"]
    assert scoped["total"]["drawn"] == fire.total.drawn < expected.total.drawn
    inspector = served.client.get(
        "/supervisor/board/2026-12", headers=served.city.headers("insp_busy")
    )
    assert inspector.status_code == 403
    page = browser(served, "sup_all").get("/board/2026-12?as_of=2026-12-10")
    assert page.status_code == 200 and "进度看板" in page.text
    assert "暂定" not in page.text  # December 2026: the packaged calendar, final
    guessed = browser(served, "sup_all").get("/board/2026-12?as_of=2027-01-20")
    assert "暂定" in guessed.text  # counts back over January 2027, not imported here
    api = served.client.get(
        "/supervisor/board/2026-12?as_of=2027-01-20", headers=served.city.headers("admin")
    )
    assert api.json()["overdue_provisional"] is True
    drawn = re.search(r'data-key="2026-12-FOOD">.*?class="n drawn">(\d+)<', page.text, re.S)
    assert drawn and int(drawn.group(1)) == next(
        t.drawn for t in expected.tasks if t.key == "2026-12-FOOD"
    )
    assert browser(served, "insp_busy").get("/board/2026-12").status_code == 403
    assert browser(served).get("/board/2026-12").status_code == 303
    missing = served.client.get("/supervisor/board/2031-01", headers=served.city.headers("admin"))
    assert missing.status_code == 404


def test_codes_for_the_whole_month_need_the_whole_plan(served: Served) -> None:
    url = "/supervisor/plans/2026-12/verify-codes"
    assert served.client.post(url, headers=served.city.headers("sup_fire")).status_code == 403
    done = served.client.post(url, headers=served.city.headers("sup_all"))
    assert done.status_code == 200 and done.json() == {"month": "2026-12", "issued": 0}


def test_without_a_cjk_font_the_pdf_is_a_clear_problem(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inspect_engine.documents import fonts

    monkeypatch.setattr(fonts, "CANDIDATES", ())
    visit_code, _, _ = joint(served)
    response = served.client.get(
        f"/field/visits/{visit_code}/task.pdf", headers=served.city.headers("admin")
    )
    assert response.status_code == 503
    problem = response.json()
    assert problem["type"] == "/problems/documents-unavailable"
    assert "install-fonts.sh" in problem["detail"]
