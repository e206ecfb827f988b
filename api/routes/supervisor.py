"""Supervisors (and admins): directories, items, the month's plan from tasks to teams,
results review, publication, corrections, overdue results and inspector outliers.

Department scope: a supervisor acts on the items of his departments; month-wide acts
(plan, freeze, draw, assign, publish the plan) need every department of the joint plan."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi import Path as PathParam
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import schemas
from api.convert import aware
from api.deps import (
    SessionDep,
    SettingsDep,
    SupervisorUser,
    actor,
    exclusion_policy,
    plan_departments,
    request_steps,
    require_whole_plan,
    scope_of,
)
from api.pagination import MAX_ID, Cursor, Limit, decode_cursor, page
from api.schemas import MONTH_PATTERN, Page
from api.uploads import UPLOAD_BODY, CsvUpload, saved_upload
from inspect_engine.formats.spec import FORMATS
from inspect_engine.liaison import courier_from_settings
from inspect_engine.workflows import drawing, planning, preview, results, sizing
from inspect_engine.workflows.imports import import_file
from inspect_engine.workflows.users import Forbidden
from models import Item, Plan, Publication, Task

router = APIRouter(prefix="/supervisor", tags=["supervisor"])

MonthPath = Annotated[str, PathParam(pattern=MONTH_PATTERN, examples=["2026-12"])]
ResultId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
ImportKind = Annotated[
    str,
    PathParam(
        pattern="^(" + "|".join(FORMATS) + ")$",
        description="one of: " + ", ".join(FORMATS),
        examples=["items"],
    ),
]


# --------------------------------------------------------------------------- directories


@router.post("/imports/{kind}", openapi_extra=UPLOAD_BODY)
def upload_directory(
    session: SessionDep, user: SupervisorUser, kind: ImportKind, file: CsvUpload
) -> schemas.ImportReportOut:
    """Import a directory or history file: the same validation as `inspect-engine import`
    (all-or-nothing, row-numbered errors as a 422 problem, idempotent)."""
    with saved_upload(file) as path:
        report = import_file(session, kind, path, actor=actor(user), principal=user)
    return schemas.ImportReportOut(
        kind=kind,
        rows=report.rows,
        new_rows=report.new_rows,
        changed_rows=report.changed_rows,
        warnings=report.warnings,
    )


@router.get("/items")
def list_items(
    session: SessionDep, user: SupervisorUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[schemas.ItemOut]:
    """The inspection-item list (抽查事项清单) of your departments."""
    key = decode_cursor(cursor, str)
    query = select(Item).order_by(Item.item_code).limit(limit + 1)
    scope = scope_of(user)
    if scope is not None:
        query = query.where(Item.department.in_(sorted(scope)))
    if key is not None:
        query = query.where(Item.item_code > key[0])
    kept, next_cursor = page(list(session.scalars(query)), limit, lambda i: [i.item_code])
    return Page(
        items=[schemas.ItemOut.model_validate(i, from_attributes=True) for i in kept],
        next_cursor=next_cursor,
    )


# --------------------------------------------------------------------------- the plan


def _plan_status(session: Session, month: str) -> schemas.PlanStatus:
    plan = planning.get_plan(session, month)
    tasks = session.scalars(
        select(Task.task_code).where(Task.plan_id == plan.id).order_by(Task.task_code)
    )
    return schemas.PlanStatus(
        month=plan.month,
        status=plan.status,
        tasks=list(tasks),
        departments=sorted(plan_departments(session, month)),
        commitment=plan.commitment,
        committed_at=aware(plan.committed_at),
        seed=plan.seed,
        published_at=aware(plan.published_at),
        summary=dict(plan.summary or {}),
    )


@router.get("/plans/{month}")
def get_plan(session: SessionDep, user: SupervisorUser, month: MonthPath) -> schemas.PlanStatus:
    return _plan_status(session, month)


@router.post("/plans/{month}/tasks", status_code=status.HTTP_201_CREATED, openapi_extra=UPLOAD_BODY)
def upload_tasks(
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    month: MonthPath,
    file: CsvUpload,
    fit_capacity: Annotated[
        bool, Query(description="size the draw to the staff (λ per task and class)")
    ] = False,
) -> schemas.PlanTasksOut:
    """Create the month's plan from tasks.csv, or replace its tasks until it is frozen.
    The tasks are held against the staff: a warning where their ratios would ask more
    inspector-visits than the staff holds, or, with `fit_capacity`, λ sized to it (refused
    with the shortfall per department and office when the mandated minimums do not fit)."""
    exists = session.scalars(select(Plan.id).where(Plan.month == month)).first() is not None
    if exists:
        require_whole_plan(session, user, month)  # the tasks it replaces
    with saved_upload(file) as path:
        summary = planning.plan_month(
            session, month, path, actor=actor(user), principal=user,
            policy=exclusion_policy(settings), fit_capacity=fit_capacity,
            utilisation=settings.utilisation,
        )  # fmt: skip
    require_whole_plan(session, user, month)  # the tasks it brings (rolled back if not)
    return schemas.PlanTasksOut(
        month=summary.month,
        tasks=list(summary.tasks),
        warnings=list(summary.warnings),
        sizing=summary.sizing,
    )


@router.get("/plans/{month}/sizing")
def preview_sizing(
    session: SessionDep, settings: SettingsDep, user: SupervisorUser, month: MonthPath
) -> schemas.SizingOut:
    """The draw sized to the staff: the sizing kept with the plan, or (not yet sized, or
    its tasks changed) the optimiser's answer now, not stored. Refused (422) with the
    shortfall per department and office when the mandated minimums do not fit."""
    plan = planning.get_plan(session, month)
    # the staff's capacity per office and qualification, and every task's λ: the whole plan
    needed = plan_departments(session, month)
    if not user.covers(needed):
        missing = ", ".join(sorted(needed - user.departments))
        raise Forbidden(f"the plan for {month} also covers department(s) {missing}")
    if plan.sizing:
        return schemas.SizingOut(month=month, stored=True, sizing=plan.sizing)
    specs = planning.task_specs(session, plan, sized=False)
    found = sizing.size_plan(
        session, month, specs, exclusion_policy(settings), utilisation=settings.utilisation
    )
    return schemas.SizingOut(month=month, stored=False, sizing=sizing.stored(found))


@router.get("/plans/{month}/preview")
def preview_plan(
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    month: MonthPath,
    task_code: Annotated[str | None, Query(max_length=64)] = None,
) -> list[schemas.FramePreview]:
    """Each task's frame before freezing: units and expected sample per risk class, and
    the enterprises excluded per reason. Nothing is stored."""
    summaries = preview.preview_month(
        session, month, exclusion_policy(settings), task_code=task_code
    )
    return [schemas.FramePreview.model_validate(s.as_dict()) for s in summaries]


@router.post("/plans/{month}/freeze")
def freeze_plan(
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    month: MonthPath,
    source: Annotated[
        str | None,
        Query(max_length=500, description="where the contribution will come from, published"),
    ] = None,
) -> schemas.FreezeOut:
    """Freeze every frame and commit to the secret nonce. Publish the commitment, then
    fix the public contribution in a public act and send it to /draw (a separate request:
    the contribution can never come with the freeze)."""
    require_whole_plan(session, user, month)
    frozen = planning.freeze_month(
        session, month, exclusion_policy(settings), actor=actor(user), source=source,
        recusal_window_days=settings.recusal_window_days, nonce_key=settings.sealing_key(),
        max_visits_per_day=settings.max_visits_per_day,
    )  # fmt: skip
    return schemas.FreezeOut(
        month=frozen.month,
        group_hash=frozen.group_hash,
        commitment=frozen.commitment,
        committed_at=frozen.committed_at,
        staffing_hash=frozen.staffing_hash,
        contribution_source=frozen.contribution_source,
        frames=[
            schemas.FrozenFrameOut(
                task_code=f.task_code,
                frame_hash=f.frame_hash,
                units=f.units,
                expected_size=f.expected_size,
                exclusions=dict(f.exclusions),
            )
            for f in frozen.frames
        ],
        next_step="publish the commitment; then POST the public contribution to "
        f"/supervisor/plans/{month}/draw",
    )


@router.post("/plans/{month}/draw")
def draw_plan(
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    month: MonthPath,
    body: schemas.DrawIn,
) -> schemas.DrawOut:
    """The plan's one draw (a second request returns the first draw's records). The
    accepted contribution is committed first; a failure after it is recorded (state
    draw_failed), and the draw completes later only with the same contribution."""
    require_whole_plan(session, user, month)
    drawn = drawing.draw_recorded(
        request_steps(session),
        month,
        body.contribution,
        actor=actor(user),
        nonce_key=settings.sealing_key(),
    )
    return schemas.DrawOut(
        month=drawn.month,
        seed=drawn.seed,
        visits=drawn.visits,
        first_request=drawn.first_request,
        summary=dict(drawn.summary),
        tasks=[
            {"task_code": r["task_code"], "n": r["n"], "selected": len(r["selected"])}
            for r in drawn.records
        ],
    )


@router.post("/plans/{month}/assign")
def assign_plan(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: SupervisorUser,
    month: MonthPath,
) -> schemas.AssignOut:
    """Draw the inspector teams (the second random) with OR-Tools."""
    from inspect_engine.workflows.assignment import assign_month

    require_whole_plan(session, user, month)
    outcome = assign_month(
        session,
        month,
        recusal_window_days=settings.recusal_window_days,
        actor=actor(user),
        courier=courier_from_settings(settings, str(request.base_url)),
    )
    return schemas.AssignOut(
        month=outcome.month,
        visits=outcome.visits,
        staffed=outcome.staffed,
        unstaffed=[list(pair) for pair in outcome.unstaffed],
        partial=outcome.partial,
        first_request=outcome.first_request,
        fairness=dict(outcome.fairness),
    )


@router.post("/plans/{month}/publish")
def publish_plan(session: SessionDep, user: SupervisorUser, month: MonthPath) -> schemas.PlanStatus:
    """Approve and publish the plan once its teams are drawn."""
    require_whole_plan(session, user, month)
    results.publish_plan(session, month, actor=actor(user))
    return _plan_status(session, month)


# --------------------------------------------------------------------------- results


def _row(found: results.ResultRow) -> schemas.ResultRowOut:
    return schemas.ResultRowOut.model_validate(found, from_attributes=True)


@router.get("/results")
def list_results(
    session: SessionDep,
    user: SupervisorUser,
    status_: Annotated[
        str | None,
        Query(alias="status", pattern="^(" + "|".join(results.RESULT_STATUSES) + ")$"),
    ] = None,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[schemas.ResultRowOut]:
    """Results of your departments, e.g. `?status=submitted` for the review queue."""
    key = decode_cursor(cursor, int)
    rows = results.list_results(
        session,
        departments=scope_of(user),
        status=status_,
        month=month,
        after=key[0] if key else None,
        limit=limit + 1,
    )
    kept, next_cursor = page(rows, limit, lambda r: [r.result_id])
    return Page(items=[_row(r) for r in kept], next_cursor=next_cursor)


@router.get("/results/{result_id}")
def get_result(
    session: SessionDep, user: SupervisorUser, result_id: ResultId
) -> schemas.ResultRowOut:
    return _row(results.get_result(session, result_id, departments=scope_of(user)))


@router.post("/results/{result_id}/review")
def review_result(
    session: SessionDep, user: SupervisorUser, result_id: ResultId, body: schemas.ReviewIn
) -> schemas.ResultRowOut:
    """Approve a submitted result, or send it back to the team with a reason."""
    results.review_result(
        session,
        result_id,
        approve=body.decision == "approve",
        reason=body.reason,
        departments=scope_of(user),
        actor=actor(user),
    )
    return _row(results.get_result(session, result_id, departments=scope_of(user)))


@router.post("/results/import", openapi_extra=UPLOAD_BODY)
def import_results(
    session: SessionDep, user: SupervisorUser, file: CsvUpload
) -> schemas.ResultsImportOut:
    """results.csv (visit_id, item_code, result, inspected_on, note) entered by a
    supervisor: counts as reviewed. All-or-nothing, idempotent."""
    with saved_upload(file) as path:
        report = results.import_results(
            session, path, departments=scope_of(user), actor=actor(user)
        )
    return schemas.ResultsImportOut(
        rows=report.rows,
        new=report.new,
        updated=report.updated,
        unchanged=report.unchanged,
        warnings=report.warnings,
    )


@router.post("/results/publish")
def publish_results(
    session: SessionDep, user: SupervisorUser, body: schemas.PublishIn
) -> schemas.PublishOut:
    """Publish every reviewed result of the month in your departments (公示); each becomes
    a history row for next month's model."""
    report = results.publish_month(
        session, body.month, departments=scope_of(user), actor=actor(user)
    )
    return schemas.PublishOut(
        month=report.month,
        published=report.published,
        visits=report.visits,
        late=report.late,
        history_rows=report.history_rows,
    )


