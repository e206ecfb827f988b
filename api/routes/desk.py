"""The supervisor's desk: the whole month in the browser (`/desk`, `/desk/{month}`).

Server-rendered pages in Chinese over the same use cases as the CLI and the API: upload
the tasks, preview, freeze (with the declared source of the contribution), the printable
announcement, the draw, the teams and re-assignments, results review, publication and the
month's close, and the downloads. Signed in through /login; every form carries the
session's CSRF token. A refused action (state, department, input) rolls back and shows
the month page again with the reason; nothing half-done is committed."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from api.deps import (
    SessionDep,
    SettingsDep,
    actor,
    exclusion_policy,
    plan_departments,
    request_steps,
    require_whole_plan,
    scope_of,
)
from api.routes.field import check_csrf, login_redirect, message, render, signed_in
from api.schemas import MONTH_PATTERN
from api.uploads import saved_upload
from inspect_engine.documents import FontMissing
from inspect_engine.documents.announcement import Announcement, render_announcement
from inspect_engine.errors import Conflict, DomainError, InvalidInput, NotFound
from inspect_engine.formats.xlsx_out import XLSX_MEDIA_TYPE
from inspect_engine.settings import Settings
from inspect_engine.workflows import carryover, closing, drawing, planning, preview, results
from inspect_engine.workflows.assignment import assign_month, reassign_inspector
from inspect_engine.workflows.imports import ImportRejected
from inspect_engine.workflows.month_export import write_visit_sheet, write_visits
from inspect_engine.workflows.users import Forbidden, NotAuthenticated, Principal, Role
from models import AssignmentRun, Plan, Task, TeamMember, Visit

router = APIRouter(prefix="/desk", default_response_class=HTMLResponse, include_in_schema=False)

MonthPath = Annotated[str, PathParam(pattern=MONTH_PATTERN, examples=["2026-12"])]
Csrf = Annotated[str | None, Form(max_length=64)]
Reason = Annotated[str, Form(max_length=500)]
STATUS_OF = {NotFound: 404, Conflict: 409, InvalidInput: 422, Forbidden: 403}
STATE_NAMES = {
    "planned": "待冻结",
    "frozen": "已冻结，待摇号",
    "drawing": "摇号中",
    "draw_failed": "摇号失败（已记录）",
    "drawn": "已摇号，待分配检查组",
    "assigned": "已分配检查组",
    "published": "已公示",
}
DONE = {
    "tasks": "抽查任务已上传。",
    "freeze": "名录已冻结，承诺值已生成。请打印公告并公开。",
    "draw": "摇号已完成。",
    "assign": "检查组已分配。",
    "reassign": "已调出该检查人员，其户次已按规则替换。",
    "review": "审核意见已保存。",
    "publish-plan": "抽查计划已公示。",
    "publish-results": "已审核的结果已公示。",
    "close": "本月已结束：未检查的户次已结转。",
}
VISITS_SHOWN = 200  # the page lists this many visits; the sampling list holds them all


# --------------------------------------------------------------------------- who


def desk_user(request: Request, session: SessionDep) -> Principal | None:
    """The signed-in supervisor or admin, else None (the route answers accordingly)."""
    user = signed_in(request, session)
    if user is None or user.role not in (Role.SUPERVISOR, Role.ADMIN):
        return None
    return user


DeskUser = Annotated[Principal | None, Depends(desk_user)]


async def desk_form(request: Request, user: DeskUser) -> AsyncIterator[FormData | None]:
    """The upload's multipart form, read only once a supervisor is signed in."""
    if user is None:
        yield None
        return
    form = await request.form(max_files=1, max_fields=8)
    try:
        yield form
    finally:
        await form.close()


UploadForm = Annotated[FormData | None, Depends(desk_form)]


def _not_allowed(request: Request, session: Session) -> Response:
    if signed_in(request, session) is None:
        return login_redirect(request)
    return message(request, 403, "无权访问", "工作台仅供监管人员使用。")


# --------------------------------------------------------------------------- pages


def _my_months(session: Session, user: Principal) -> list[dict[str, Any]]:
    months = []
    for plan in session.scalars(select(Plan).order_by(Plan.month.desc())):
        departments = plan_departments(session, plan.month)
        if not user.is_admin and not departments & user.departments:
            continue
        months.append(
            {
                "month": plan.month,
                "status": STATE_NAMES.get(plan.status, plan.status),
                "departments": sorted(departments),
                "whole": user.covers(departments),
            }
        )
    return months


