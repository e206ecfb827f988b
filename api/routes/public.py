"""The public (no login): plans and tasks, draw records and the verifier, results as JSON,
CSV and Atom, and a lookup by credit code. Never a risk class, never an inspector."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from pydantic import BeforeValidator
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask

import inspect_engine.verify
from api import convert, queries, schemas
from api.deps import SessionDep
from api.links import follow
from api.pagination import MAX_ID, Cursor, Limit, decode_cursor, page
from api.queries import ResultFilter
from api.schemas import MONTH_PATTERN, Page, ResultCodeName
from inspect_engine.formats.csv_safety import SafeWriter
from inspect_engine.formats.xlsx_out import XLSX_MEDIA_TYPE, write_sheet
from inspect_engine.workflows import audit
from models import Publication, PublishedHead

router = APIRouter(prefix="/public", tags=["public"])

VERIFIER = Path(inspect_engine.verify.__file__)
CSV_COLUMNS = (
    "id",
    "published_at",
    "task_code",
    "credit_code",
    "enterprise_name",
    "district",
    "department",
    "item_code",
    "item_title",
    "result",
    "result_label",
    "inspected_on",
    "version",
    "state",
    "corrected",
    "reason",
)
CSV_NUMERIC = tuple(name in ("id", "version") for name in CSV_COLUMNS)
FEED_ENTRIES = 50
ATOM = "http://www.w3.org/2005/Atom"
COMMITMENT = "urn:inspect-engine:plan-commitment"
"""The namespace of the plans feed's machine-readable values (docs/api.md)."""

MonthPath = Annotated[str, PathParam(pattern=MONTH_PATTERN, examples=["2026-12"])]
TaskCode = Annotated[str, PathParam(max_length=64, examples=["2026-12-SAMR-FOOD"])]


def _blank_is_absent(value: object) -> object:
    """HTML forms send empty fields as `name=`: that means "no filter", not a bad value."""
    return None if value == "" else value


Blank = BeforeValidator(_blank_is_absent)


async def result_filter(
    date_from: Annotated[
        date | None, Query(description="inspected on or after (ISO date)"), Blank
    ] = None,
    date_to: Annotated[
        date | None, Query(description="inspected on or before (ISO date)"), Blank
    ] = None,
    district: Annotated[
        str | None, Query(pattern=r"^[1-9][0-9]{5}$", description="GB/T 2260 code"), Blank
    ] = None,
    department: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$", examples=["SAMR"]),
        Blank,
    ] = None,
    result: Annotated[ResultCodeName | None, Query(), Blank] = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="part of the enterprise name, or its credit code"),
    ] = None,
) -> ResultFilter:
    # async: it only checks values; a plain def would cost every request a thread hop
    return ResultFilter(date_from, date_to, district, department, result, q)


Filters = Annotated[ResultFilter, Depends(result_filter)]
ResultsPage = Page[schemas.PublicResult]


