"""Regressions for what the schemathesis runs (test_schemathesis.py, test_form_fuzz.py)
found: each answer below was a status, content type or body the OpenAPI schema did not
document, or a server error."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import Service
from tests.api.servicecity import MONTH


def documented(service: Service, method: str, path: str) -> dict[str, Any]:
    """The responses the OpenAPI schema documents for an operation."""
    schema = service.client.get("/openapi.json").json()
    responses: dict[str, Any] = schema["paths"][path][method.lower()]["responses"]
    return responses


def test_errors_are_documented_as_problems(service: Service) -> None:
    responses = documented(service, "GET", "/public/plans")
    answer = service.get("/public/plans?cursor=forged")
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert list(responses["422"]["content"]) == ["application/problem+json"]
    assert answer.json().keys() >= {"type", "title", "status", "detail"}
    secured = documented(service, "GET", "/supervisor/items")
    assert {"401", "403", "404", "422"} <= secured.keys()


def test_overdue_beyond_the_calendar_is_answered_provisionally(service: Service) -> None:
    """Once a 409 the schema did not document; a year the calendar does not know now
    gives provisional (暂定) dates instead (docs/calendar.md)."""
    answer = service.get("/supervisor/overdue?as_of=1168-03-09", "sup_samr")
    assert answer.status_code == 200, answer.text
    assert all(item["due_provisional"] for item in answer.json()["items"])


def test_the_pdf_documents_need_a_sign_in_in_the_schema(service: Service) -> None:
    path = "/field/visits/{visit_code}/{kind}.pdf"
    schema = service.client.get("/openapi.json").json()
    assert schema["paths"][path]["get"]["security"] == [{"HTTPBearer": []}]
    assert service.get("/field/visits/2030-01-000001/task.pdf").status_code == 401
    assert "401" in documented(service, "GET", path)


def test_a_forged_csrf_token_with_other_scripts_is_refused_not_a_crash(service: Service) -> None:
    """hmac.compare_digest raised TypeError on a non-ASCII token: a 500 for any forged form."""
    forger = TestClient(service.client.app)
    forger.cookies.set("ie_session", "A" * 43)
    for path, form in (
        ("/logout", {"csrf": "令牌"}),
        ("/account/password", {"current": "a", "new": "b", "repeat": "b", "csrf": "令牌"}),
    ):
        answer = forger.post(path, data=form, follow_redirects=False)
        assert answer.status_code in (303, 401), (path, answer.text)
    refused = forger.post("/logout", data={"csrf": "令牌"}, follow_redirects=False)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]


def test_the_board_beyond_the_calendar_is_answered_provisionally(service: Service) -> None:
    """Found by hand after the fuzzers: the same 409 as overdue's; now provisional too."""
    answer = service.get(f"/supervisor/board/{MONTH}?as_of=1168-03-09", "sup_samr")
    assert answer.status_code == 200, answer.text
    assert answer.json()["overdue_provisional"] is True