@router.get("")
def desk_home(request: Request, session: SessionDep, user: DeskUser) -> Response:
    if user is None:
        return _not_allowed(request, session)
    return render(
        request,
        "desk/months.html",
        user=user,
        months=_my_months(session, user),
        this_month=results.today_in_shanghai().strftime("%Y-%m"),
    )


@router.get("/go")
def desk_go(month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None) -> Response:
    """The month chosen in the form of /desk (a plain GET form: no JavaScript)."""
    return RedirectResponse(f"/desk/{month}" if month else "/desk", status_code=303)


def _month_context(
    session: Session, settings: Settings, user: Principal, month: str
) -> dict[str, Any]:
    plan = session.scalars(select(Plan).where(Plan.month == month)).first()
    context: dict[str, Any] = {"month": month, "plan": plan, "state": None}
    if plan is None:
        return context
    departments = plan_departments(session, month)
    query = select(Task).where(Task.plan_id == plan.id).order_by(Task.task_code)
    tasks = list(session.scalars(query))
    context.update(
        state=STATE_NAMES.get(plan.status, plan.status),
        departments=sorted(departments),
        whole=user.covers(departments),
        tasks=tasks,
        previews=_previews(session, settings, plan),
        frozen=plan.status != "planned",
        drawn=plan.status in planning.DRAWN_STATES,
        staffed=plan.status in ("assigned", "published"),
    )
    if context["drawn"]:
        context["visits"] = _visits(session, plan, scope_of(user))
        context["visit_count"] = (
            session.query(Visit).filter(carryover.of_plan(plan.id)).count()  # with 结转
        )
        context["runs"] = list(
            session.scalars(
                select(AssignmentRun)
                .where(AssignmentRun.plan_id == plan.id)
                .order_by(AssignmentRun.id.desc())
                .limit(5)
            )
        )
        context["submitted"] = results.list_results(
            session, departments=scope_of(user), status="submitted", month=month, limit=100
        )
        context["reviewed"] = len(
            results.list_results(
                session, departments=scope_of(user), status="reviewed", month=month, limit=1000
            )
        )
    return context


def _previews(session: Session, settings: Settings, plan: Plan) -> list[dict[str, Any]]:
    """Per task: frame size and λ per class (requested ratio beside it), expected visits."""
    if plan.status != "planned":
        return []  # the frozen frames are shown instead (the commitment covers them)
    try:
        found = preview.preview_month(session, plan.month, exclusion_policy(settings))
    except DomainError:
        return []
    return [s.as_dict() for s in found]


def _visits(session: Session, plan: Plan, scope: frozenset[str] | None) -> list[dict[str, Any]]:
    """The first visits of the month, those carried over from last month (结转, older codes)
    first; a supervisor sees those of his departments only."""
    query = select(Visit).where(carryover.of_plan(plan.id)).order_by(Visit.visit_code)
    rows = [
        v for v in session.scalars(query.limit(VISITS_SHOWN)) if scope is None
        or scope & set(v.departments)
    ]  # fmt: skip
    teams: dict[int, list[str]] = {}
    members = select(TeamMember.visit_id, TeamMember.inspector_id).where(
        TeamMember.visit_id.in_([v.id for v in rows]), TeamMember.replaced_at.is_(None)
    )
    for visit_id, inspector_id in session.execute(members.order_by(TeamMember.inspector_id)):
        teams.setdefault(visit_id, []).append(inspector_id)
    return [
        {
            "code": v.visit_code,
            "credit_code": v.credit_code,
            "tasks": v.task_codes,
            "status": v.status,
            "team": teams.get(v.id, []),
            "carried": v.plan_id != plan.id,
        }
        for v in rows
    ]


def _month_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: Principal,
    month: str,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    context = _month_context(session, settings, user, month)
    return render(request, "desk/month.html", status_code, user=user, **context, **extra)


@router.get("/{month}")
def month_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    done: str | None = None,
) -> Response:
    if user is None:
        return _not_allowed(request, session)
    return _month_page(request, session, settings, user, month, done=DONE.get(done or ""))


# --------------------------------------------------------------------------- actions


