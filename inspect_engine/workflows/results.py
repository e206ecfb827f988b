"""Results: from an inspector's visit to the public record, and back into the history.

Lifecycle of one result (one visit, one item):
  submitted (inspector) ─► returned (sent back with a reason) ─► submitted again
            └──────────► reviewed (approved; or entered by a supervisor's results.csv)
  reviewed ─► published (`publish_month`: a Publication and an inspections history row)
  published ─► superseded by a corrected version, or withdrawn; nothing is deleted.

Scope: supervisors act on the items of their departments (`departments`; None = all, for
admins and the CLI). An inspector only ever sees the visits his team was given.

Every state change leaves an audit row. Nothing here commits: the caller owns the
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, insert, literal, or_, select, tuple_, update
from sqlalchemy.orm import Session, aliased

from inspect_engine import faults
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.formats import fields as f
from inspect_engine.formats.reader import FileRejected, RowError, iter_rows
from inspect_engine.formats.spec import FORMATS, Column, FileFormat
from inspect_engine.publication import deadlines
from inspect_engine.publication.result_codes import CODES, ResultCode
from inspect_engine.workflows import audit, estimates, holidays
from inspect_engine.workflows.imports import MAX_REPORTED_ERRORS, ImportRejected, event_hash
from inspect_engine.workflows.planning import (
    DRAWN_STATES,
    claim_plan,
    claim_plan_of_result,
    claim_plan_of_visit,
    claim_plans_of_visits,
    get_plan,
    month_start,
)
from inspect_engine.workflows.users import Forbidden
from models import (
    CarryOver,
    Enterprise,
    Inspection,
    Inspector,
    Item,
    Plan,
    Publication,
    Result,
    RiskScore,
    Selection,
    Task,
    TeamMember,
    Visit,
    VisitInclusion,
)
from models import repositories as repo
from models.base import utcnow

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNPUBLISHED = ("submitted", "returned", "reviewed")
MAX_NOTE = 2000
BATCH = 2000

RESULTS_FORMAT = FileFormat(
    "results",
    (
        Column("visit_id", f.code(32)),
        Column("item_code", f.code(64)),
        Column("result", f.enum(*CODES)),
        Column("inspected_on", f.iso_date),
        Column("note", f.text(MAX_NOTE), required=False),
    ),
)

Scope = Collection[str] | None  # departments a supervisor acts for; None: all


def today_in_shanghai() -> date:
    return datetime.now(SHANGHAI).date()


@dataclass(frozen=True)
class Due:
    """A publication deadline; provisional (暂定) when counted on a year whose official
    calendar is neither imported nor packaged yet."""

    on: date
    provisional: bool


def due_dates(session: Session, inspected_on: Sequence[date]) -> list[Due]:
    """Publication due dates (20 working days) on the calendar in force."""
    found = deadlines.due_dates(
        np.array(inspected_on, dtype="datetime64[D]"), calendar=holidays.calendar(session)
    )
    return [
        Due(day.item(), bool(guess))
        for day, guess in zip(found.due_on, found.provisional, strict=True)
    ]


def known_due_dates(session: Session, inspected_on: Sequence[date]) -> list[Due]:
    """The due dates recorded at publication (the name kept: tests pause on it)."""
    return due_dates(session, inspected_on)


def _check_scope(departments: Scope, department: str, what: str) -> None:
    if departments is not None and department not in departments:
        raise Forbidden(f"{what} belongs to department {department}, outside your departments")


def _check_result_code(code: str) -> str:
    try:
        return ResultCode.parse(code).code
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def _check_note(note: str | None) -> str | None:
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE} characters")
    return note or None


def _check_inspection_day(visit: Visit, plan_month: str, day: date, today: date) -> None:
    first = month_start(plan_month)
    if day < first:
        raise InvalidInput(
            f"inspected_on {day.isoformat()} is before the plan month {plan_month} of visit "
            f"{visit.visit_code}"
        )
    if day > today:
        raise InvalidInput(f"inspected_on {day.isoformat()} is in the future")


# --------------------------------------------------------------------------- inspectors


@dataclass(frozen=True)
class TeamMate:
    inspector_id: str  # the enforcement certificate number
    name: str
    role: str


@dataclass(frozen=True)
class VisitItem:
    item_code: str
    department: str
    title: str
    legal_basis: str
    result: str | None  # the current result, if any
    status: str | None
    review_note: str | None


@dataclass(frozen=True)
class AssignedVisit:
    """What an inspector's team carries to one enterprise (检查任务书)."""

    visit_code: str
    month: str
    status: str
    credit_code: str
    enterprise_name: str
    address: str | None
    district: str
    task_codes: tuple[str, ...]
    items: tuple[VisitItem, ...]
    team: tuple[TeamMate, ...]
    carried: bool = False  # 结转: carried over into a later month's plan, scheduled first


def _own_visits_query(inspector_id: str) -> Any:
    return (
        select(Visit, Plan.month)
        .join(Plan, Plan.id == Visit.plan_id)
        .join(TeamMember, TeamMember.visit_id == Visit.id)
        .where(TeamMember.inspector_id == inspector_id, TeamMember.replaced_at.is_(None))
    )