@router.get(
    "/plans",
    responses={
        200: {
            "description": "a page of plans",
            "links": {
                "plan": follow("/public/plans/{month}", month="$response.body#/items/0/month")
            },
        }
    },
)
def list_plans(
    session: SessionDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[schemas.PublicPlanSummary]:
    """Plans whose frames are frozen and commitment public, newest month first."""
    key = decode_cursor(cursor, str)
    plans = queries.public_plans(session, before=key[0] if key else None, limit=limit + 1)
    kept, next_cursor = page(plans, limit, lambda p: [p.month])
    counts = queries.task_counts(session, [p.id for p in kept])
    return Page(
        items=[convert.plan_summary(p, counts[p.id]) for p in kept], next_cursor=next_cursor
    )


@router.get(
    "/plans.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}, "description": "Atom feed"}},
)
def plans_feed(request: Request, session: SessionDep) -> Response:
    """The plans' commitments, for outside archives: an entry per commitment from the
    moment the frames are frozen (commitment, group hash, staffing hash, the declared
    source of the contribution, commit time), updated with the contribution, the seed and
    the number of staffing events; a commitment voided by a public refreeze stays, marked."""
    views = queries.plan_commitments(session, FEED_ENTRIES)
    body = commitments_feed(str(request.base_url).rstrip("/"), views)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get(
    "/plans/{month}",
    responses={
        200: {
            "description": "the plan",
            "links": {
                "draw": follow(
                    "/public/draws/{task_code}", task_code="$response.body#/tasks/0/task_code"
                ),
                "record": follow(
                    "/public/draws/{task_code}/record.json",
                    task_code="$response.body#/tasks/0/task_code",
                ),
                "auditor_draw": follow(
                    "/auditor/draws/{task_code}", task_code="$response.body#/tasks/0/task_code"
                ),
                "estimates": follow("/public/estimates/{month}", month="$request.path.month"),
            },
        }
    },
)
def get_plan(session: SessionDep, month: MonthPath) -> schemas.PublicPlan:
    """A month's tasks: scope, ratios per class, frame hash, units per class, number drawn."""
    plan = queries.public_plan(session, month)
    voided = queries.voided_commitments(session, month)
    events = queries.team_event_count(session, plan)
    return convert.public_plan(plan, queries.plan_tasks(session, plan), voided, events)


@router.get("/draws/{task_code}")
def get_draw(session: SessionDep, task_code: TaskCode) -> schemas.PublicDraw:
    """The public ie-draw-v1 record (DRAW-SPEC) with how to verify it."""
    record = queries.public_record(session, task_code)
    return schemas.PublicDraw(record=record, verification=convert.verification(task_code))


@router.get(
    "/draws/{task_code}/record.json",
    response_class=JSONResponse,
    responses={200: {"content": {"application/json": {}}, "description": "the raw record"}},
)
def download_record(session: SessionDep, task_code: TaskCode) -> JSONResponse:
    """The raw record, as the verifier reads it."""
    record = queries.public_record(session, task_code)
    disposition = f'attachment; filename="{_safe_filename(task_code)}.json"'
    return JSONResponse(record, headers={"Content-Disposition": disposition})


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


@router.get(
    "/verify.py",
    response_class=FileResponse,
    responses={200: {"content": {"text/x-python": {}}, "description": "the verifier"}},
)
def download_verifier() -> FileResponse:
    """The standalone verifier: one file, Python 3.8+, standard library only."""
    return FileResponse(VERIFIER, media_type="text/x-python", filename="verify.py")


@router.get(
    "/results",
    response_model=ResultsPage,
    responses={
        200: {
            "content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}},
            "description": "a page of results (JSON), or every match (CSV or Excel)",
        }
    },
)
async def list_results(
    request: Request,
    filters: Filters,
    limit: Limit = 50,
    cursor: Cursor = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """Reviewed and published results, latest inspection first. `?format=csv` streams
    every match (UTF-8 with BOM for spreadsheets; formula-like cells are escaped);
    `?format=xlsx` returns every match as an Excel workbook (text cells never formulas)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    if format == "xlsx":
        path = await run_in_threadpool(_xlsx_file, factory, filters)
        return FileResponse(
            path,
            media_type=XLSX_MEDIA_TYPE,
            filename="results.xlsx",
            background=BackgroundTask(path.unlink, missing_ok=True),
        )
    if format == "csv":
        titles = await run_in_threadpool(_item_titles, factory)
        return StreamingResponse(
            _csv_lines(factory, filters, titles),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="results.csv"'},
        )
    key = decode_cursor(cursor, date, int)
    after = (key[0], key[1]) if key else None
    body = await run_in_threadpool(_results_page, factory, filters, after, limit)
    return Response(body, media_type="application/json")


def _results_page(
    factory: sessionmaker[Session],
    filters: ResultFilter,
    after: tuple[date, int] | None,
    limit: int,
) -> bytes:
    """One page as JSON, read and built in one worker thread with its own read-only
    session: the most asked page of the service pays one thread hop instead of four
    (session dependency in and out, filters, endpoint) and skips a second validation of
    the page it has just built."""
    with factory() as session:
        rows = queries.public_results(session, filters, after=after, limit=limit + 1)
        kept, next_cursor = page(rows, limit, lambda p: [p.inspected_on, p.id])
        titles = queries.item_titles(session)
    items = [convert.public_result(p, titles) for p in kept]
    return ResultsPage(items=items, next_cursor=next_cursor).model_dump_json().encode()


def _item_titles(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        return queries.item_titles(session)


def _csv_lines(
    factory: sessionmaker[Session], filters: ResultFilter, titles: dict[str, str]
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = SafeWriter(buffer, CSV_NUMERIC)  # the rule of every export: docs/csv-safety.md
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    for chunk in queries.iter_public_results(factory, filters):
        buffer.seek(0)
        buffer.truncate()
        for p in chunk:
            row = convert.public_result(p, titles)
            writer.writerow([_csv_value(row, name) for name in CSV_COLUMNS])
        yield buffer.getvalue()


def _xlsx_file(factory: sessionmaker[Session], filters: ResultFilter) -> Path:
    """Every match written, one chunk at a time, to a temporary workbook (streamed by
    openpyxl's write-only mode: memory stays flat); the response deletes it once sent."""
    titles = _item_titles(factory)
    rows = (
        [_csv_value(convert.public_result(p, titles), name) for name in CSV_COLUMNS]
        for chunk in queries.iter_public_results(factory, filters)
        for p in chunk
    )
    handle, name = tempfile.mkstemp(prefix="inspect-results-", suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        write_sheet(path, "检查结果", CSV_COLUMNS, rows)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _csv_value(row: schemas.PublicResult, name: str) -> object:
    value = getattr(row, name)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


@router.get("/results/{publication_id}")
def get_result(
    session: SessionDep, publication_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]
) -> schemas.PublicResultDetail:
    """One published result with every published version (corrections are visible)."""
    found, versions = queries.public_result(session, publication_id)
    titles = queries.item_titles(session)
    return schemas.PublicResultDetail(
        **convert.public_result(found, titles).model_dump(),
        task_title=queries.task_title(session, found.task_code),
        history=[convert.public_result(v, titles) for v in versions],
    )


@router.get(
    "/results.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}, "description": "Atom feed"}},
)
def results_feed(request: Request, session: SessionDep) -> Response:
    """The latest publications, corrections and withdrawals."""
    changes = queries.latest_changes(session, FEED_ENTRIES)
    titles = queries.item_titles(session)
    latest = audit.latest_published_head(session)  # readers' copies keep the heads too
    head = f"{latest.sequence}:{latest.entry_hash}" if latest is not None else None
    body = atom_feed(str(request.base_url).rstrip("/"), changes, titles, head)
    return Response(body, media_type="application/atom+xml; charset=utf-8")


def atom_feed(
    base: str, changes: list[Publication], titles: dict[str, str], head: str | None = None
) -> bytes:
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", "双随机、一公开 抽查检查结果公示")
    if head is not None:
        _text(feed, "subtitle", f"审计日志链头（最近公布）{head}")
        ET.SubElement(feed, f"{{{ATOM}}}link", rel="related", href=f"{base}/public/audit/heads")
    _text(feed, "id", f"{base}/public/results.atom")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/public/results.atom")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=f"{base}/results")
    moments = [convert.aware(p.updated_at) or datetime.now(UTC) for p in changes]
    _text(feed, "updated", _atom_time(max(moments, default=datetime.now(UTC))))
    for p in changes:
        row = convert.public_result(p, titles)
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        state = {"current": "更正" if row.corrected else "公示", "corrected": "已更正"}.get(
            p.state, "撤回"
        )
        _text(
            entry, "title", f"[{state}] {row.enterprise_name} {row.item_title}：{row.result_label}"
        )
        _text(entry, "id", f"{base}/results/{p.id}#{p.state}-{p.version}")
        _text(entry, "updated", _atom_time(convert.aware(p.updated_at) or datetime.now(UTC)))
        _text(entry, "published", _atom_time(row.published_at))
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=f"{base}/results/{p.id}")
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(author, "name", row.department)
        summary = (
            f"统一社会信用代码 {row.credit_code}；检查日期 {row.inspected_on.isoformat()}；"
            f"任务 {row.task_code}；结果 {row.result_label}"
        )
        if row.reason:
            summary += f"；说明 {row.reason}"
        _text(entry, "summary", summary)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


PLAN_STATE_WORDS = {"frozen": "已冻结、待摇号", "drawing": "摇号中", "draw_failed": "摇号失败",
                    "drawn": "已摇号", "assigned": "已派员", "published": "已公示"}  # fmt: skip


def commitments_feed(base: str, views: list[queries.CommitmentView]) -> bytes:
    """Atom, with each value also as an element of the COMMITMENT namespace (machine use)."""
    ET.register_namespace("", ATOM)
    ET.register_namespace("ie", COMMITMENT)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", "双随机、一公开 抽查计划承诺值")
    _text(feed, "id", f"{base}/public/plans.atom")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}/public/plans.atom")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=f"{base}/plans")
    updated = ET.SubElement(feed, f"{{{ATOM}}}updated")
    moments = [_commitment_entry(feed, base, view) for view in views]
    for view in views:
        moments += [_voided_entry(feed, base, view.plan.month, v) for v in view.voided]
    updated.text = _atom_time(max(moments, default=datetime.now(UTC)))
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body


def _commitment_entry(feed: ET.Element, base: str, view: queries.CommitmentView) -> datetime:
    plan = view.plan
    committed = convert.aware(plan.committed_at) or datetime.now(UTC)
    later = [convert.aware(plan.drawn_at), convert.aware(plan.published_at)]
    updated = max(
        [committed, *(m for m in later if m), convert.aware(view.last_event_at) or committed]
    )
    values = {
        "month": plan.month,
        "status": plan.status,
        "commitment": plan.commitment,
        "committed_at": _atom_time(committed),
        "group_hash": plan.group_hash,
        "staffing_hash": plan.staffing_hash,
        "contribution_source": plan.contribution_source,
        "contribution": plan.contribution,  # public from its acceptance on
        "seed": plan.seed,
        "team_events": str(view.team_events),
    }
    state = PLAN_STATE_WORDS.get(plan.status, plan.status)
    title = f"{plan.month} 抽查计划承诺值 {plan.commitment}（{state}）"
    lines = [
        f"承诺值 {plan.commitment}",
        f"承诺时间 {values['committed_at']}",
        f"抽查对象分组哈希 {plan.group_hash}",
        f"执法人员名录快照哈希 {plan.staffing_hash or '—'}",
        f"外部随机数来源 {plan.contribution_source or '—'}",
    ]
    if plan.contribution is not None:
        lines.append(f"外部随机数 {plan.contribution}")
    if plan.seed is not None:
        lines.append(f"种子 {plan.seed}")
    lines.append(f"冻结后人员变动事件 {view.team_events} 项")
    _entry(feed, base, plan.month, plan.commitment or "", title, committed, updated,
           "；".join(lines), values)  # fmt: skip
    return updated


def _voided_entry(feed: ET.Element, base: str, month: str, voided: dict[str, Any]) -> datetime:
    committed = datetime.fromisoformat(voided["committed_at"].replace("Z", "+00:00"))
    updated = datetime.fromisoformat(voided["voided_at"].replace("Z", "+00:00"))
    values = {"month": month, "status": "voided", "commitment": voided["commitment"],
              "committed_at": _atom_time(committed), "voided_at": _atom_time(updated),
              "reason": voided["reason"]}  # fmt: skip
    title = f"{month} 抽查计划承诺值 {voided['commitment']}（已作废）"
    summary = (
        f"承诺值 {voided['commitment']} 于 {_atom_time(updated)} 公开作废（随机数丢失、"
        f"重新冻结）；原因 {voided['reason']}"
    )
    _entry(feed, base, month, voided["commitment"], title, committed, updated, summary, values)
    return updated


def _entry(
    feed: ET.Element,
    base: str,
    month: str,
    commitment: str,
    title: str,
    published: datetime,
    updated: datetime,
    summary: str,
    values: dict[str, str | None],
) -> None:
    """One commitment's entry; its id stays the same from the freeze to a voiding."""
    entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
    _text(entry, "title", title)
    _text(entry, "id", f"{base}/plans/{month}#commitment-{commitment}")
    _text(entry, "updated", _atom_time(updated))
    _text(entry, "published", _atom_time(published))
    ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=f"{base}/plans/{month}")
    ET.SubElement(
        entry, f"{{{ATOM}}}link", rel="related", type="application/json",
        href=f"{base}/public/plans/{month}",
    )  # fmt: skip
    author = ET.SubElement(entry, f"{{{ATOM}}}author")
    _text(author, "name", "市场监督管理局")
    _text(entry, "summary", summary)
    for name, value in values.items():
        if value is not None:
            ET.SubElement(entry, f"{{{COMMITMENT}}}{name}").text = value


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = text


