"""The public read model: plans, draws and published results, as the public may see them.

Everything here reads; nothing decides. A result is public exactly when it has a
Publication (the results workflow creates them), and a plan once its frames are frozen
(its commitment must be public before the contribution is fixed). Risk classes of
enterprises, frames and inspectors never leave this module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, literal, select, sql, text, tuple_
from sqlalchemy.orm import Session, sessionmaker

from inspect_engine.errors import InvalidInput, NotFound
from inspect_engine.publication.result_codes import CODES, LABELS
from models import AuditEntry, Draw, Enterprise, Frame, Item, Plan, Publication, Task

RESULT_LABELS = dict(zip(CODES, LABELS, strict=True))
PUBLIC_PLAN_STATES = ("frozen", "drawing", "draw_failed", "drawn", "assigned", "published")
CREDIT_CODE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
CSV_CHUNK = 5000


# --------------------------------------------------------------------------- plans


def public_plans(session: Session, *, before: str | None, limit: int) -> list[Plan]:
    """Plans whose commitment is public, newest month first."""
    query = (
        select(Plan)
        .where(Plan.status.in_(PUBLIC_PLAN_STATES))
        .order_by(Plan.month.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(Plan.month < before)
    return list(session.scalars(query))


def public_plan(session: Session, month: str) -> Plan:
    plan = session.scalars(
        select(Plan).where(Plan.month == month, Plan.status.in_(PUBLIC_PLAN_STATES))
    ).first()
    if plan is None:
        raise NotFound(f"there is no published plan for {month}")
    return plan


def voided_commitments(session: Session, month: str) -> list[dict[str, Any]]:
    """Commitments voided by a public refreeze (their nonce was lost), oldest first, from
    the audit log, where each refreeze is recorded."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "plan.refreeze", AuditEntry.subject == month)
        .order_by(AuditEntry.id)
    )
    return [
        {
            "commitment": e.details["voided_commitment"],
            "committed_at": e.details["voided_committed_at"],
            "voided_at": e.details["committed_at"],
            "reason": e.details["reason"],
        }
        for e in entries
    ]


@dataclass(frozen=True)
class CommitmentView:
    """A public plan's commitment as the plans feed announces it, with what followed: the
    staffing events recorded since (their number and the last one's time) and the
    commitments a public refreeze voided."""

    plan: Plan
    team_events: int
    last_event_at: datetime | None
    voided: list[dict[str, Any]]


def plan_commitments(session: Session, limit: int) -> list[CommitmentView]:
    """The newest `limit` public plans with their event counts and voided commitments."""
    from models import TeamEvent

    plans = public_plans(session, before=None, limit=limit)
    ids = [p.id for p in plans]
    events = {
        plan_id: (int(count), last)
        for plan_id, count, last in session.execute(
            select(TeamEvent.plan_id, func.count(TeamEvent.id), func.max(TeamEvent.created_at))
            .where(TeamEvent.plan_id.in_(ids))
            .group_by(TeamEvent.plan_id)
        ).tuples()
    }
    out = []
    for plan in plans:
        count, last = events.get(plan.id, (0, None))
        out.append(CommitmentView(plan, count, last, voided_commitments(session, plan.month)))
    return out


def published_estimates(session: Session, month: str) -> dict[str, Any]:
    """The month's population estimates as stored at the last publication of results."""
    estimates = public_plan(session, month).summary.get("estimates")
    if not estimates:
        raise NotFound(f"no results of {month} are published yet: no estimates")
    return dict(estimates)


