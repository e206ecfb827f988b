"""Every role boundary, as an attacker tries it: each route is called as the public, an
inspector, the supervisor of one department (SAMR), the supervisor of another (FIRE), an
auditor and an administrator, and each answer must be exactly the status in the table
below: 401 without a sign-in, 403 for the wrong role or department, and for permitted
calls the status the route documents (so a 500, or a 200 where a 404 belongs, fails).

Requests change nothing: writes name a month without a plan, an unknown id or a file
that does not parse. `test_every_route_is_in_the_matrix` keeps the table complete."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

import models
from tests.api.conftest import Service
from tests.api.servicecity import MONTH

NO_PLAN = "2030-01"
NO_VISIT = f"{NO_PLAN}-000001"
CSV = {"file": ("x.csv", b"nothing,useful\n1,2\n", "text/csv")}
RESULT = {"item_code": "SAMR-INFO", "result": "no_problem", "inspected_on": "2026-09-02"}

# The matrix's columns; None is the public (no sign-in).
ROLES: tuple[str | None, ...] = (None, "insp_s01", "sup_samr", "sup_fire", "auditor", "admin")


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # {visit}: a visit of insp_s01 with SAMR items only; {enterprise}: a code
    expected: str  # one status per column of ROLES
    kw: dict[str, Any] = field(default_factory=dict)

    def statuses(self) -> dict[str | None, int]:
        codes = [int(s) for s in self.expected.split()]
        assert len(codes) == len(ROLES), self
        return dict(zip(ROLES, codes, strict=True))


# fmt: off
#                                                                 public insp samr fire audit admin
MATRIX: list[Call] = [
    # the public API and site: the same for everyone
    Call("GET", "/public/plans",                                      "200 200 200 200 200 200"),
    Call("GET", "/public/plans.atom",                                 "200 200 200 200 200 200"),
    Call("GET", f"/public/plans/{MONTH}",                             "200 200 200 200 200 200"),
    Call("GET", f"/public/draws/{MONTH}-INFO",                        "200 200 200 200 200 200"),
    Call("GET", f"/public/draws/{MONTH}-INFO/record.json",            "200 200 200 200 200 200"),
    Call("GET", "/public/verify.py",                                  "200 200 200 200 200 200"),
    Call("GET", "/public/results",                                    "200 200 200 200 200 200"),
    Call("GET", "/public/results/999999",                             "404 404 404 404 404 404"),
    Call("GET", "/public/results.atom",                               "200 200 200 200 200 200"),
    Call("GET", f"/public/estimates/{MONTH}",                         "404 404 404 404 404 404"),
    Call("GET", f"/public/estimates/{MONTH}/chart.png",               "404 404 404 404 404 404"),
    Call("GET", "/public/enterprises/{enterprise}",                   "200 200 200 200 200 200"),
    Call("GET", "/",                                                  "200 200 200 200 200 200"),
    Call("GET", "/plans",                                             "200 200 200 200 200 200"),
    Call("GET", f"/plans/{MONTH}",                                    "200 200 200 200 200 200"),
    Call("GET", f"/estimates/{MONTH}",                                "404 404 404 404 404 404"),
    Call("GET", f"/draws/{MONTH}-INFO",                               "200 200 200 200 200 200"),
    Call("GET", "/results",                                           "200 200 200 200 200 200"),
    Call("GET", "/results/999999",                                    "404 404 404 404 404 404"),
    Call("GET", "/enterprises/{enterprise}",                          "200 200 200 200 200 200"),
    Call("GET", "/problems/forbidden",                                "200 200 200 200 200 200"),
    Call("GET", "/openapi.json",                                      "200 200 200 200 200 200"),
    Call("GET", "/docs",                                              "200 200 200 200 200 200"),
    Call("GET", "/redoc",                                             "200 200 200 200 200 200"),
    Call("GET", "/public/audit/heads",                                "200 200 200 200 200 200"),
    Call("GET", "/audit",                                             "200 200 200 200 200 200"),
    # the enterprise's confirmation: an unknown code is 404 whoever asks
    Call("GET", "/v",                                                 "200 200 200 200 200 200"),
    Call("GET", "/v/ABCDEFGH",                                        "404 404 404 404 404 404"),
    Call("POST", "/v/ABCDEFGH",                                       "404 404 404 404 404 404",
         {"data": {"took_place": "yes"}}),
    # sign-in pages (a form without its password is refused before any attempt counts)
    Call("GET", "/login",                                             "200 200 200 200 200 200"),
    Call("POST", "/login",                                            "422 422 422 422 422 422",
         {"data": {"username": "nobody"}}),
    Call("POST", "/logout",                                           "303 303 303 303 303 303"),
    Call("GET", "/account/password",                                  "303 303 303 303 303 303"),
    Call("POST", "/account/password",                                 "303 303 303 303 303 303",
         {"data": {"current": "a", "new": "b", "repeat": "b"}}),
    Call("GET", "/me",                                                "401 200 200 200 200 200"),
    # supervisors: their departments' directories, plans and results
    Call("POST", "/supervisor/imports/items",                         "401 403 422 422 403 422",
         {"files": CSV}),
    Call("GET", "/supervisor/items",                                  "401 403 200 200 403 200"),
    Call("GET", f"/supervisor/plans/{MONTH}",                         "401 403 200 200 403 200"),
    Call("GET", f"/supervisor/plans/{NO_PLAN}",                       "401 403 404 404 403 404"),
    Call("POST", f"/supervisor/plans/{NO_PLAN}/tasks",                "401 403 422 422 403 422",
         {"files": CSV}),
    Call("GET", f"/supervisor/plans/{MONTH}/preview",                 "401 403 200 200 403 200"),
    # the whole plan's capacity and λ: only who covers every department (here the admin,
    # who gets the refusal: the small city's staff cannot hold the floors)
    Call("GET", f"/supervisor/plans/{MONTH}/sizing",                  "401 403 403 403 403 422"),
    Call("GET", f"/supervisor/plans/{NO_PLAN}/sizing",                "401 403 404 404 403 404"),
    Call("POST", f"/supervisor/plans/{NO_PLAN}/freeze",               "401 403 404 404 403 404"),
    # the joint month holds SAMR and FIRE tasks: neither one-department supervisor acts on it
    Call("POST", f"/supervisor/plans/{MONTH}/freeze",                 "401 403 403 403 403 200"),
    Call("POST", f"/supervisor/plans/{NO_PLAN}/draw",                 "401 403 404 404 403 404",
         {"json": {"contribution": "x"}}),
    Call("POST", f"/supervisor/plans/{NO_PLAN}/assign",               "401 403 404 404 403 404"),
    Call("POST", f"/supervisor/plans/{NO_PLAN}/publish",              "401 403 404 404 403 404"),
    Call("POST", f"/supervisor/plans/{NO_PLAN}/verify-codes",         "401 403 404 404 403 404"),
    Call("GET", f"/supervisor/board/{MONTH}",                         "401 403 200 200 403 200"),
    Call("GET", "/supervisor/results",                                "401 403 200 200 403 200"),
    Call("GET", "/supervisor/results/999999",                         "401 403 404 404 403 404"),
    Call("POST", "/supervisor/results/999999/review",                 "401 403 404 404 403 404",
         {"json": {"decision": "approve"}}),
    Call("POST", "/supervisor/results/import",                        "401 403 422 422 403 422",
         {"files": CSV}),
    Call("POST", "/supervisor/results/publish",                       "401 403 404 404 403 404",
         {"json": {"month": NO_PLAN}}),
    Call("POST", "/supervisor/results/999999/correct",                "401 403 404 404 403 404",
         {"json": {"result": "no_problem", "reason": "r"}}),
    Call("POST", "/supervisor/results/999999/withdraw",               "401 403 404 404 403 404",
         {"json": {"reason": "r"}}),
    Call("GET", "/supervisor/overdue?as_of=2026-10-30",               "401 403 200 200 403 200"),
    Call("GET", "/supervisor/outliers?date_from=2026-09-01&date_to=2026-09-30",
                                                                      "401 403 200 200 403 200"),
    # the board is the supervisors' page; the public is sent to sign in
    Call("GET", "/board",                                             "303 303 303 303 303 303"),
    Call("GET", f"/board/{MONTH}",                                    "303 403 200 200 403 200"),
    # inspectors: their own visits only (another's or an unknown one is 404)
    Call("GET", f"/inspector/visits?month={MONTH}",                   "401 200 403 403 403 403"),
    Call("GET", "/inspector/visits/{visit}",                          "401 200 403 403 403 403"),
    Call("GET", f"/inspector/visits/{NO_VISIT}",                      "401 404 403 403 403 403"),
    Call("POST", f"/inspector/visits/{NO_VISIT}/results",             "401 404 403 403 403 403",
         {"json": RESULT}),
    Call("GET", "/field/login",                                       "303 303 303 303 303 303"),
    Call("GET", "/field",                                             "303 303 303 303 403 303"),
    Call("GET", f"/field/visits?month={MONTH}",                       "303 200 403 403 403 403"),
    Call("GET", "/field/visits/{visit}",                              "303 200 403 403 403 403"),
    Call("POST", f"/field/visits/{NO_VISIT}/results",                 "303 404 403 403 403 403",
         {"data": RESULT}),
    # the inspector's calendar: his feed (signed in), his links page; a link's token opens a
    # feed without a sign-in, an unknown one is 404 whoever asks; a blank label is refused
    Call("GET", "/field/calendar.ics",                                "401 200 403 403 403 403"),
    Call("GET", "/field/calendar",                                    "303 200 403 403 403 403"),
    Call("POST", "/field/calendar/links",                             "303 422 403 403 403 403",
         {"data": {"label": "  "}}),
    Call("POST", "/field/calendar/links/999999/revoke",               "303 404 403 403 403 403"),
    Call("GET", "/field/calendar/UNKNOWN-TOKEN.ics",                  "404 404 404 404 404 404"),
    # documents: the team, and supervisors of the visit's departments (FIRE is not one)
    Call("GET", "/field/visits/{visit}/notice.pdf",                   "401 200 200 403 404 200"),
    Call("GET", f"/field/visits/{NO_VISIT}/task.pdf",                 "401 404 404 404 404 404"),
    # auditors
    Call("GET", f"/auditor/draws/{MONTH}-INFO",                       "401 403 403 403 200 200"),
    Call("GET", "/auditor/frames",                                    "401 403 403 403 200 200"),
    Call("GET", "/auditor/audit-log",                                 "401 403 403 403 200 200"),
    Call("GET", "/auditor/audit/verify",                              "401 403 403 403 200 200"),
    Call("GET", "/auditor/imports/999999/changes",                    "401 403 403 403 404 404"),
    # the supervisor's desk (pages: the public is sent to sign in; a bearer token needs no
    # CSRF token, a browser's session does: tests/desk)
    Call("GET", "/desk",                                              "303 403 200 200 403 200"),
    Call("GET", f"/desk/go?month={NO_PLAN}",                          "303 303 303 303 303 303"),
    Call("GET", f"/desk/{NO_PLAN}",                                   "303 403 200 200 403 200"),
    Call("POST", f"/desk/{NO_PLAN}/tasks",                            "303 403 422 422 403 422",
         {"files": CSV}),
    Call("POST", f"/desk/{NO_PLAN}/freeze",                           "303 403 404 404 403 404",
         {"data": {"source": "s"}}),
    Call("POST", f"/desk/{NO_PLAN}/draw",                             "303 403 404 404 403 404",
         {"data": {"contribution": "x"}}),
    Call("POST", f"/desk/{NO_PLAN}/assign",                           "303 403 404 404 403 404"),
    Call("POST", f"/desk/{NO_PLAN}/reassign",                         "303 403 404 404 403 404",
         {"data": {"inspector_id": "S01", "reason": "r"}}),
    Call("POST", f"/desk/{NO_PLAN}/results/999999",                   "303 403 404 404 403 404",
         {"data": {"decision": "approve"}}),
    Call("POST", f"/desk/{NO_PLAN}/publish-plan",                     "303 403 404 404 403 404"),
    Call("POST", f"/desk/{NO_PLAN}/publish-results",                  "303 403 404 404 403 404"),
    Call("POST", f"/desk/{NO_PLAN}/close",                            "303 403 404 404 403 404"),
    Call("GET", f"/desk/{NO_PLAN}/announcement.pdf",                  "303 403 404 404 403 404"),
    Call("GET", f"/desk/{NO_PLAN}/visits.csv",                        "303 403 404 404 403 404"),
    Call("GET", f"/desk/{NO_PLAN}/visits.xlsx",                       "303 403 404 404 403 404"),
    # administrators
    Call("POST", f"/admin/plans/{NO_PLAN}/refreeze",                  "401 403 403 403 403 404",
         {"json": {"reason": "r"}}),
    Call("GET", "/admin/users",                                       "401 403 403 403 403 200"),
    Call("POST", "/admin/users",                                      "401 403 403 403 403 422",
         {"json": {"username": "x!", "role": "auditor"}}),  # an invalid name: changes nothing
    Call("POST", "/admin/users/nobody/tokens",                        "401 403 403 403 403 404"),
    Call("POST", "/admin/users/nobody/revoke",                        "401 403 403 403 403 404",
         {"json": {}}),
    Call("POST", "/admin/users/nobody/deactivate",                    "401 403 403 403 403 404"),
    Call("POST", "/admin/users/nobody/calendar-links/revoke",         "401 403 403 403 403 404"),
]
# fmt: on

HTML_REFUSALS = ("/field", "/board", "/desk")  # pages answer 403 with a page, not a problem


def _path(service: Service, call: Call) -> str:
    visit = next(
        code
        for code in service.city.visits_of("S01")
        if all(item.startswith("SAMR-") for item in service.city.visits[code][1])
    )
    return call.path.format(visit=visit, enterprise=service.city.credit_codes[0])


def _call(service: Service, call: Call, headers: dict[str, str]) -> Any:
    return service.client.request(
        call.method, _path(service, call), headers=headers, follow_redirects=False, **call.kw
    )


@pytest.mark.parametrize("call", MATRIX, ids=lambda c: f"{c.method} {c.path}")
def test_role_matrix(service: Service, call: Call) -> None:
    answers = {}
    for role in ROLES:
        response = _call(service, call, service.city.headers(role) if role else {})
        answers[role] = response.status_code
        if response.status_code == 401:
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"] == "Bearer"
        if response.status_code == 403 and not call.path.startswith(HTML_REFUSALS):
            assert response.json()["type"] == "/problems/forbidden", (role, response.text)
    assert answers == call.statuses(), list(answers.values())
    if call.statuses()[None] == 401:  # a made-up token is no better than none
        forged = _call(service, call, {"Authorization": "Bearer x"})
        assert forged.status_code == 401


def test_every_route_is_in_the_matrix(service: Service) -> None:
    """A route added without a row here fails: nobody decided who may call it."""
    covered = {(c.method, c.path.split("?")[0]) for c in MATRIX}
    missing = []
    for method, pattern in _routes(service.client.app):
        if not any(m == method and re.fullmatch(pattern, p) for m, p in covered):
            missing.append(f"{method} {pattern}")
    assert missing == []


def _routes(app: Any) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for context in contexts:
            methods = getattr(context, "methods", None) or set()
            regex = getattr(context, "path_regex", None)
            for method in sorted(methods - {"HEAD"}):
                if regex is not None:
                    found.append((method, regex.pattern.rstrip("$").lstrip("^")))
    return found


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
