"""Every role boundary: each role tries what it must not do and is refused (401 without a
token, 403 for the wrong role or department, 404 for another inspector's visit).

Requests a role may make use a month without a plan or an unknown id, so that the
matrix changes nothing; what such a request must not be is 401 or 403."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy.orm import Session

import models
from tests.api.conftest import Service
from tests.api.servicecity import MONTH, USERS

NO_PLAN = "2030-01"
CSV = {"file": ("x.csv", b"nothing,useful\n1,2\n", "text/csv")}

SUPERVISORS = {"admin", "sup_samr", "sup_fire", "sup_all"}
AUDITORS = {"admin", "auditor"}
ADMINS = {"admin"}
INSPECTORS = {"insp_s01", "insp_s02"}
SIGNED_IN = set(USERS)

# (method, path, request keywords, users allowed)
ENDPOINTS: list[tuple[str, str, dict[str, Any], set[str]]] = [
    ("GET", "/me", {}, SIGNED_IN),
    ("POST", "/supervisor/imports/items", {"files": CSV}, SUPERVISORS),
    ("GET", "/supervisor/items", {}, SUPERVISORS),
    ("GET", f"/supervisor/plans/{NO_PLAN}", {}, SUPERVISORS),
    ("POST", f"/supervisor/plans/{NO_PLAN}/tasks", {"files": CSV}, SUPERVISORS),
    ("GET", f"/supervisor/plans/{NO_PLAN}/preview", {}, SUPERVISORS),
    ("POST", f"/supervisor/plans/{NO_PLAN}/freeze", {}, SUPERVISORS),
    ("POST", f"/supervisor/plans/{NO_PLAN}/draw", {"json": {"contribution": "x"}}, SUPERVISORS),
    ("POST", f"/supervisor/plans/{NO_PLAN}/assign", {}, SUPERVISORS),
    ("POST", f"/supervisor/plans/{NO_PLAN}/publish", {}, SUPERVISORS),
    ("GET", "/supervisor/results", {}, SUPERVISORS),
    ("GET", "/supervisor/results/999999", {}, SUPERVISORS),
    (
        "POST",
        "/supervisor/results/999999/review",
        {"json": {"decision": "approve"}},
        SUPERVISORS,
    ),
    ("POST", "/supervisor/results/import", {"files": CSV}, SUPERVISORS),
    ("POST", "/supervisor/results/publish", {"json": {"month": NO_PLAN}}, SUPERVISORS),
    (
        "POST",
        "/supervisor/results/999999/correct",
        {"json": {"result": "no_problem", "reason": "r"}},
        SUPERVISORS,
    ),
    ("POST", "/supervisor/results/999999/withdraw", {"json": {"reason": "r"}}, SUPERVISORS),
    ("GET", "/supervisor/overdue?as_of=2026-10-30", {}, SUPERVISORS),
    ("GET", "/supervisor/outliers?date_from=2026-09-01&date_to=2026-09-30", {}, SUPERVISORS),
    ("GET", f"/inspector/visits?month={MONTH}", {}, INSPECTORS),
    ("GET", "/inspector/visits/2030-01-000001", {}, INSPECTORS),
    (
        "POST",
        "/inspector/visits/2030-01-000001/results",
        {"json": {"item_code": "SAMR-INFO", "result": "no_problem", "inspected_on": "2026-09-02"}},
        INSPECTORS,
    ),
    ("GET", "/auditor/draws/2026-09-INFO", {}, AUDITORS),
    ("GET", "/auditor/frames", {}, AUDITORS),
    ("GET", "/auditor/audit-log", {}, AUDITORS),
    ("GET", "/auditor/audit/verify", {}, AUDITORS),
    ("GET", "/admin/users", {}, ADMINS),
    (
        "POST",
        "/admin/users",
        {"json": {"username": "x!", "role": "auditor"}},  # invalid name: changes nothing
        ADMINS,
    ),
    ("POST", "/admin/users/nobody/tokens", {}, ADMINS),
    ("POST", "/admin/users/nobody/revoke", {"json": {}}, ADMINS),
    ("POST", "/admin/users/nobody/deactivate", {}, ADMINS),
]


def _call(service: Service, method: str, path: str, user: str | None, **kw: Any) -> Any:
    headers = service.city.headers(user) if user else {}
    return service.client.request(method, path, headers=headers, **kw)


@pytest.mark.parametrize(("method", "path", "kw", "allowed"), ENDPOINTS)
def test_role_boundaries(
    service: Service, method: str, path: str, kw: dict[str, Any], allowed: set[str]
) -> None:
    anonymous = _call(service, method, path, None, **kw)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert anonymous.headers["www-authenticate"] == "Bearer"
    bad = service.client.request(method, path, headers={"Authorization": "Bearer x"}, **kw)
    assert bad.status_code == 401
    for user in USERS:
        response = _call(service, method, path, user, **kw)
        if user in allowed:
            assert response.status_code not in (401, 403), (user, response.text)
        else:
            assert response.status_code == 403, (user, response.text)
            assert response.json()["type"] == "/problems/forbidden"


def test_an_inspector_cannot_see_another_inspectors_visit(service: Service) -> None:
    theirs = service.city.visits_of("S02")[0]
    mine = service.city.visits_of("S01")[0]
    assert service.get(f"/inspector/visits/{mine}", "insp_s01").status_code == 200
    response = service.get(f"/inspector/visits/{theirs}", "insp_s01")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
    body = {"item_code": "SAMR-INFO", "result": "no_problem", "inspected_on": "2026-09-02"}
    posted = service.client.post(
        f"/inspector/visits/{theirs}/results", json=body, headers=service.city.headers("insp_s01")
    )
    assert posted.status_code == 404
    listed = service.get(f"/inspector/visits?month={MONTH}&limit=500", "insp_s01").json()
    assert {v["visit_code"] for v in listed["items"]} == set(service.city.visits_of("S01"))


def test_a_supervisor_acts_only_for_his_departments(service: Service) -> None:
    # the joint plan carries SAMR and FIRE items: a SAMR-only supervisor may not freeze it
    for user in ("sup_samr", "sup_fire"):
        response = service.client.post(
            f"/supervisor/plans/{MONTH}/publish", headers=service.city.headers(user)
        )
        assert response.status_code == 403, response.text
        assert "FIRE" in response.json()["detail"] or "SAMR" in response.json()["detail"]
    items = service.get("/supervisor/items", "sup_fire").json()["items"]
    assert {i["department"] for i in items} == {"FIRE"}
    # an items file with a SAMR row, uploaded by FIRE's supervisor
    upload = (
        "item_code,department,title,legal_basis,kind\n"
        "FIRE-NEW,FIRE,新消防事项,《消防法》第一条,general\n"
        "SAMR-NEW,SAMR,新市场事项,《条例》第一条,general\n"
    )
    response = service.client.post(
        "/supervisor/imports/items",
        files={"file": ("items.csv", upload.encode(), "text/csv")},
        headers=service.city.headers("sup_fire"),
    )
    assert response.status_code == 403
    assert "row 3: department SAMR is not yours" in response.json()["detail"]
    assert "FIRE-NEW" not in {
        i["item_code"] for i in service.get("/supervisor/items", "admin").json()["items"]
    }


def test_the_public_record_has_no_frame_the_auditors_has(service: Service) -> None:
    public = service.get("/public/draws/2026-09-INFO").json()["record"]
    assert "frame" not in public
    full = service.get("/auditor/draws/2026-09-INFO", "auditor").json()
    assert len(full["frame"]) == sum(c["units"] for c in full["classes"])
    # the count selected per class is in the auditors' record only (DRAW-SPEC, `classes`)
    assert sum(c["selected"] for c in full["classes"]) == full["n"] == len(full["selected"])
    without = [{k: v for k, v in c.items() if k != "selected"} for c in full["classes"]]
    # `inclusion` (each distinct λ with its π) is the auditors'; the public reads π per class
    assert full["inclusion"] and "inclusion" not in public
    assert all(c["pi"] for c in public["classes"])
    hidden = ("frame", "inclusion")
    assert {**{k: v for k, v in full.items() if k not in hidden}, "classes": without} == public


def class_rows_with_selected(value: object) -> list[dict[str, Any]]:
    """Every object in a JSON value that gives a risk class together with a count selected."""
    if isinstance(value, list):
        return [row for item in value for row in class_rows_with_selected(item)]
    if not isinstance(value, dict):
        return []
    found = [value] if "risk_class" in value and "selected" in value else []
    return found + class_rows_with_selected(list(value.values()))


def test_the_public_never_sees_a_count_selected_per_class(service: Service) -> None:
    public_json = [
        f"/public/plans/{MONTH}",
        "/public/plans",
        f"/public/draws/{MONTH}-FOOD",
        f"/public/draws/{MONTH}-FOOD/record.json",
        f"/public/draws/{MONTH}-INFO",
    ]
    for path in public_json:
        body = service.get(path).json()
        assert body and class_rows_with_selected(body) == [], path
    plan = service.get(f"/public/plans/{MONTH}").json()
    assert all(task["classes"] for task in plan["tasks"])  # the classes are there, counted
    for path in (f"/draws/{MONTH}-FOOD", f"/plans/{MONTH}", "/"):
        page = service.get(path)
        assert page.status_code == 200 and "抽中户数" not in page.text, path
    assert "按风险等级" in service.get(f"/draws/{MONTH}-FOOD").text


def test_a_record_stored_with_counts_is_served_without(service: Service) -> None:
    """Records drawn before the counts left them may still hold them: never shown."""
    with Session(service.engine) as session:
        draw = session.get_one(models.Draw, f"{MONTH}-INFO")
        stored = copy.deepcopy(draw.record)
        draw.record = {**stored, "classes": [{**c, "selected": 1} for c in stored["classes"]]}
        session.commit()
        try:
            record = service.get(f"/public/draws/{MONTH}-INFO").json()["record"]
            assert record["classes"] and class_rows_with_selected(record) == []
            plan = service.get(f"/public/plans/{MONTH}").json()
            assert class_rows_with_selected(plan) == []
            page = service.get(f"/draws/{MONTH}-INFO").text
            assert "抽中户数" not in page
        finally:
            draw.record = stored
            session.commit()


def test_a_revoked_token_is_refused(service: Service) -> None:
    admin = service.city.headers("admin")
    created = service.client.post(
        "/admin/users", json={"username": "temp.auditor", "role": "auditor"}, headers=admin
    )
    assert created.status_code == 201
    token = service.client.post("/admin/users/temp.auditor/tokens", headers=admin).json()["token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert service.client.get("/me", headers=mine).json()["role"] == "auditor"
    revoked = service.client.post("/admin/users/temp.auditor/revoke", json={}, headers=admin)
    assert revoked.json() == {"revoked": 1}
    assert service.client.get("/me", headers=mine).status_code == 401