def task_counts(session: Session, plan_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = dict.fromkeys(plan_ids, 0)
    for plan_id in session.scalars(select(Task.plan_id).where(Task.plan_id.in_(plan_ids))):
        counts[plan_id] += 1
    return counts


@dataclass(frozen=True)
class TaskView:
    task: Task
    items: list[Item]
    frame: Frame | None
    record: dict[str, Any] | None


def plan_tasks(session: Session, plan: Plan) -> list[TaskView]:
    tasks = list(
        session.scalars(select(Task).where(Task.plan_id == plan.id).order_by(Task.task_code))
    )
    codes = [t.task_code for t in tasks]
    items = {i.item_code: i for i in session.scalars(select(Item))}
    frames = {
        f.task_code: f for f in session.scalars(select(Frame).where(Frame.task_code.in_(codes)))
    }
    draws = {
        d.task_code: _public(d.record)
        for d in session.scalars(select(Draw).where(Draw.plan_id == plan.id))
    }
    return [
        TaskView(
            t,
            [items[c] for c in t.items if c in items],
            frames.get(t.task_code),
            draws.get(t.task_code),
        )
        for t in tasks
    ]


def public_record(session: Session, task_code: str) -> dict[str, Any]:
    """The public draw record: as drawn, without the frame (λ would reveal risk classes)."""
    draw = session.get(Draw, task_code)
    if draw is None:
        raise NotFound(f"task {task_code} has not been drawn")
    return _public(draw.record)


def _public(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored record as the public may see it: no frame, and no count selected per class
    (beside the selected units it would reveal the class of a small class's units). Records
    are stored without both; older ones may still hold the counts."""
    # `inclusion` is the auditors' (DRAW-SPEC); the public reads π per class in `classes`.
    record = {key: value for key, value in stored.items() if key not in ("frame", "inclusion")}
    if "classes" in record:
        record["classes"] = [
            {key: value for key, value in row.items() if key != "selected"}
            for row in record["classes"]
        ]
    return record


def task_title(session: Session, task_code: str) -> str | None:
    return session.scalar(select(Task.title).where(Task.task_code == task_code))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ResultFilter:
    date_from: date | None = None
    date_to: date | None = None
    district: str | None = None
    department: str | None = None
    result: str | None = None
    q: str | None = None

    def __post_init__(self) -> None:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise InvalidInput("date_to is before date_from")
        if self.result is not None and self.result not in RESULT_LABELS:
            raise InvalidInput(f"result {self.result!r} is not a result code")


def _filtered(
    filters: ResultFilter, after: tuple[date, int] | None, names: Select[Any] | None = None
) -> Select[tuple[Publication]]:
    """Current versions only (a corrected version shows that it was corrected; the old one
    stays reachable from its detail page), ordered latest inspection first, after the
    cursor's (inspected_on, id) if there is one.

    Each filter is the leading column of one index ending in (inspected_on, id), so pages
    are index range scans; a name search scans that order until the page is full, unless
    `names` (the ids whose names may match, see `_rare_name_ids`) narrows it first."""
    query = select(Publication).where(Publication.state == "current")
    latest = filters.date_to
    if after is not None:
        day, last = after
        query = query.where(
            tuple_(Publication.inspected_on, Publication.id) < tuple_(literal(day), literal(last))
        )
        # SQLite starts the range at one upper bound of inspected_on: with date_to as well
        # as the cursor it takes date_to, and every page of a month would rescan the pages
        # before it. The tighter of the two is the only one it needs.
        if latest is not None:
            latest = min(latest, day)
    if filters.date_from is not None:
        query = query.where(Publication.inspected_on >= filters.date_from)
    if latest is not None:
        query = query.where(Publication.inspected_on <= latest)
    for column, value in (
        (Publication.district, filters.district),
        (Publication.department, filters.department),
        (Publication.result, filters.result),
    ):
        if value is not None:
            query = query.where(column == value)
    q = (filters.q or "").strip()
    if q:
        code = q.upper()
        if CREDIT_CODE.match(code):
            query = query.where(Publication.credit_code == code)
        else:
            query = query.where(Publication.enterprise_name.contains(q, autoescape=True))
            if names is not None:
                query = query.where(Publication.id.in_(names))
    return query.order_by(Publication.inspected_on.desc(), Publication.id.desc())


def public_results(
    session: Session, filters: ResultFilter, *, after: tuple[date, int] | None, limit: int
) -> list[Publication]:
    """A page of the public list: `limit` rows after the cursor key `after` (keyset: the
    cost of a page does not grow with its depth)."""
    names = _rare_name_ids(session, filters.q)
    return list(session.scalars(_filtered(filters, after, names).limit(limit)))


NAMES_FTS = sql.table("publication_names", sql.column("rowid"))  # SQLite, migration 0005
RARE_NAME_MATCHES = 1000  # below it, sorting the matches beats walking the list


def _rare_name_ids(session: Session, q: str | None) -> Select[Any] | None:
    """On SQLite, the ids whose names contain every trigram of `q`, when there are few.

    Walking the list's order until a page is full is quick for a common part of a name and
    scans every published result for a rare one (a company's own name, most often). The
    trigram index (a superset of the LIKE's matches; the LIKE still decides) answers the
    rare case; a common one keeps the ordered walk, which stops after a page. None: no
    narrowing (PostgreSQL has its pg_trgm index; under 3 characters there is no trigram)."""
    text_q = (q or "").strip()
    if session.get_bind().dialect.name != "sqlite" or len(text_q) < 3 or "\x00" in text_q:
        return None  # (FTS5 refuses a NUL in a phrase; the LIKE answers it)
    if CREDIT_CODE.match(text_q.upper()):
        return None
    phrase = '"' + text_q.replace('"', '""') + '"'
    matching = select(NAMES_FTS.c.rowid).where(text("publication_names MATCH :phrase"))
    matching = matching.params(phrase=phrase)
    found = session.scalar(
        select(func.count()).select_from(matching.limit(RARE_NAME_MATCHES).subquery())
    )
    return matching if (found or 0) < RARE_NAME_MATCHES else None


def iter_public_results(
    factory: sessionmaker[Session], filters: ResultFilter
) -> Iterator[list[Publication]]:
    """Every matching result in chunks, each read in its own short transaction (keyset),
    so that a CSV download of a million rows holds no connection or snapshot for long."""
    after: tuple[date, int] | None = None
    while True:
        with factory() as session:
            chunk = public_results(session, filters, after=after, limit=CSV_CHUNK)
        if not chunk:
            return
        yield chunk
        after = (chunk[-1].inspected_on, chunk[-1].id)
        if len(chunk) < CSV_CHUNK:
            return


def public_result(session: Session, publication_id: int) -> tuple[Publication, list[Publication]]:
    """A publication and every published version of the same result line, newest first."""
    found = session.get(Publication, publication_id)
    if found is None:
        raise NotFound(f"there is no published result {publication_id}")
    versions = session.scalars(
        select(Publication)
        .where(
            Publication.visit_code == found.visit_code,
            Publication.item_code == found.item_code,
        )
        .order_by(Publication.version.desc())
    )
    return found, list(versions)


def latest_changes(session: Session, limit: int) -> list[Publication]:
    """The feed: publications, corrections and withdrawals, most recent change first."""
    return list(
        session.scalars(
            select(Publication)
            .order_by(Publication.updated_at.desc(), Publication.id.desc())
            .limit(limit)
        )
    )


def item_titles(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Item.item_code, Item.title)).tuples().all())


def public_enterprise(session: Session, credit_code: str) -> tuple[Enterprise, list[Publication]]:
    enterprise = session.get(Enterprise, credit_code.upper())
    if enterprise is None:
        raise NotFound(f"there is no enterprise {credit_code}")
    results = public_results(session, ResultFilter(q=enterprise.credit_code), after=None, limit=500)
    return enterprise, results


def team_event_count(session: Session, plan: Plan) -> int:
    """How many staffing changes were recorded after the freeze (the number is public; the
    events themselves are for auditors)."""
    from sqlalchemy import func

    from models import TeamEvent

    query = select(func.count(TeamEvent.id)).where(TeamEvent.plan_id == plan.id)
    return int(session.scalar(query) or 0)