def _publication(p: Publication) -> schemas.PublicationOut:
    return schemas.PublicationOut(
        publication_id=p.id,
        result_id=p.result_id,
        state=p.state,
        version=p.version,
        result=p.result,
        reason=p.reason,
    )


@router.post("/results/{result_id}/correct")
def correct_result(
    session: SessionDep, user: SupervisorUser, result_id: ResultId, body: schemas.CorrectionIn
) -> schemas.PublicationOut:
    """Publish a corrected version of a published result, with the reason (the public
    sees the current version and that it was corrected)."""
    corrected = results.correct_result(
        session,
        result_id,
        result=body.result,
        reason=body.reason,
        inspected_on=body.inspected_on,
        note=body.note,
        departments=scope_of(user),
        actor=actor(user),
    )
    return _publication(corrected)


@router.post("/results/{result_id}/withdraw")
def withdraw_result(
    session: SessionDep, user: SupervisorUser, result_id: ResultId, body: schemas.WithdrawIn
) -> schemas.PublicationOut:
    """Withdraw a published result, with the reason shown to the public."""
    withdrawn = results.withdraw_result(
        session, result_id, reason=body.reason, departments=scope_of(user), actor=actor(user)
    )
    return _publication(withdrawn)


@router.get(
    "/overdue",
)
def overdue(
    session: SessionDep,
    user: SupervisorUser,
    as_of: Annotated[date | None, Query(description="default: today in Asia/Shanghai")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[schemas.OverdueOut]:
    """Results not published within 20 working days of the inspection (official calendar),
    oldest first."""
    key = decode_cursor(cursor, date, int)
    rows = results.overdue_results(
        session,
        as_of=as_of,
        departments=scope_of(user),
        after=(key[0], key[1]) if key else None,
        limit=limit + 1,
    )
    kept, next_cursor = page(rows, limit, lambda r: [r.inspected_on, r.result_id])
    return Page(
        items=[schemas.OverdueOut.model_validate(r, from_attributes=True) for r in kept],
        next_cursor=next_cursor,
    )


@router.get("/outliers")
def outliers(
    session: SessionDep,
    user: SupervisorUser,
    date_from: date,
    date_to: date,
    z_limit: Annotated[float, Query(gt=0, le=10)] = 3.0,
    flagged_only: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[schemas.OutlierOut]:
    """Inspector detection rates against expectation over a period (funnel-plot z-score),
    largest |z| first."""
    key = decode_cursor(cursor, int)
    found = results.inspector_outliers(
        session,
        date_from=date_from,
        date_to=date_to,
        departments=scope_of(user),
        z_limit=z_limit,
        flagged_only=flagged_only,
    )
    start = key[0] if key else 0
    kept = found[start : start + limit + 1]
    shown, next_cursor = page(kept, limit, lambda _: [start + limit])
    return Page(
        items=[schemas.OutlierOut.model_validate(o, from_attributes=True) for o in shown],
        next_cursor=next_cursor,
    )
