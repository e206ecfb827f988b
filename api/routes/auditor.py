"""Auditors (and admins): read-only access to everything, including the frames and the
full draw records the public never sees (λ per enterprise reveals its risk class)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy import select

from api import schemas
from api.convert import aware
from api.deps import AuditorUser, SessionDep
from api.pagination import MAX_ID, Cursor, Limit, decode_cursor, page
from api.schemas import MONTH_PATTERN, Page
from inspect_engine.workflows.audit import ChainHead, verify_audit_chain
from inspect_engine.workflows.changes import import_changes
from inspect_engine.workflows.planning import auditor_record
from models import AuditEntry, Frame, Plan, Task

router = APIRouter(prefix="/auditor", tags=["auditor"])


@router.get("/draws/{task_code}")
def full_record(
    session: SessionDep,
    user: AuditorUser,
    task_code: Annotated[str, PathParam(max_length=64)],
) -> dict[str, Any]:
    """The draw record with its frame: `python verify.py` checks every step of it."""
    return auditor_record(session, task_code)


@router.get("/frames")
def frames(
    session: SessionDep,
    user: AuditorUser,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[schemas.FrameOut]:
    """Frozen frames: hash, units, classes, exclusions per reason, λ provenance."""
    key = decode_cursor(cursor, str)
    query = (
        select(Frame, Plan.month)
        .join(Task, Task.task_code == Frame.task_code)
        .join(Plan, Plan.id == Task.plan_id)
        .order_by(Frame.task_code)
        .limit(limit + 1)
    )
    if month is not None:
        query = query.where(Plan.month == month)
    if key is not None:
        query = query.where(Frame.task_code > key[0])
    rows = list(session.execute(query).tuples())
    kept, next_cursor = page(rows, limit, lambda r: [r[0].task_code])
    items = []
    for frame, plan_month in kept:
        frozen_at = aware(frame.frozen_at)
        assert frozen_at is not None
        items.append(
            schemas.FrameOut(
                task_code=frame.task_code,
                month=plan_month,
                frame_hash=frame.frame_hash,
                units=frame.units,
                classes=dict(frame.classes),
                exclusions=dict(frame.exclusions),
                lambda_provenance=dict(frame.lambda_provenance),
                frozen_at=frozen_at,
            )
        )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/audit-log")
def audit_log(
    session: SessionDep, user: AuditorUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[schemas.AuditEntryOut]:
    """The hash-chained audit log, oldest first."""
    key = decode_cursor(cursor, int)
    query = select(AuditEntry).order_by(AuditEntry.id).limit(limit + 1)
    if key is not None:
        query = query.where(AuditEntry.id > key[0])
    kept, next_cursor = page(list(session.scalars(query)), limit, lambda e: [e.id])
    return Page(
        items=[
            schemas.AuditEntryOut(
                id=e.id,
                at=aware(e.at) or e.at,
                actor=e.actor,
                action=e.action,
                subject=e.subject,
                details=dict(e.details),
                entry_hash=e.entry_hash,
            )
            for e in kept
        ],
        next_cursor=next_cursor,
    )


class ChainProblemOut(BaseModel):
    kind: str  # edited, missing, inserted, truncated, head mismatch
    sequence: int  # position in the log, from 1
    entry_id: int | None
    message: str


class ChainVerificationOut(BaseModel):
    intact: bool
    entries: int
    head: str  # SEQ:HASH of the last entry read: keep it to detect a later cut
    expected_head: str | None
    problems: list[ChainProblemOut]
    unlisted_problems: int


@router.get("/audit/verify")
def verify_audit_log(
    session: SessionDep,
    user: AuditorUser,
    expect_head: Annotated[
        str | None, Query(pattern=r"^\d+:[0-9a-fA-F]{64}$", description="SEQ:HASH kept earlier")
    ] = None,
    published: Annotated[
        bool, Query(description="also check every head the engine published (as stored)")
    ] = True,
) -> ChainVerificationOut:
    """Recomputes the audit log's hash chain, as `inspect-engine audit verify` does."""
    expected = ChainHead.parse(expect_head) if expect_head is not None else None
    outcome = verify_audit_chain(session, expected, published=published)
    return ChainVerificationOut(
        intact=outcome.intact,
        entries=outcome.entries,
        head=str(outcome.head),
        expected_head=str(expected) if expected is not None else None,
        problems=[
            ChainProblemOut(
                kind=p.kind.value, sequence=p.sequence, entry_id=p.entry_id, message=p.message
            )
            for p in outcome.problems
        ],
        unlisted_problems=outcome.unlisted,
    )


@router.get("/imports/{change_log}/changes")
def import_change_list(
    session: SessionDep,
    user: AuditorUser,
    change_log: Annotated[int, PathParam(ge=1, le=MAX_ID)],
) -> dict[str, Any]:
    """The full list of what one import changed (its audit entry names the first 50 rows
    and carries `change_log` and `changes_sha256`): changed rows by key with the before
    and after values of the changed columns, and the keys of the rows it added."""
    return import_changes(session, change_log)