def _own_visit(session: Session, inspector_id: str, visit_code: str) -> tuple[Visit, str]:
    """The visit, if the inspector is on its team; otherwise NotFound (an inspector must
    not learn which other visits exist)."""
    row = session.execute(
        _own_visits_query(inspector_id)
        .where(Visit.visit_code == visit_code)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(f"there is no visit {visit_code} among your assignments")
    return row[0], row[1]


def inspector_visits(
    session: Session,
    inspector_id: str,
    month: str,
    *,
    after: tuple[int, str] | None = None,
    limit: int = 50,
) -> list[AssignedVisit]:
    """The inspector's visits of `month`, open visits first, then by visit code.

    `after` is the keyset of the last row of the previous page: (done, visit_code), done
    being 0 for an open visit and 1 for a visited one."""
    month_start(month)
    later = aliased(Plan)  # the plan it is carried into, not the visit's own (结转)
    carried_in = (
        select(CarryOver.visit_id)
        .join(later, later.id == CarryOver.plan_id)
        .where(later.month == month)
    )
    query = _own_visits_query(inspector_id).where(
        or_(Plan.month == month, Visit.id.in_(carried_in))
    )
    rows = [(v, m) for v, m in session.execute(query)]
    keyed = sorted(((int(v.status == "visited"), v.visit_code), v, m) for v, m in rows)
    if after is not None:
        keyed = [k for k in keyed if k[0] > after]
    chosen = keyed[:limit]
    return _describe_visits(session, [(v, m) for _, v, m in chosen])


def inspector_visit(session: Session, inspector_id: str, visit_code: str) -> AssignedVisit:
    visit, month = _own_visit(session, inspector_id, visit_code)
    return _describe_visits(session, [(visit, month)])[0]


def _describe_visits(session: Session, rows: list[tuple[Visit, str]]) -> list[AssignedVisit]:
    if not rows:
        return []
    ids = [v.id for v, _ in rows]
    codes = {v.credit_code for v, _ in rows}
    names = {
        e.credit_code: e
        for e in session.scalars(select(Enterprise).where(Enterprise.credit_code.in_(codes)))
    }
    items = {i.item_code: i for i in session.scalars(select(Item))}
    teams: dict[int, list[TeamMate]] = defaultdict(list)
    members = (
        select(TeamMember.visit_id, TeamMember.inspector_id, TeamMember.role, Inspector.name)
        .join(Inspector, Inspector.inspector_id == TeamMember.inspector_id)
        .where(TeamMember.visit_id.in_(ids), TeamMember.replaced_at.is_(None))
        .order_by(TeamMember.visit_id, TeamMember.role, TeamMember.inspector_id)
    )
    for visit_id, inspector_id, role, name in session.execute(members):
        teams[visit_id].append(TeamMate(inspector_id, name, role))
    current = _current_results(session, ids)
    carried = set(session.scalars(select(CarryOver.visit_id).where(CarryOver.visit_id.in_(ids))))
    out = []
    for visit, month in rows:
        enterprise = names[visit.credit_code]
        visit_items = []
        for code in visit.item_codes:
            item = items[code]
            result = current.get((visit.id, code))
            visit_items.append(
                VisitItem(
                    code,
                    item.department,
                    item.title,
                    item.legal_basis,
                    result.result if result else None,
                    result.status if result else None,
                    result.review_note if result else None,
                )
            )
        out.append(
            AssignedVisit(
                visit_code=visit.visit_code,
                month=month,
                status=visit.status,
                credit_code=visit.credit_code,
                enterprise_name=enterprise.name,
                address=enterprise.address,
                district=enterprise.district,
                task_codes=tuple(visit.task_codes),
                items=tuple(visit_items),
                team=tuple(teams.get(visit.id, ())),
                carried=visit.id in carried,
            )
        )
    return out


def _current_results(session: Session, visit_ids: Iterable[int]) -> dict[tuple[int, str], Result]:
    """The latest version of each (visit, item) result, as stored now (populate_existing:
    not the session's older copies, which a writer that queued on the plan would act on)."""
    latest: dict[tuple[int, str], Result] = {}
    wanted = list(visit_ids)
    for start in range(0, len(wanted), BATCH):
        query = (
            select(Result)
            .where(Result.visit_id.in_(wanted[start : start + BATCH]))
            .execution_options(populate_existing=True)
        )
        for result in session.scalars(query):
            key = (result.visit_id, result.item_code)
            if key not in latest or latest[key].version < result.version:
                latest[key] = result
    return latest


def submit_result(
    session: Session,
    *,
    inspector_id: str,
    visit_code: str,
    item_code: str,
    result: str,
    inspected_on: date,
    note: str | None = None,
    today: date | None = None,
    actor: str = "cli",
) -> Result:
    """An inspector reports the result of one item of his own visit. He may change it
    until a supervisor approves it; after that only a supervisor's correction can.

    The claim on the visit's plan is the transaction's first statement: a review, an
    import or a publish of the same month waits for this submission, or this one for
    them, and then reads what the other committed."""
    claim_plan_of_visit(session, visit_code)  # False: no such visit, NotFound below
    visit, month = _own_visit(session, inspector_id, visit_code)
    if item_code not in visit.item_codes:
        raise InvalidInput(f"item {item_code} is not part of visit {visit_code}")
    code = _check_result_code(result)
    _check_inspection_day(visit, month, inspected_on, today or today_in_shanghai())
    text = _check_note(note)
    row = _current_results(session, [visit.id]).get((visit.id, item_code))
    if row is not None and row.status not in ("submitted", "returned"):
        raise Conflict(
            f"the result of {item_code} on visit {visit_code} is {row.status}; "
            "only a supervisor can change it now"
        )
    if row is None:
        row = Result(visit_id=visit.id, item_code=item_code, version=1)
        session.add(row)
    row.result, row.inspected_on, row.note = code, inspected_on, text
    row.status, row.review_note = "submitted", None
    row.submitted_by, row.submitted_at = actor, utcnow()
    visit.status = "visited"
    session.flush()
    audit.record(
        session,
        actor,
        "result.submit",
        f"{visit_code}/{item_code}",
        {"result": code, "inspected_on": inspected_on.isoformat(), "result_id": row.id},
    )
    return row


# --------------------------------------------------------------------------- review


@dataclass(frozen=True)
class ResultRow:
    """A result as a supervisor sees it (internal: never published as such)."""

    result_id: int
    visit_code: str
    month: str
    credit_code: str
    enterprise_name: str
    item_code: str
    department: str
    version: int
    result: str
    inspected_on: date
    note: str | None
    status: str
    submitted_by: str | None
    review_note: str | None


def _result_rows_query() -> Any:
    return (
        select(Result, Visit.visit_code, Plan.month, Visit.credit_code, Enterprise.name, Item)
        .join(Visit, Visit.id == Result.visit_id)
        .join(Plan, Plan.id == Visit.plan_id)
        .join(Enterprise, Enterprise.credit_code == Visit.credit_code)
        .join(Item, Item.item_code == Result.item_code)
    )


def _result_row(row: Any) -> ResultRow:
    result, visit_code, month, credit_code, name, item = row
    return ResultRow(
        result_id=result.id,
        visit_code=visit_code,
        month=month,
        credit_code=credit_code,
        enterprise_name=name,
        item_code=item.item_code,
        department=item.department,
        version=result.version,
        result=result.result,
        inspected_on=result.inspected_on,
        note=result.note,
        status=result.status,
        submitted_by=result.submitted_by,
        review_note=result.review_note,
    )


RESULT_STATUSES = ("submitted", "returned", "reviewed", "published", "superseded", "withdrawn")


def list_results(
    session: Session,
    *,
    departments: Scope,
    status: str | None = None,
    month: str | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[ResultRow]:
    """Results in scope, by id: e.g. the review queue (status='submitted')."""
    query = _result_rows_query().order_by(Result.id).limit(limit)
    if status is not None:
        if status not in RESULT_STATUSES:
            raise InvalidInput(f"status {status!r} is not one of {', '.join(RESULT_STATUSES)}")
        query = query.where(Result.status == status)
    if month is not None:
        month_start(month)
        query = query.where(Plan.month == month)
    if departments is not None:
        query = query.where(Item.department.in_(list(departments)))
    if after is not None:
        query = query.where(Result.id > after)
    return [_result_row(r) for r in session.execute(query)]


def get_result(session: Session, result_id: int, *, departments: Scope) -> ResultRow:
    row = session.execute(_result_rows_query().where(Result.id == result_id)).first()
    if row is None:
        raise NotFound(f"there is no result {result_id}")
    found = _result_row(row)
    _check_scope(departments, found.department, f"result {result_id}")
    return found


def review_result(
    session: Session,
    result_id: int,
    *,
    approve: bool,
    reason: str | None = None,
    departments: Scope,
    actor: str = "cli",
) -> Result:
    """Approve a submitted result, or send it back to the inspectors with a reason.

    The claim on the result's plan comes first: a re-submission, an import or a publish
    of the same month cannot change the result between this check and this decision."""
    claim_plan_of_result(session, result_id)  # False: no such result, NotFound below
    found = get_result(session, result_id, departments=departments)
    result = session.get(Result, result_id, populate_existing=True)
    assert result is not None
    if result.status != "submitted":
        raise Conflict(
            f"result {result_id} is {result.status}; only submitted results are reviewed"
        )
    if not approve and not (reason and reason.strip()):
        raise InvalidInput("sending a result back needs a reason")
    result.status = "reviewed" if approve else "returned"
    result.review_note = None if approve else reason
    result.reviewed_by, result.reviewed_at = actor, utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "result.approve" if approve else "result.return",
        f"{found.visit_code}/{found.item_code}",
        {"result_id": result_id, "reason": reason},
    )
    return result


# --------------------------------------------------------------------------- import


@dataclass
class ResultsImportReport:
    rows: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _ResultsFile:
    """The checked rows of a results file and the errors found."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fail(self, row: int, column: str | None, reason: str) -> None:
        self.errors.append(RowError(row, column, reason))


def import_results(
    session: Session,
    path: Path,
    *,
    departments: Scope = None,
    today: date | None = None,
    actor: str = "cli",
) -> ResultsImportReport:
    """results.csv entered by a supervisor: it counts as reviewed. Validated like every
    import (row-numbered errors, all-or-nothing) and idempotent: a row equal to the stored
    result changes nothing. A published result is corrected, never re-imported.

    The file is read first; then the plans of its visits are claimed, the transaction's
    first statement, so that no submission, review or publish of those months changes
    the results between the checks and the writes."""
    warnings: list[str] = []
    try:
        parsed = list(iter_rows(RESULTS_FORMAT, path, warnings))
    except FileRejected as exc:
        raise ImportRejected("results", exc.errors, len(exc.errors), warnings) from None
    claim_plans_of_visits(session, _codes(parsed))  # unknown visits: row errors below
    day = today or today_in_shanghai()
    checked = _read_results(session, parsed, warnings, departments, day)
    if checked.errors:
        raise ImportRejected(
            "results", checked.errors[:MAX_REPORTED_ERRORS], len(checked.errors), checked.warnings
        )
    report = ResultsImportReport(rows=len(checked.rows), warnings=checked.warnings)
    visits = {
        v.visit_code: v
        for v in _visits_by_code(session, [values["visit_id"] for _, values in checked.rows])
    }
    current = _current_results(session, [v.id for v in visits.values()])
    now = utcnow()
    for _, values in checked.rows:
        visit = visits[values["visit_id"]]
        row = current.get((visit.id, values["item_code"]))
        settled = row is not None and row.status not in ("submitted", "returned")
        if row is not None and settled and _same_result(row, values):
            report.unchanged += 1
            continue
        if row is None:
            row = Result(visit_id=visit.id, item_code=values["item_code"], version=1)
            session.add(row)
            report.new += 1
        else:
            report.updated += 1
        row.result, row.inspected_on = values["result"], values["inspected_on"]
        row.note, row.status, row.review_note = values["note"], "reviewed", None
        row.submitted_by = row.submitted_by or actor
        row.reviewed_by, row.reviewed_at = actor, now
        visit.status = "visited"
    session.flush()
    audit.record(
        session,
        actor,
        "result.import",
        path.name,
        {"rows": report.rows, "new": report.new, "updated": report.updated},
    )
    return report


def _same_result(row: Result, values: dict[str, Any]) -> bool:
    return bool(
        row.result == values["result"]
        and row.inspected_on == values["inspected_on"]
        and (row.note or None) == values["note"]
    )


def _visits_by_code(session: Session, codes: Iterable[str]) -> list[Visit]:
    wanted = sorted(set(codes))
    out: list[Visit] = []
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        out.extend(session.scalars(select(Visit).where(Visit.visit_code.in_(batch))))
    return out


def _read_results(
    session: Session, parsed: list[Any], warnings: list[str], departments: Scope, today: date
) -> _ResultsFile:
    checked = _ResultsFile(warnings=warnings)
    visits = {v.visit_code: v for v in _visits_by_code(session, _codes(parsed))}
    months = dict(
        session.execute(
            select(Plan.id, Plan.month).where(Plan.id.in_({v.plan_id for v in visits.values()}))
        )
        .tuples()
        .all()
    )
    item_department = dict(session.execute(select(Item.item_code, Item.department)).tuples().all())
    current = _current_results(session, [v.id for v in visits.values()])
    seen: set[tuple[str, str]] = set()
    for row in parsed:
        checked.errors.extend(row.errors)
        if row.errors:
            continue
        values = row.values
        problem = _row_problem(values, visits, months, item_department, departments, today)
        if problem is None:
            key = (values["visit_id"], values["item_code"])
            stored = current.get((visits[key[0]].id, key[1]))
            if key in seen:
                problem = ("item_code", f"{key[0]}/{key[1]} appears earlier in this file")
            elif (
                stored is not None
                and stored.status not in UNPUBLISHED
                and not _same_result(stored, values)
            ):
                problem = (
                    "result",
                    f"the result of {key[0]}/{key[1]} is {stored.status}: "
                    "correct it instead of importing it again",
                )
            seen.add(key)
        if problem is not None:
            checked.fail(row.row, *problem)
        else:
            checked.rows.append((row.row, values))
    if not parsed and not checked.errors:
        checked.fail(1, None, "the file has no results")
    return checked


def _codes(parsed: Iterable[Any]) -> list[str]:
    return [r.values["visit_id"] for r in parsed if not r.errors]


def _row_problem(
    values: dict[str, Any],
    visits: dict[str, Visit],
    months: dict[int, str],
    item_department: dict[str, str],
    departments: Scope,
    today: date,
) -> tuple[str, str] | None:
    visit = visits.get(values["visit_id"])
    if visit is None:
        return "visit_id", f"unknown visit {values['visit_id']!r}"
    item = values["item_code"]
    if item not in visit.item_codes:
        return "item_code", f"item {item} is not part of visit {visit.visit_code}"
    department = item_department[item]
    if departments is not None and department not in departments:
        return "item_code", f"item {item} belongs to {department}, outside your departments"
    try:
        _check_inspection_day(visit, months[visit.plan_id], values["inspected_on"], today)
    except InvalidInput as exc:
        return "inspected_on", exc.message
    return None


# --------------------------------------------------------------------------- publish


@dataclass(frozen=True)
class PublishReport:
    month: str
    published: int
    visits: int
    late: int  # published after their due date
    history_rows: int  # new rows in the inspections history


def publish_month(
    session: Session,
    month: str,
    *,
    departments: Scope = None,
    today: date | None = None,
    actor: str = "cli",
) -> PublishReport:
    """Every reviewed, not yet published result of the month's visits becomes public, and
    a history row (with its inclusion probability) for next month's model. Idempotent:
    a second call finds nothing left to publish.

    The claim on the plan is the transaction's first statement: concurrent calls for the
    month queue on it, and each reads the results the one before it published."""
    month_start(month)
    claimed = claim_plan(session, month, DRAWN_STATES)
    plan = get_plan(session, month)
    session.refresh(plan)  # the session may hold the plan as it was before the claim
    if not claimed:
        raise Conflict(f"the plan for {month} is {plan.status}: nothing to publish before the draw")
    query = (
        select(Result, Visit, Item.department)
        .join(Visit, Visit.id == Result.visit_id)
        .join(Item, Item.item_code == Result.item_code)
        .where(Visit.plan_id == plan.id, Result.status == "reviewed")
        .order_by(Visit.visit_code, Result.item_code)
    )
    if departments is not None:
        query = query.where(Item.department.in_(list(departments)))
    rows = [(r, v, d) for r, v, d in session.execute(query)]
    day = today or today_in_shanghai()
    # publication never waits for the calendar: a guessed deadline is marked provisional
    dues = known_due_dates(session, [r.inspected_on for r, _, _ in rows])
    if rows:  # an older plan's π is stored first: its history rows carry it
        estimates.keep_plan_inclusion(session, plan)
    before = repo.count(session, Inspection)
    for start in range(0, len(rows), BATCH):
        _publish_batch(session, rows[start : start + BATCH], dues[start : start + BATCH])
    session.flush()
    faults.checkpoint("publish.after_rows")  # publications and history written, not committed
    history = repo.count(session, Inspection) - before
    report = PublishReport(
        month=month,
        published=len(rows),
        visits=len({v.id for _, v, _ in rows}),
        late=sum(1 for due in dues if due.on < day),
        history_rows=history,
    )
    audit.record(
        session,
        actor,
        "result.publish",
        month,
        {
            "published": report.published,
            "visits": report.visits,
            "late": report.late,
            "history_rows": history,
            "departments": sorted(departments) if departments is not None else None,
        },
    )
    audit.publish_head(session, "publication", month)
    if rows:  # the public estimates follow what is published
        estimates.publish_estimates(session, month)
    return report


@dataclass(frozen=True)
class _VisitContext:
    """What a publication and a history row need to know about a visit."""

    name: str
    district: str
    lead: str | None  # the inspector the history row names: the team lead if any
    task_items: dict[str, list[str]]  # task code -> its items
    lambdas: dict[str, str]  # task code -> λ of the enterprise in that task
    # P(the plan visits the enterprise): any of its tasks drawing it (None: drawn before
    # the plan's π was stored)
    visit_pi: float | None = None


def _contexts(session: Session, visits: list[Visit]) -> dict[int, _VisitContext]:
    codes = sorted({v.credit_code for v in visits})
    enterprises = dict(
        (code, (name, district))
        for code, name, district in session.execute(
            select(Enterprise.credit_code, Enterprise.name, Enterprise.district).where(
                Enterprise.credit_code.in_(codes)
            )
        )
    )
    tasks = sorted({t for v in visits for t in v.task_codes})
    task_items = dict(
        session.execute(select(Task.task_code, Task.items).where(Task.task_code.in_(tasks)))
        .tuples()
        .all()
    )
    lambdas: dict[str, dict[str, str]] = defaultdict(dict)
    # The recorded π of the unit in each task (λ for draws made before π was recorded).
    chosen = select(
        Selection.credit_code, Selection.task_code, func.coalesce(Selection.pi, Selection.lam)
    ).where(Selection.task_code.in_(tasks), Selection.credit_code.in_(codes))
    for code, task, pi in session.execute(chosen):
        lambdas[code][task] = pi
    visit_pi = _visit_probabilities(session, visits)
    leads: dict[int, str] = {}
    members = (
        select(TeamMember.visit_id, TeamMember.inspector_id, TeamMember.role)
        .where(TeamMember.visit_id.in_([v.id for v in visits]), TeamMember.replaced_at.is_(None))
        .order_by(TeamMember.visit_id, TeamMember.inspector_id)
    )
    for visit_id, inspector_id, role in session.execute(members):
        if visit_id not in leads or role == "lead":
            leads[visit_id] = inspector_id  # first member, unless a lead comes later
    return {
        v.id: _VisitContext(
            name=enterprises[v.credit_code][0],
            district=enterprises[v.credit_code][1],
            lead=leads.get(v.id),
            task_items={t: task_items.get(t, []) for t in v.task_codes},
            lambdas=lambdas.get(v.credit_code, {}),
            visit_pi=visit_pi.get((v.plan_id, v.credit_code)),
        )
        for v in visits
    }


def carrying_task(context: _VisitContext, item_code: str) -> tuple[str, str | None]:
    """The task that carried the item to this enterprise, with the enterprise's recorded π
    in it (its λ for draws made before π was recorded).

    An item is almost always carried by one task, whose π is the item's own probability.
    An item carried by several tasks that drew the enterprise is credited to the one with
    the largest π."""
    carriers = [t for t, items in sorted(context.task_items.items()) if item_code in items]
    if not carriers:
        carriers = sorted(context.task_items)
    drawn = sorted((-float(context.lambdas[t]), t) for t in carriers if t in context.lambdas)
    if not drawn:
        return carriers[0], None
    task = drawn[0][1]
    return task, context.lambdas[task]


def _publish_batch(
    session: Session, rows: list[tuple[Result, Visit, str]], dues: list[Due]
) -> None:
    contexts = _contexts(session, list({v.id: v for _, v, _ in rows}.values()))
    now = utcnow()
    publications: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for (result, visit, department), due in zip(rows, dues, strict=True):
        context = contexts[visit.id]
        task, lam = carrying_task(context, result.item_code)
        publications.append(
            _snapshot(result, visit, department, context.name, context.district, task, due, now)
        )
        history.append(_history_row(result, visit, department, context.lead, lam, context.visit_pi))
    session.execute(insert(Publication), publications)
    repo.insert_new(session, Inspection, history, "row_hash")
    ids = [r.id for r, _, _ in rows]
    session.execute(
        update(Result)
        .where(Result.id.in_(ids))
        .values(status="published")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Visit)
        .where(Visit.id.in_({v.id for _, v, _ in rows}))
        .values(status="visited")
        .execution_options(synchronize_session=False)
    )
    for result, visit, _ in rows:
        result.status, visit.status = "published", "visited"


def _snapshot(
    result: Result,
    visit: Visit,
    department: str,
    name: str,
    district: str,
    task: str,
    due: Due | None,
    now: datetime,
    corrects: int | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    return {
        "result_id": result.id,
        "due_on": due.on if due else None,
        "due_provisional": due.provisional if due else False,
        "published_at": now,
        "updated_at": now,
        "state": "current",
        "reason": reason,
        "corrects_id": corrects,
        "visit_code": visit.visit_code,
        "task_code": task,
        "credit_code": visit.credit_code,
        "enterprise_name": name,
        "district": district,
        "department": department,
        "item_code": result.item_code,
        "result": result.result,
        "inspected_on": result.inspected_on,
        "version": result.version,
    }


def _visit_probabilities(session: Session, visits: list[Visit]) -> dict[tuple[int, str], float]:
    """(plan id, credit code) → the visit's probability under its own plan, as stored at
    the draw. A carried visit keeps its own month's: that draw made the visit."""
    query = select(VisitInclusion.plan_id, VisitInclusion.credit_code, VisitInclusion.pi).where(
        VisitInclusion.plan_id.in_({v.plan_id for v in visits}),
        VisitInclusion.credit_code.in_({v.credit_code for v in visits}),
    )
    return {(plan, code): pi for plan, code, pi in session.execute(query)}


def _history_row(
    result: Result,
    visit: Visit,
    department: str,
    inspector_id: str | None,
    lam: str | None,
    visit_pi: float | None,
) -> dict[str, Any]:
    """The inspections-history event of a published result, hashed like an imported row
    so that re-importing an exported history never duplicates it. `inclusion_probability`
    is the item's own (its task's π); `visit_probability`, outside the file format and the
    hash, is the visit's under the whole plan (the training example's weight)."""
    values = {
        "credit_code": visit.credit_code,
        "inspected_on": result.inspected_on,
        "department": department,
        "item_code": result.item_code,
        "inspector_id": inspector_id,
        "result": result.result,
        "inclusion_probability": float(lam) if lam is not None else None,
    }
    row_hash = event_hash(FORMATS["inspections"], values)
    return {"row_hash": row_hash, **values, "visit_probability": visit_pi}


# --------------------------------------------------------------------------- corrections


def _published(session: Session, result_id: int, departments: Scope) -> tuple[Result, Publication]:
    """The result and its current publication, for a correction or a withdrawal.

    The claim on the result's plan comes first: a correction, a withdrawal or a publish
    of the same month waits for the other to commit, and then reads (populate_existing:
    not the session's older copies) the state it left, so the second of two racing
    changes finds the version no longer current."""
    claimed = claim_plan_of_result(session, result_id, DRAWN_STATES)
    get_result(session, result_id, departments=departments)  # NotFound; Forbidden
    result = session.get(Result, result_id, populate_existing=True)
    publication = session.scalars(
        select(Publication)
        .where(Publication.result_id == result_id)
        .execution_options(populate_existing=True)
    ).first()
    assert result is not None
    if publication is None or publication.state != "current" or not claimed:
        state = publication.state if publication else result.status
        raise Conflict(
            f"result {result_id} is {state}: only the current published version can change"
        )
    # the estimates are rewritten into the plan's summary as the claim left it
    session.get(Plan, session.get_one(Visit, result.visit_id).plan_id, populate_existing=True)
    return result, publication


def _forget_history(session: Session, result: Result, publication: Publication) -> None:
    """Removes the derived history row of a version that is no longer true, so that the
    model does not learn from it; the result and its publication stay."""
    session.execute(
        delete(Inspection).where(
            Inspection.credit_code == publication.credit_code,
            Inspection.inspected_on == result.inspected_on,
            Inspection.department == publication.department,
            Inspection.item_code == result.item_code,
            Inspection.result == result.result,
        )
    )


def _lambda_of(session: Session, visit: Visit, task_code: str) -> str | None:
    """The enterprise's recorded π in the task (λ for draws made before π)."""
    return session.scalars(
        select(func.coalesce(Selection.pi, Selection.lam)).where(
            Selection.task_code == task_code, Selection.credit_code == visit.credit_code
        )
    ).first()


def correct_result(
    session: Session,
    result_id: int,
    *,
    result: str,
    reason: str,
    inspected_on: date | None = None,
    note: str | None = None,
    departments: Scope,
    today: date | None = None,
    actor: str = "cli",
) -> Publication:
    """A published result was wrong (an objection by the enterprise, an entry error): a
    new version is published at once; the old publication is marked corrected, with the
    reason shown to the public. Returns the new publication."""
    if not reason.strip():
        raise InvalidInput("a correction needs a reason")
    old, publication = _published(session, result_id, departments)
    code = _check_result_code(result)
    visit = session.get(Visit, old.visit_id)
    assert visit is not None
    plan = session.get(Plan, visit.plan_id)
    assert plan is not None
    day = inspected_on or old.inspected_on
    _check_inspection_day(visit, plan.month, day, today or today_in_shanghai())
    _forget_history(session, old, publication)
    now = utcnow()
    new = Result(
        visit_id=old.visit_id,
        item_code=old.item_code,
        version=old.version + 1,
        result=code,
        inspected_on=day,
        note=_check_note(note) if note is not None else old.note,
        status="published",
        submitted_by=actor,
        submitted_at=now,
        reviewed_by=actor,
        reviewed_at=now,
    )
    session.add(new)
    old.status = "superseded"
    publication.state, publication.reason, publication.updated_at = "corrected", reason, now
    session.flush()
    snapshot = _snapshot(
        new,
        visit,
        publication.department,
        publication.enterprise_name,
        publication.district,
        publication.task_code,
        # the deadline is the original inspection's
        Due(publication.due_on, publication.due_provisional) if publication.due_on else None,
        now,
        corrects=publication.id,
        reason=reason,
    )
    corrected = Publication(**snapshot)
    session.add(corrected)
    lead = _history_lead(session, visit)
    lam = _lambda_of(session, visit, publication.task_code)
    repo.insert_new(
        session,
        Inspection,
        [
            _history_row(
                new,
                visit,
                publication.department,
                lead,
                lam,
                _visit_probabilities(session, [visit]).get((visit.plan_id, visit.credit_code)),
            )
        ],
        "row_hash",
    )
    session.flush()
    audit.record(
        session,
        actor,
        "result.correct",
        f"{visit.visit_code}/{old.item_code}",
        {
            "result_id": old.id,
            "new_result_id": new.id,
            "from": old.result,
            "to": code,
            "reason": reason,
        },
    )
    audit.publish_head(session, "publication", visit.visit_code)  # a public correction
    _refresh_estimates(session, visit)
    return corrected


def _history_lead(session: Session, visit: Visit) -> str | None:
    return _contexts(session, [visit])[visit.id].lead


def withdraw_result(
    session: Session, result_id: int, *, reason: str, departments: Scope, actor: str = "cli"
) -> Publication:
    """A published result must no longer stand (e.g. the inspection was void): the
    publication is marked withdrawn with its reason and leaves the training history."""
    if not reason.strip():
        raise InvalidInput("a withdrawal needs a reason")
    result, publication = _published(session, result_id, departments)
    _forget_history(session, result, publication)
    now = utcnow()
    publication.state, publication.reason, publication.updated_at = "withdrawn", reason, now
    result.status = "withdrawn"
    session.flush()
    audit.record(
        session,
        actor,
        "result.withdraw",
        f"{publication.visit_code}/{result.item_code}",
        {"result_id": result_id, "reason": reason},
    )
    audit.publish_head(session, "publication", publication.visit_code)
    _refresh_estimates(session, session.get_one(Visit, result.visit_id))
    return publication


def _refresh_estimates(session: Session, visit: Visit) -> None:
    """The public estimates always describe what is currently published."""
    month = session.get_one(Plan, visit.plan_id).month
    estimates.publish_estimates(session, month)


# --------------------------------------------------------------------------- overdue


@dataclass(frozen=True)
class OverdueResult:
    result_id: int
    visit_code: str
    credit_code: str
    enterprise_name: str
    item_code: str
    department: str
    status: str
    inspected_on: date
    due_on: date
    due_provisional: bool


def overdue_results(
    session: Session,
    *,
    as_of: date | None = None,
    departments: Scope,
    after: tuple[date, int] | None = None,
    limit: int = 50,
) -> list[OverdueResult]:
    """Results still unpublished after their due date, oldest inspection first.

    One indexed range query: the calendar gives the last inspection date that is overdue
    on `as_of` (see deadlines.overdue_before)."""
    day = as_of or today_in_shanghai()
    cutoff, _ = deadlines.overdue_before(day, calendar=holidays.calendar(session))
    query = (
        _result_rows_query()
        .where(Result.status.in_(UNPUBLISHED), Result.inspected_on < cutoff)
        .order_by(Result.inspected_on, Result.id)
        .limit(limit)
    )
    if departments is not None:
        query = query.where(Item.department.in_(list(departments)))
    if after is not None:
        last_day, last_id = after
        query = query.where(
            tuple_(Result.inspected_on, Result.id) > tuple_(literal(last_day), literal(last_id))
        )
    rows = [_result_row(r) for r in session.execute(query)]
    dues = due_dates(session, [r.inspected_on for r in rows])
    return [
        OverdueResult(
            r.result_id,
            r.visit_code,
            r.credit_code,
            r.enterprise_name,
            r.item_code,
            r.department,
            r.status,
            r.inspected_on,
            due.on,
            due.provisional,
        )
        for r, due in zip(rows, dues, strict=True)
    ]


# --------------------------------------------------------------------------- outliers


@dataclass(frozen=True)
class InspectorOutlier:
    inspector_id: str
    name: str
    visits: int
    problems: float  # visits with a problem found
    expected: float
    ratio: float
    z: float
    flag: int  # +1 finds more than expected, -1 fewer, 0 within the limits


def inspector_outliers(
    session: Session,
    *,
    date_from: date,
    date_to: date,
    departments: Scope,
    z_limit: float = 3.0,
    flagged_only: bool = False,
) -> list[InspectorOutlier]:
    """Detection rate per inspector over the published results of a period, against the
    rate expected from the enterprises he visited (the risk model's probability where
    scored, else the period's overall rate). Teams are drawn at random, so a z-score far
    from 0 points at the inspector, not at the enterprises."""
    from inspect_engine.risk.inspectors import inspector_detection
    from inspect_engine.risk.labels import Teams

    if date_to < date_from:
        raise InvalidInput("date_to is before date_from")
    visits = _observed_visits(session, date_from, date_to, departments)
    if not visits:
        return []
    ids = sorted(visits)
    problem = np.array([visits[v][1] for v in ids], dtype=bool)
    expected = _expected_probability(session, [visits[v][0] for v in ids], problem)
    position = {v: k for k, v in enumerate(ids)}
    pairs = session.execute(
        select(TeamMember.visit_id, TeamMember.inspector_id).where(
            TeamMember.visit_id.in_(ids), TeamMember.replaced_at.is_(None)
        )
    ).all()
    inspectors = sorted({i for _, i in pairs})
    number = {i: k for k, i in enumerate(inspectors)}
    teams = Teams(
        np.array([position[v] for v, _ in pairs], dtype=np.int64),
        np.array([number[i] for _, i in pairs], dtype=np.int64),
        len(inspectors),
    )
    report = inspector_detection(teams, problem, expected, z_limit=z_limit)
    names = dict(
        session.execute(
            select(Inspector.inspector_id, Inspector.name).where(
                Inspector.inspector_id.in_(inspectors)
            )
        )
        .tuples()
        .all()
    )
    out = [
        InspectorOutlier(
            inspector_id=inspectors[int(k)],
            name=names.get(inspectors[int(k)], ""),
            visits=int(report.visits[j]),
            problems=float(report.observed[j]),
            expected=float(report.expected[j]),
            ratio=float(report.ratio[j]),
            z=float(report.z[j]),
            flag=int(report.flag[j]),
        )
        for j, k in enumerate(report.inspector.tolist())
    ]
    if flagged_only:
        out = [o for o in out if o.flag != 0]
    return sorted(out, key=lambda o: (-abs(o.z), o.inspector_id))


def _observed_visits(
    session: Session, date_from: date, date_to: date, departments: Scope
) -> dict[int, tuple[str, bool]]:
    """visit id -> (credit code, found a problem) for visits with an observation."""
    query = (
        select(Result.visit_id, Publication.credit_code, Publication.result)
        .join(Result, Result.id == Publication.result_id)
        .where(
            Publication.state == "current",
            Publication.inspected_on >= date_from,
            Publication.inspected_on <= date_to,
        )
    )
    if departments is not None:
        query = query.where(Publication.department.in_(list(departments)))
    visits: dict[int, tuple[str, bool]] = {}
    for visit_id, credit_code, code in session.execute(query):
        kind = ResultCode.parse(code)
        if not kind.is_observation:
            continue
        found = visits.get(visit_id, (credit_code, False))[1] or kind.counts_as_problem
        visits[visit_id] = (credit_code, found)
    return visits


def _expected_probability(
    session: Session, credit_codes: list[str], problem: NDArray[np.bool_]
) -> NDArray[np.float64]:
    expected = np.full(len(credit_codes), float(problem.mean()))
    version = session.scalar(select(func.max(RiskScore.model_version_id)))
    if version is None:
        return expected
    scores = dict(
        session.execute(
            select(RiskScore.credit_code, RiskScore.probability).where(
                RiskScore.model_version_id == version,
                RiskScore.credit_code.in_(sorted(set(credit_codes))),
            )
        )
        .tuples()
        .all()
    )
    for k, code in enumerate(credit_codes):
        if code in scores:
            expected[k] = scores[code]
    return expected


# --------------------------------------------------------------------------- plan


def publish_plan(session: Session, month: str, *, actor: str = "cli") -> Plan:
    """Approve and publish the month's plan once its teams are drawn (idempotent; claims
    the plan first, so that a re-assignment or a second approval waits for it)."""
    claim_plan(session, month, ("assigned", "published"))
    plan = get_plan(session, month)
    session.refresh(plan)
    if plan.status == "published":
        return plan
    if plan.status != "assigned":
        raise Conflict(f"the plan for {month} is {plan.status}: assign its teams before publishing")
    plan.status = "published"
    plan.published_at = datetime.now(UTC).replace(microsecond=0)
    session.flush()
    audit.record(session, actor, "plan.publish", month)
    audit.publish_head(session, "publication", month)
    return plan
