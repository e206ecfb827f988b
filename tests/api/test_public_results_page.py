"""The public results page as the API builds it (api.routes.public._results_page over
api.queries.public_results), on SQLite and PostgreSQL: keyset pages with a date range walk
exactly the published rows of that range, and the JSON is the declared response model."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import models
from api.pagination import decode_cursor
from api.queries import ResultFilter, public_results
from api.routes.public import ResultsPage, _results_page
from tests.workflows import tinycity

FIRST_DAY = date(2026, 9, 1)
DAYS = 6  # several results a day: pages must break ties on the same day by id


@pytest.fixture
def published(session: Session) -> list[models.Publication]:
    """Forty published results over six days in two districts; every fifth one superseded
    by a correction (so not current), the rest current."""
    codes = tinycity.build(session, enterprises=40)
    plan = models.Plan(month="2026-09", status="published")
    session.add(plan)
    session.flush()
    rows = []
    for n, code in enumerate(codes):
        visit = models.Visit(
            visit_code=f"2026-09-{n:06d}",
            plan_id=plan.id,
            credit_code=code,
            task_codes=["2026-09-INFO"],
            item_codes=["SAMR-INFO"],
            departments=["SAMR"],
            mode="local",
            team_size=2,
        )
        session.add(visit)
        session.flush()
        day = FIRST_DAY + timedelta(days=n % DAYS)
        result = models.Result(
            visit_id=visit.id,
            item_code="SAMR-INFO",
            result="no_problem" if n % 3 else "corrected",
            inspected_on=day,
            status="published",
        )
        session.add(result)
        session.flush()
        rows.append(
            models.Publication(
                result_id=result.id,
                published_at=datetime(2026, 10, 9, 2, 0, tzinfo=UTC),
                state="corrected" if n % 5 == 4 else "current",
                visit_code=visit.visit_code,
                task_code="2026-09-INFO",
                credit_code=code,
                enterprise_name=f"测试企业{n}",
                district=code[2:8],
                department="SAMR",
                item_code="SAMR-INFO",
                result=result.result,
                inspected_on=day,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def _expected(rows: list[models.Publication], first: date, last: date) -> list[int]:
    """The public list worked out by hand: current rows in the range, latest first."""
    shown = [p for p in rows if p.state == "current" and first <= p.inspected_on <= last]
    return [p.id for p in sorted(shown, key=lambda p: (p.inspected_on, p.id), reverse=True)]


def _walk(
    factory: sessionmaker[Session], filters: ResultFilter, limit: int
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        body = json.loads(_results_page(factory, filters, after, limit))
        items += body["items"]
        key = decode_cursor(body["next_cursor"], date, int)
        if key is None:
            return items
        after = (key[0], key[1])
    raise AssertionError("the pages never end")


def _factory(session: Session) -> sessionmaker[Session]:
    """Sessions on the test's connection: they see its rows, and roll back with it."""
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")


@pytest.mark.parametrize("limit", [1, 4, 7, 500])
def test_pages_of_a_date_range_walk_its_rows_once(
    session: Session, published: list[models.Publication], limit: int
) -> None:
    first, last = FIRST_DAY + timedelta(days=1), FIRST_DAY + timedelta(days=4)
    filters = ResultFilter(date_from=first, date_to=last)
    walked = _walk(_factory(session), filters, limit)
    expected = _expected(published, first, last)
    assert len(expected) > 7  # several pages for the small limits
    assert [r["id"] for r in walked] == expected


def test_a_cursor_past_the_range_does_not_widen_it(
    session: Session, published: list[models.Publication]
) -> None:
    """A cursor from a wider list (a later day) meets the narrower date_to: the tighter of
    the two bounds the page, never the cursor alone."""
    last = FIRST_DAY + timedelta(days=2)
    filters = ResultFilter(date_to=last)
    later = (FIRST_DAY + timedelta(days=DAYS), 2**31 - 1)
    page = public_results(session, filters, after=later, limit=500)
    assert [p.id for p in page] == _expected(published, date.min, last)
    # ... and within the cursor's own day, the rows after it only
    day_rows = _expected(published, last, last)
    middle = session.get(models.Publication, day_rows[1])
    assert middle is not None
    page = public_results(session, filters, after=(last, middle.id), limit=500)
    assert [p.id for p in page] == day_rows[2:] + _expected(published, date.min, last)[
        len(day_rows) :
    ]


def test_the_page_is_the_declared_response_model(
    session: Session, published: list[models.Publication]
) -> None:
    body = _results_page(_factory(session), ResultFilter(district="440105"), None, 3)
    page = ResultsPage.model_validate_json(body)
    assert page.model_dump_json().encode() == body
    assert len(page.items) == 3 and page.next_cursor is not None
    assert {r.district for r in page.items} == {"440105"}
    assert {r.item_title for r in page.items} == {"企业公示信息检查"}  # the item's title
    shown = {p.id: p for p in published}
    for row in page.items:
        stored = shown[row.id]
        assert (row.credit_code, row.inspected_on, row.state) == (
            stored.credit_code,
            stored.inspected_on,
            "current",
        )
        assert row.published_at == datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