def _act(
    request: Request,
    session: Session,
    settings: Settings,
    user: Principal | None,
    month: str,
    csrf: str | None,
    done: str,
    action: Callable[[Principal], object],
) -> Response:
    """Runs one action: CSRF first, then the use case; a refusal rolls the request's work
    back and shows the month page with the reason (never a stack trace)."""
    if user is None:
        return _not_allowed(request, session)
    try:
        check_csrf(settings, request, csrf)
        action(user)
    except ImportRejected as exc:
        session.rollback()
        return _month_page(
            request, session, settings, user, month, 422, error=_refusal(exc), rows=exc.errors,
            more=exc.total - len(exc.errors),
        )  # fmt: skip
    except (DomainError, NotAuthenticated) as exc:
        session.rollback()
        return _month_page(
            request, session, settings, user, month, _status(exc), error=_refusal(exc)
        )
    return RedirectResponse(f"/desk/{month}?done={done}#{done}", status_code=303)


def _status(exc: DomainError) -> int:
    """An expired form is 403; any other refusal by the rules (a failed draw among them,
    recorded) clashes with the month's state unless it is one of the kinds named."""
    if isinstance(exc, NotAuthenticated):
        return 403
    return next((c for kind, c in STATUS_OF.items() if isinstance(exc, kind)), 409)


def _refusal(exc: DomainError) -> str:
    """The use case's reason, headed in Chinese by what kind of refusal it is."""
    if isinstance(exc, ImportRejected):
        return f"文件有 {exc.total} 处错误，未导入任何内容。"
    if isinstance(exc, NotAuthenticated):
        return "表单已过期，请刷新页面后重新提交。"
    heading = {
        Forbidden: "无权操作",
        Conflict: "当前状态不允许此操作",
        InvalidInput: "输入有误",
        NotFound: "未找到",
    }
    title = next((t for kind, t in heading.items() if isinstance(exc, kind)), "操作被拒绝")
    return f"{title}：{exc.message}"


@router.post("/{month}/tasks")
def upload_tasks(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    form: UploadForm,
) -> Response:
    def act(who: Principal) -> None:
        assert form is not None
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InvalidInput("请选择抽查任务文件（CSV）")
        if session.scalars(select(Plan.id).where(Plan.month == month)).first() is not None:
            require_whole_plan(session, who, month)  # the tasks it replaces
        with saved_upload(upload) as path:
            planning.plan_month(session, month, path, actor=actor(who))
        require_whole_plan(session, who, month)  # the tasks it brings

    csrf = form.get("csrf") if form is not None else None
    token = csrf if isinstance(csrf, str) else None
    return _act(request, session, settings, user, month, token, "tasks", act)


