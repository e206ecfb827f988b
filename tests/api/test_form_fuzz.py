"""The HTML pages and forms (sign-in, the field pages, the enterprise's /v/{code}, the
board, the public site) are not in the OpenAPI schema, so schemathesis cannot reach them:
here Hypothesis generates their paths, queries and form bodies and posts them through the
production app as every role (the public, with a forged session cookie, and bearer tokens
of an inspector, a supervisor, an auditor and an admin).

Every answer must be a status the page documents in the table below, never a server
error, and an HTML page, a redirect or a problem document. Derandomized for CI."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Service
from tests.api.servicecity import MONTH

ROLES = {
    "public": None,
    "inspector": "insp_s01",
    "supervisor": "sup_samr",
    "auditor": "auditor",
    "admin": "admin",
}
EXAMPLES_PER_PAGE = 12
TYPES = ("text/html", "application/problem+json")

# Values an attacker tries: real ones (so that requests reach the workflows), look-alikes
# and garbage (control characters, NUL, other scripts, path tricks, long strings).
WEIRD = st.sampled_from(["", " ", "\x00", "..", "../..", "%2F", "0" * 300, "<script>", "１"])
TEXT = st.text(max_size=40) | WEIRD
DATES = st.dates().map(str) | st.sampled_from(["2026-09-02", "2026-10-30", "1168-03-09"]) | TEXT
MONTHS = st.sampled_from([MONTH, "2030-01", "1900-01", "9999-12", "2026-13"]) | TEXT


@dataclass(frozen=True)
class Page:
    method: str
    path: str  # {}: one path segment drawn from `segment`
    statuses: frozenset[int]
    segment: str = "text"  # the values for {}: see _segments
    query: tuple[tuple[str, str], ...] = ()  # (parameter, kind of value)
    form: tuple[tuple[str, str], ...] = ()  # (field, kind of value)


def _statuses(*codes: int) -> frozenset[int]:
    return frozenset(codes)


PAGE = _statuses(200, 404, 422)  # a public page: found, unknown, a malformed path
PAGES: list[Page] = [
    Page("GET", "/", PAGE),
    Page("GET", "/plans", PAGE),
    Page("GET", "/plans/{}", PAGE, "month"),
    Page("GET", "/estimates/{}", PAGE, "month"),
    Page("GET", "/draws/{}", PAGE, "task"),
    Page("GET", "/results", PAGE, query=(("date_from", "date"), ("date_to", "date"),
                                         ("district", "text"), ("department", "text"),
                                         ("cursor", "text"))),
    Page("GET", "/results/{}", PAGE, "number"),
    Page("GET", "/enterprises/{}", PAGE, "enterprise"),
    Page("GET", "/login", _statuses(200, 422), query=(("next", "text"),)),
    Page("POST", "/login", _statuses(303, 401, 422, 429),
         form=(("username", "user"), ("password", "text"), ("next", "text"))),
    Page("POST", "/logout", _statuses(303, 401, 422), form=(("csrf", "text"),)),
    Page("GET", "/account/password", _statuses(200, 303)),
    Page("POST", "/account/password", _statuses(200, 303, 401, 403, 422, 429),
         form=(("current", "text"), ("new", "text"), ("repeat", "text"), ("csrf", "text"))),
    Page("GET", "/field/login", _statuses(303, 422), query=(("next", "text"),)),
    Page("GET", "/field", _statuses(303, 403)),
    Page("GET", "/field/visits", _statuses(200, 303, 403, 422), query=(("month", "month"),)),
    Page("GET", "/field/visits/{}", _statuses(200, 303, 403, 404, 422), "visit",
         query=(("saved", "text"),)),
    Page("POST", "/field/visits/{}/results", _statuses(200, 303, 403, 404, 409, 422), "visit",
         form=(("item_code", "item"), ("result", "result"), ("inspected_on", "date"),
               ("note", "text"), ("csrf", "text"))),
    Page("GET", "/field/calendar", _statuses(200, 303, 403)),
    Page("POST", "/field/calendar/links", _statuses(200, 303, 401, 403, 409, 422),
         form=(("label", "text"), ("csrf", "text"))),
    Page("POST", "/field/calendar/links/{}/revoke", _statuses(303, 401, 403, 404, 422),
         "number", form=(("csrf", "text"),)),
    Page("GET", "/field/calendar/{}.ics", _statuses(404, 422, 429)),
    Page("GET", "/v", _statuses(200, 303, 422), query=(("code", "text"),)),
    Page("GET", "/v/{}", _statuses(200, 403, 404, 410, 422, 429), query=(("recorded", "text"),)),
    Page("POST", "/v/{}", _statuses(200, 303, 403, 404, 409, 410, 422, 429),
         form=(("took_place", "took_place"), ("rating", "text"), ("comment", "text"))),
    Page("GET", "/board", _statuses(303,)),
    Page("GET", "/board/{}", _statuses(200, 303, 403, 404, 409, 422), "month",
         query=(("as_of", "date"),)),
]  # fmt: skip


def _values(service: Service) -> dict[str, st.SearchStrategy[str]]:
    visits = sorted(service.city.visits)
    return {
        "text": TEXT,
        "date": DATES,
        "month": MONTHS,
        "number": st.integers(min_value=-5, max_value=2**63).map(str) | TEXT,
        "task": st.sampled_from([f"{MONTH}-INFO", f"{MONTH}-FOOD"]) | TEXT,
        "enterprise": st.sampled_from(service.city.credit_codes) | TEXT,
        "visit": st.sampled_from(visits) | TEXT,
        "item": st.sampled_from(["SAMR-INFO", "SAMR-FOOD", "FIRE-CATER"]) | TEXT,
        "result": st.sampled_from(["no_problem", "problem_found", "not_found"]) | TEXT,
        "took_place": st.sampled_from(["yes", "no"]) | TEXT,
        "user": st.sampled_from(["admin", "insp_s01", "nobody"]) | TEXT,
    }


def _request(page: Page, values: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[Any]:
    """(path, query, form, forged cookie or None) for one request to `page`."""
    segment = values[page.segment].filter(lambda s: s.strip(" .") and "/" not in s)
    fields = lambda pairs: st.fixed_dictionaries(  # noqa: E731
        {}, optional={name: values[kind] for name, kind in pairs}
    )
    return st.tuples(
        segment.map(lambda s: page.path.replace("{}", quote(s, safe="")))
        if "{}" in page.path
        else st.just(page.path),
        fields(page.query),
        fields(page.form),
        st.none() | st.text(alphabet="abcdefXYZ0123456789-_", min_size=1, max_size=43),
    )


def _exercise(service: Service, page: Page, headers: dict[str, str], seen: Counter[int]) -> None:
    """Sends EXAMPLES_PER_PAGE generated requests to `page`; fails on the first bad answer."""

    @given(request=_request(page, _values(service)))
    @settings(
        max_examples=EXAMPLES_PER_PAGE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def exercise(request: tuple[str, dict[str, str], dict[str, str], str | None]) -> None:
        path, query, form, cookie = request
        sent = {**headers, **({"Cookie": f"ie_session={cookie}"} if cookie else {})}
        kw: dict[str, Any] = {"data": form} if page.method == "POST" else {}
        response = service.client.request(
            page.method, path, params=query, headers=sent, follow_redirects=False, **kw
        )
        seen[response.status_code] += 1
        where = f"{page.method} {path} {query} {form} -> {response.status_code}"
        # Starlette answers a segment holding an encoded "/" with a redirect to the list
        framework = response.status_code == 307 and "%252F" in path.upper()
        assert response.status_code in page.statuses or framework, f"{where}: {response.text[:300]}"
        if response.status_code not in (303, 307):
            kind = response.headers["content-type"].split(";")[0]
            assert kind in TYPES, f"{where}: {kind}"

    exercise()


@pytest.mark.parametrize("role", ROLES)
def test_forms_and_pages_as_each_role(service: Service, role: str) -> None:
    user = ROLES[role]
    headers = service.city.headers(user) if user else {}
    failures: list[str] = []
    seen: Counter[int] = Counter()
    for page in PAGES:
        try:
            _exercise(service, page, headers, seen)
        except AssertionError as exc:  # collect every failing page, then fail once
            failures.append(f"{page.method} {page.path}: {exc}"[:1500])
    assert not failures, "\n\n".join(failures)
    assert sum(seen.values()) >= 10 * len(PAGES)
    assert seen[200] >= 10, seen  # the pages were reached, not only refused