def _atom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get(
    "/estimates/{month}",
    summary="Population estimates of a month (Horvitz–Thompson, 95% intervals)",
    response_class=JSONResponse,
)
def get_estimates(session: SessionDep, month: MonthPath) -> JSONResponse:
    """The share of the frames' enterprises where a visit finds a problem, overall, by
    industry section and by district, from the published results weighted by 1/π."""
    return JSONResponse(queries.published_estimates(session, month))


@router.get(
    "/estimates/{month}/chart.png",
    summary="The month's estimates as a chart",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def estimates_chart(session: SessionDep, month: MonthPath) -> Response:
    from inspect_engine.publication.charts import estimates_chart as draw_chart

    png = draw_chart(queries.published_estimates(session, month))
    return Response(png, media_type="image/png")


@router.get("/enterprises/{credit_code}")
def get_enterprise(
    session: SessionDep,
    credit_code: Annotated[str, PathParam(min_length=18, max_length=18)],
) -> schemas.PublicEnterprise:
    """An enterprise's registered facts and its published results (never its risk class)."""
    enterprise, results = queries.public_enterprise(session, credit_code)
    titles = queries.item_titles(session)
    return schemas.PublicEnterprise(
        credit_code=enterprise.credit_code,
        name=enterprise.name,
        district=enterprise.district,
        entity_type=enterprise.entity_type,
        industry=enterprise.industry,
        status=enterprise.status,
        results=[convert.public_result(p, titles) for p in results],
    )


# --------------------------------------------------------------------------- audit heads


def audit_heads(session: Session, limit: int, cursor: str | None) -> schemas.AuditHeadsOut:
    """The published heads, newest first (shared by the page and the JSON). Stored rows
    only: no count of the whole log per anonymous request."""
    key = decode_cursor(cursor, int)
    rows = audit.published_heads(session, before_id=key[0] if key else None, limit=limit + 1)
    kept, next_cursor = page(rows, limit, lambda h: [h.id])
    latest = rows[0] if key is None and rows else audit.latest_published_head(session)
    return schemas.AuditHeadsOut(
        latest=_head_out(latest) if latest is not None else None,
        published=Page(items=[_head_out(h) for h in kept], next_cursor=next_cursor),
    )


def _head_out(row: PublishedHead) -> schemas.PublishedHeadOut:
    return schemas.PublishedHeadOut(
        sequence=row.sequence,
        entry_hash=row.entry_hash,
        head=f"{row.sequence}:{row.entry_hash}",
        occasion=row.occasion,
        subject=row.subject,
        published_at=row.published_at.replace(tzinfo=row.published_at.tzinfo or UTC),
    )


@router.get("/audit/heads")
def public_audit_heads(
    session: SessionDep, limit: Limit = 100, cursor: Cursor = None
) -> schemas.AuditHeadsOut:
    """The audit log's heads (审计日志链头) published daily and at each freeze, draw and
    publication, newest first. Anyone may keep them: `inspect-engine audit verify
    --expect-head SEQ:HASH` then shows whether the log was rewritten since."""
    return audit_heads(session, limit, cursor)