@router.post("/{month}/freeze")
def freeze(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    source: Annotated[str, Form(max_length=planning.MAX_SOURCE)] = "",
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        if not source.strip():
            raise InvalidInput("请填写公开随机数的来源（例如：当日某彩票开奖号码）")
        require_whole_plan(session, who, month)
        planning.freeze_month(
            session, month, exclusion_policy(settings), actor=actor(who), source=source.strip(),
            recusal_window_days=settings.recusal_window_days, nonce_key=settings.sealing_key(),
            max_visits_per_day=settings.max_visits_per_day,
        )  # fmt: skip

    return _act(request, session, settings, user, month, csrf, "freeze", act)


@router.post("/{month}/draw")
def draw(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    contribution: Annotated[str, Form(max_length=planning.MAX_CONTRIBUTION)] = "",
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        require_whole_plan(session, who, month)
        drawing.draw_recorded(
            request_steps(session), month, contribution, actor=actor(who),
            nonce_key=settings.sealing_key(),
        )  # fmt: skip

    return _act(request, session, settings, user, month, csrf, "draw", act)


@router.post("/{month}/assign")
def assign(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        require_whole_plan(session, who, month)
        assign_month(
            session, month, recusal_window_days=settings.recusal_window_days, actor=actor(who)
        )

    return _act(request, session, settings, user, month, csrf, "assign", act)


@router.post("/{month}/reassign")
def reassign(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    inspector_id: Annotated[str, Form(max_length=32)] = "",
    reason: Reason = "",
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        if not inspector_id.strip():
            raise InvalidInput("请填写要调出的检查人员执法证号")
        require_whole_plan(session, who, month)
        reassign_inspector(
            session, month, inspector_id.strip(), reason,
            recusal_window_days=settings.recusal_window_days, actor=actor(who),
        )  # fmt: skip

    return _act(request, session, settings, user, month, csrf, "reassign", act)


@router.post("/{month}/results/{result_id}")
def review(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    result_id: Annotated[int, PathParam(ge=1, le=2**62)],
    decision: Annotated[str, Form(pattern="^(approve|return)$")],
    reason: Reason = "",
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        found = results.get_result(session, result_id, departments=scope_of(who))
        if found.month != month:
            raise NotFound(f"result {result_id} is not part of {month}")
        if decision == "return" and not reason.strip():
            raise InvalidInput("退回时须填写原因")
        results.review_result(
            session, result_id, approve=decision == "approve", reason=reason.strip() or None,
            departments=scope_of(who), actor=actor(who),
        )  # fmt: skip

    return _act(request, session, settings, user, month, csrf, "review", act)


@router.post("/{month}/publish-plan")
def publish_plan(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        require_whole_plan(session, who, month)
        results.publish_plan(session, month, actor=actor(who))

    return _act(request, session, settings, user, month, csrf, "publish-plan", act)


@router.post("/{month}/publish-results")
def publish_results(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        results.publish_month(session, month, departments=scope_of(who), actor=actor(who))

    return _act(request, session, settings, user, month, csrf, "publish-results", act)


@router.post("/{month}/close")
def close(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: DeskUser,
    month: MonthPath,
    csrf: Csrf = None,
) -> Response:
    def act(who: Principal) -> None:
        require_whole_plan(session, who, month)
        closing.close_month(session, month, actor=actor(who))

    return _act(request, session, settings, user, month, csrf, "close", act)


# --------------------------------------------------------------------------- downloads


def _download_refused(request: Request, exc: DomainError) -> Response:
    return message(request, _status(exc), "无法下载", exc.message)


@router.get("/{month}/announcement.pdf", response_class=Response)
def announcement(
    request: Request, session: SessionDep, settings: SettingsDep, user: DeskUser, month: MonthPath
) -> Response:
    """公告: the commitment, group and staffing hashes, their time and the declared source."""
    if user is None:
        return _not_allowed(request, session)
    plan = session.scalars(select(Plan).where(Plan.month == month)).first()
    if plan is None:
        return message(request, 404, "没有该月计划", f"{month} 没有抽查计划。")
    if plan.commitment is None:
        return message(request, 409, "尚无公告", f"{month} 的名录尚未冻结，没有承诺值可公告。")
    frozen = planning.frozen_result(session, plan)
    named = select(Task.task_code, Task.title).where(Task.plan_id == plan.id)
    titles = dict(session.execute(named).tuples().all())
    notice = Announcement(
        month=month,
        issuer=str(getattr(settings, "document_issuer", None) or "市场监督管理局"),
        commitment=frozen.commitment,
        group_hash=frozen.group_hash,
        staffing_hash=frozen.staffing_hash,
        committed_at=frozen.committed_at,
        contribution_source=frozen.contribution_source,
        tasks=tuple((f.task_code, titles.get(f.task_code, ""), f.units) for f in frozen.frames),
    )
    try:
        pdf = render_announcement(notice, getattr(settings, "cjk_font", None))
    except FontMissing as exc:
        return message(request, 503, "无法生成公告", f"未安装中文字体：{exc}")
    name = quote(f"{month}-摇号公告.pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{name}"},
    )


@router.get("/{month}/visits.csv", response_class=Response)
def visits_list(
    request: Request, session: SessionDep, user: DeskUser, month: MonthPath
) -> Response:
    """The month's visits with their teams as CSV (visits.csv of `month export`)."""
    return _visit_download(request, session, user, month, "csv")


@router.get("/{month}/visits.xlsx", response_class=Response)
def visits_sheet(
    request: Request, session: SessionDep, user: DeskUser, month: MonthPath
) -> Response:
    """抽查名单: the month's visits with their teams (visits.xlsx of `month export`)."""
    return _visit_download(request, session, user, month, "xlsx")


def _visit_download(
    request: Request, session: Session, user: Principal | None, month: str, kind: str
) -> Response:
    if user is None:
        return _not_allowed(request, session)
    needed = plan_departments(session, month)
    if not user.covers(needed):  # the list names every department's enterprises and teams
        missing = "、".join(sorted(needed - user.departments))
        return message(request, 403, "无权下载", f"本月计划还涉及你不负责的部门：{missing}。")
    write = write_visit_sheet if kind == "xlsx" else write_visits
    try:
        with tempfile.TemporaryDirectory(prefix="inspect-desk-") as folder:
            path = Path(folder) / f"visits.{kind}"
            write(session, month, path, scope_of(user))
            body = path.read_bytes()
    except DomainError as exc:
        return _download_refused(request, exc)
    name = quote(f"{month}-抽查名单.{kind}")
    return Response(
        body,
        media_type=XLSX_MEDIA_TYPE if kind == "xlsx" else "text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )
