"""The supervisors' progress board: the month per task, district and department (drawn,
assigned, visited, reported, reviewed, published, overdue), the inspectors with visits
still open, the results changed by hand and the staffing events (changes after the
freeze, manual or imported) — as a phone page (`/board/{month}`, signed in through
/login) and as JSON (`/supervisor/board/{month}`, bearer token).

A supervisor sees the part of the month that concerns his departments; an admin all."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api import labels
from api.deps import (
    SessionDep,
    SettingsDep,
    SupervisorUser,
    actor,
    require_whole_plan,
    scope_of,
)
from api.routes.field import login_redirect, message, render, signed_in, this_month
from api.schemas import MONTH_PATTERN
from inspect_engine.liaison import courier_from_settings
from inspect_engine.workflows import field
from inspect_engine.workflows.changes import enterprise_changes
from inspect_engine.workflows.users import Role

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
api = APIRouter(prefix="/supervisor", tags=["supervisor"])

MonthPath = Annotated[str, PathParam(pattern=MONTH_PATTERN, examples=["2026-12"])]
AsOf = Annotated[
    date | None,
    Query(description="the day overdue is judged on (default: today in Asia/Shanghai)"),
]


class ProgressOut(BaseModel):
    """One line of the board: visits by stage (cumulative), then results by item."""

    model_config = ConfigDict(from_attributes=True)

    key: str = Field(examples=["2026-12-FOOD"], description="task code, district or department")
    drawn: int = Field(examples=[120], description="visits drawn")
    assigned: int = Field(examples=[118], description="visits with a current team")
    visited: int = Field(examples=[64], description="visits with a reported result")
    confirmed: int = Field(examples=[40], description="visits the enterprise recorded")
    unverified: int = Field(
        examples=[5],
        description="of confirmed: recorded with the team's code, no liaison channel "
        "(channel not verified)",
    )
    items: int = Field(examples=[240], description="(visit, item) results to report")
    reported: int = Field(examples=[120])
    returned: int = Field(examples=[3], description="sent back to the team")
    reviewed: int = Field(examples=[100])
    published: int = Field(examples=[90])
    withdrawn: int = Field(examples=[1])
    overdue: int = Field(examples=[2], description="unpublished after 20 working days")
    carried: int = Field(
        0,
        examples=[6],
        description="of drawn: visits carried over from last month (结转), scheduled first",
    )


class OpenInspectorOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    inspector_id: str = Field(examples=["440106S0001"])
    name: str = Field(examples=["张三"])
    department: str = Field(examples=["SAMR"])
    unit: str = Field(examples=["440106-01"])
    open_visits: int = Field(examples=[3])
    visits: int = Field(examples=[12])


class ManualChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(examples=["correction"], description="correction|withdrawal of a result")
    at: datetime
    visit_code: str = Field(examples=["2026-12-000017"])
    subject: str = Field(examples=["FOOD-01"], description="the item whose result changed")
    change: str = Field(examples=["no_problem → corrected"])
    reason: str | None = Field(examples=["企业异议，复核后更正"])
    by: str | None = Field(examples=["wang"], description="the user named by the audit log")


class TeamChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    visit_code: str = Field(examples=["2026-12-000017"])
    removed: list[str] = Field(examples=[["440106S0001"]])
    added: list[str] = Field(examples=[["440106S0003"]])
    unstaffed: str | None = Field(
        examples=[None], description="why the visit lost its team (no lawful replacement)"
    )
    moved: tuple[str, str] | None = Field(
        default=None,
        examples=[["2026-12-14", "2026-12-16"]],
        description="ie-teams-v2: the visit's day moved (from, to); supervisors only",
    )
    reason: str | None = Field(
        None, examples=[None], description="why the members left (carried teams' re-check)"
    )


class StaffingEventOut(BaseModel):
    """A change to the frozen staffing, as the plan's hash-chained `team_events` hold it."""

    model_config = ConfigDict(from_attributes=True)

    seq: int = Field(examples=[1], description="its place in the plan's chain")
    kind: str = Field(
        examples=["withdraw"],
        description="conflict|leave|certificate|deactivate|withdraw|holiday",
    )
    manual: bool = Field(description="a supervisor's withdraw; the other kinds are imported")
    at: datetime
    by: str = Field(examples=["wang"])
    source: str = Field(examples=["month reassign"], description="the import or command")
    reason: str | None = Field(examples=["病假"])
    inspector_id: str = Field(examples=["440106S0001"])
    detail: str = Field(examples=["91440101MA5ABCDE1X"], description="credit code, days, last day")
    applied: bool = Field(description="applied to stored teams (else replayed by the team draw)")
    teams: list[TeamChangeOut] = Field(description="what it changed, per visit")
    event_hash: str


