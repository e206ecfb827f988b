"""The public website (公示网站): server-rendered pages over the same public read model as
/public; plain HTML forms and links, no JavaScript, one small stylesheet."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from api import convert, labels, queries
from api.deps import SessionDep
from api.pagination import MAX_ID, decode_cursor, page
from api.queries import RESULT_LABELS, ResultFilter
from api.routes.public import audit_heads, result_filter
from api.schemas import MONTH_PATTERN
from inspect_engine.workflows.results import today_in_shanghai

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PAGE_SIZE = 50


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters.update(labels.FILTERS)
    templates.env.globals.update(
        result_labels=RESULT_LABELS, districts=labels.DISTRICTS, departments=labels.DEPARTMENTS
    )
    return templates


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, status_code: int, title: str, detail: str) -> Response:
    """The HTML rendering of a problem, for people browsing the site."""
    return render(
        request, "error.html", status_code, status=status_code, title=title, detail=detail
    )


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    """This month's plan (or the latest public one), a search box and the latest results."""
    month = today_in_shanghai().strftime("%Y-%m")
    plans = queries.public_plans(session, before=None, limit=24)
    plan = next((p for p in plans if p.month == month), plans[0] if plans else None)
    views = queries.plan_tasks(session, plan) if plan else []
    latest = queries.public_results(session, ResultFilter(), after=None, limit=10)
    titles = queries.item_titles(session)
    return render(
        request,
        "index.html",
        month=month,
        plan=convert.public_plan(plan, views) if plan else None,
        latest=[convert.public_result(p, titles) for p in latest],
    )


@router.get("/plans")
def plans(request: Request, session: SessionDep) -> Response:
    found = queries.public_plans(session, before=None, limit=120)
    counts = queries.task_counts(session, [p.id for p in found])
    return render(
        request, "plans.html", plans=[convert.plan_summary(p, counts[p.id]) for p in found]
    )


@router.get("/plans/{month}")
def plan(
    request: Request,
    session: SessionDep,
    month: Annotated[str, PathParam(pattern=MONTH_PATTERN)],
) -> Response:
    found = queries.public_plan(session, month)
    return render(
        request,
        "plan.html",
        plan=convert.public_plan(
            found,
            queries.plan_tasks(session, found),
            queries.voided_commitments(session, month),
            queries.team_event_count(session, found),
        ),
    )


@router.get("/estimates/{month}")
def estimates(
    request: Request,
    session: SessionDep,
    month: Annotated[str, PathParam(pattern=MONTH_PATTERN)],
) -> Response:
    found = queries.published_estimates(session, month)
    return render(request, "estimates.html", month=month, estimates=found)


@router.get("/draws/{task_code}")
def draw(
    request: Request, session: SessionDep, task_code: Annotated[str, PathParam(max_length=64)]
) -> Response:
    record = queries.public_record(session, task_code)
    return render(
        request,
        "draw.html",
        record=record,
        verification=convert.verification(task_code),
        base=str(request.base_url).rstrip("/"),
    )


@router.get("/results")
def results(
    request: Request,
    session: SessionDep,
    filters: Annotated[ResultFilter, Depends(result_filter)],
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    key = decode_cursor(cursor, date, int)
    rows = queries.public_results(
        session, filters, after=(key[0], key[1]) if key else None, limit=PAGE_SIZE + 1
    )
    kept, next_cursor = page(rows, PAGE_SIZE, lambda p: [p.inspected_on, p.id])
    titles = queries.item_titles(session)
    query = _filter_query(filters)
    return render(
        request,
        "results.html",
        filters=filters,
        results=[convert.public_result(p, titles) for p in kept],
        next_url=f"/results?{urlencode({**query, 'cursor': next_cursor})}" if next_cursor else None,
        csv_url=f"/public/results?{urlencode({**query, 'format': 'csv'})}",
        xlsx_url=f"/public/results?{urlencode({**query, 'format': 'xlsx'})}",
        searched=bool(query),
    )


def _filter_query(filters: ResultFilter) -> dict[str, str]:
    values = {
        "q": filters.q,
        "date_from": filters.date_from.isoformat() if filters.date_from else None,
        "date_to": filters.date_to.isoformat() if filters.date_to else None,
        "district": filters.district,
        "department": filters.department,
        "result": filters.result,
    }
    return {k: v for k, v in values.items() if v}


@router.get("/results/{publication_id}")
def result(
    request: Request,
    session: SessionDep,
    publication_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
) -> Response:
    found, versions = queries.public_result(session, publication_id)
    titles = queries.item_titles(session)
    return render(
        request,
        "result.html",
        result=convert.public_result(found, titles),
        task_title=queries.task_title(session, found.task_code),
        history=[convert.public_result(v, titles) for v in versions],
    )


@router.get("/enterprises/{credit_code}")
def enterprise(
    request: Request,
    session: SessionDep,
    credit_code: Annotated[str, PathParam(min_length=18, max_length=18)],
) -> Response:
    found, rows = queries.public_enterprise(session, credit_code)
    titles = queries.item_titles(session)
    return render(
        request,
        "enterprise.html",
        enterprise=found,
        results=[convert.public_result(p, titles) for p in rows],
    )


@router.get("/audit")
def audit_heads_page(
    request: Request,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """The audit chain's head now and as published (keep copies: docs/audit.md)."""
    return render(request, "audit.html", heads=audit_heads(session, 100, cursor))