class EnterpriseChangeOut(BaseModel):
    """An enterprise whose status or licences an import changed: it leaves or enters every
    department's frames, so supervisors see it beside the changes made by hand."""

    model_config = ConfigDict(from_attributes=True)

    at: datetime
    credit_code: str = Field(examples=["91440106MA5D0XXXX1"])
    name: str | None = Field(examples=["某某餐饮有限公司"])
    changes: dict[str, list[str | None]] = Field(
        examples=[{"status": ["active", "revoked"]}], description="column: [before, after]"
    )
    by: str = Field(examples=["admin"], description="who imported the file")
    change_log: int = Field(description="the import's full change list (import_change_logs)")


class BoardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    month: str = Field(examples=["2026-12"])
    as_of: date
    overdue_before: date = Field(description="unpublished results inspected before are overdue")
    overdue_provisional: bool = Field(
        description="暂定: the cutoff counts days of a year whose official calendar is not "
        "imported yet"
    )
    total: ProgressOut
    tasks: list[ProgressOut]
    districts: list[ProgressOut]
    departments: list[ProgressOut]
    inspectors: list[OpenInspectorOut] = Field(description="inspectors with visits still open")
    changes: list[ManualChangeOut] = Field(description="results corrected or withdrawn by hand")
    events: list[StaffingEventOut] = Field(description="changes of the staffing after the freeze")
    manual_events: int = Field(examples=[1], description="events made by hand (withdraws)")
    directory_events: int = Field(examples=[3], description="events from directory imports")
    carried_changes: list[TeamChangeOut] = Field(
        default_factory=list,
        description="结转: what the re-check of the carried-over teams changed at the team draw",
    )
    enterprise_changes: list[EnterpriseChangeOut] = Field(
        default=[], description="the month's enterprise status and licence changes (first 200)"
    )
    enterprise_changes_total: int = 0
    task_titles: dict[str, str] = Field(examples=[{"2026-12-FOOD": "餐饮联合抽查"}])


class VerifyCodesOut(BaseModel):
    month: str = Field(examples=["2026-12"])
    issued: int = Field(examples=[1834], description="visits that received a code now")


@api.get(
    "/board/{month}",
)
def board_json(
    session: SessionDep, user: SupervisorUser, month: MonthPath, as_of: AsOf = None
) -> BoardOut:
    """The month's progress board (the figures of /board/{month})."""
    board = field.month_board(session, month, departments=scope_of(user), as_of=as_of)
    directory = enterprise_changes(session, month)
    return BoardOut.model_validate(board, from_attributes=True).model_copy(
        update={
            "enterprise_changes": [
                EnterpriseChangeOut.model_validate(c) for c in directory.changes
            ],
            "enterprise_changes_total": directory.total,
        }
    )


@api.post("/plans/{month}/verify-codes")
def issue_verify_codes(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    month: MonthPath,
) -> VerifyCodesOut:
    """Give every staffed visit of the month its team's code (核验码) now, before the
    documents are printed (idempotent; documents also issue it on first rendering), and
    send each enterprise with a liaison its confirmation code (again where it failed)."""
    require_whole_plan(session, user, month)
    courier = courier_from_settings(settings, str(request.base_url))
    issued = field.issue_verify_codes(session, month, actor=actor(user), courier=courier)
    return VerifyCodesOut(month=month, issued=issued)


@router.get("/board")
def board_now() -> Response:
    return RedirectResponse(f"/board/{this_month()}", status_code=303)


@router.get("/board/{month}")
def board_page(
    request: Request, session: SessionDep, month: MonthPath, as_of: AsOf = None
) -> Response:
    user = signed_in(request, session)
    if user is None:
        return login_redirect(request)
    if user.role not in (Role.SUPERVISOR, Role.ADMIN):
        return message(request, 403, "无权访问", "进度看板仅供监管人员使用。")
    board = field.month_board(session, month, departments=scope_of(user), as_of=as_of)
    return render(
        request,
        "field/board.html",
        user=user,
        board=board,
        directory=enterprise_changes(session, month),
        task_label=lambda code: f"{code} {board.task_titles.get(code, '')}",
        district_label=labels.district,
        department_label=labels.department,
        previous=_shift(month, -1),
        following=_shift(month, 1),
    )


def _shift(month: str, step: int) -> str:
    year, number = int(month[:4]), int(month[5:]) - 1 + step
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"
