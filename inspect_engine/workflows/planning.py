"""A month's plan: tasks → frozen frames and commitment → the one draw → visits.

ie-draw-v1 (docs/draw-protocol.md): all the month's frames are frozen together and the
nonce's commitment is published before any draw; the public contribution comes later, in
another command or request; a plan has exactly one draw."""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import numpy as np
from sqlalchemy import CursorResult, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from inspect_engine import faults
from inspect_engine.assignment import carryover as carry_kernel
from inspect_engine.assignment import staffing as staffing_kernel
from inspect_engine.assignment.schedule import DEFAULT_MAX_VISITS_PER_DAY
from inspect_engine.assignment.types import DEFAULT_RECUSAL_WINDOW_DAYS
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.formats.fields import split_list
from inspect_engine.formats.reader import FileRejected, RowError, iter_rows
from inspect_engine.formats.spec import TASKS
from inspect_engine.sampling import protocol
from inspect_engine.sampling.frames import (
    ExclusionPolicy,
    ItemScope,
    TaskFilters,
    TaskSpec,
    build_frame,
)
from inspect_engine.sampling.visits import count_visits, task_seed
from inspect_engine.sealing import NonceKey
from inspect_engine.workflows import audit, carryover, holidays, sizing, staffing
from inspect_engine.workflows import visit_inclusion as plan_pi
from inspect_engine.workflows.authority import check_replaced_tasks, check_task_items
from inspect_engine.workflows.columns import latest_model_version, load_enterprise_columns
from inspect_engine.workflows.imports import ImportRejected
from inspect_engine.workflows.users import Principal
from models import Draw, Frame, Item, Plan, Result, Selection, Task, Visit

MONTH = re.compile(r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$")  # no year 0 (date() refuses it)
MAX_CONTRIBUTION = 1000
DRAWN_STATES = ("drawn", "assigned", "published")
# drawing: the contribution is accepted, the draw not yet complete; draw_failed: completing
# it failed (recorded); either completes only with the contribution accepted.
DRAWING_STATES = ("drawing", "draw_failed")
EVERY_STATE = ("planned", "frozen", *DRAWING_STATES, *DRAWN_STATES)
CLAIM_BATCH = 2000  # visit codes per claiming UPDATE (bound parameters stay few)


def month_start(month: str) -> date:
    if not MONTH.match(month):
        raise InvalidInput(f"month {month!r} is not YYYY-MM")
    return date(int(month[:4]), int(month[5:]), 1)


def get_plan(session: Session, month: str) -> Plan:
    month_start(month)
    plan = session.scalars(select(Plan).where(Plan.month == month)).first()
    if plan is None:
        raise NotFound(f"there is no plan for {month}; run `month plan` first")
    return plan


def claim_plan(
    session: Session, month: str, states: tuple[str, ...], status: str | None = None
) -> bool:
    """A conditional UPDATE of the plan's row (to `status`, or unchanged): it takes the row
    lock on PostgreSQL and the write lock on SQLite, so writers of one plan wait for each
    other and each then reads what the one before committed. False: not in `states`.

    It must be the transaction's first statement: a read before it would see the plan's
    rows as they were before the writer this claim waited for."""
    return _claim(session, Plan.month == month, states, status, f"the plan for {month}")


def claim_plan_of_result(
    session: Session, result_id: int, states: tuple[str, ...] = DRAWN_STATES
) -> bool:
    """`claim_plan` for the plan of a result's visit (a correction, a withdrawal), with the
    same rule: the transaction's first statement. The plan is found by a subquery of the
    same UPDATE, so nothing is read before the lock. False: no such result, or its plan
    is not in `states`."""
    plan_id = (
        select(Visit.plan_id)
        .join(Result, Result.visit_id == Visit.id)
        .where(Result.id == result_id)
        .scalar_subquery()
    )
    return _claim(session, Plan.id == plan_id, states, None, f"the plan of result {result_id}")


def claim_plan_of_visit(
    session: Session, visit_code: str, states: tuple[str, ...] = DRAWN_STATES
) -> bool:
    """`claim_plan` for the plan of a visit (an inspector's submission), found by a subquery
    of the same UPDATE: the transaction's first statement, nothing read before the lock.
    False: no such visit, or its plan is not in `states`."""
    plan_id = select(Visit.plan_id).where(Visit.visit_code == visit_code).scalar_subquery()
    return _claim(session, Plan.id == plan_id, states, None, f"the plan of visit {visit_code}")


def claim_plans_of_visits(
    session: Session, visit_codes: Sequence[str], states: tuple[str, ...] = DRAWN_STATES
) -> int:
    """`claim_plan` for the plans of several visits (a results import may span months), by
    subqueries of the UPDATE, the transaction's first statements. On PostgreSQL the rows
    are locked in month order (FOR UPDATE of an ordered subquery, and batches of sorted
    visit codes, which start with the month), so two imports that share plans queue
    instead of deadlocking. The number of plans claimed."""
    wanted = sorted(set(visit_codes))
    claimed = 0
    for start in range(0, len(wanted), CLAIM_BATCH):
        batch = wanted[start : start + CLAIM_BATCH]
        plan_ids = (
            select(Plan.id)
            .where(
                Plan.id.in_(select(Visit.plan_id).where(Visit.visit_code.in_(batch))),
                Plan.status.in_(states),
            )
            .order_by(Plan.month)  # the batches' order too (visit codes start with it)
            .with_for_update()
        )
        claimed += _claim_count(
            session, Plan.id.in_(plan_ids), states, None, "the plans of the imported visits"
        )
    return claimed


def _claim(
    session: Session, which: Any, states: tuple[str, ...], status: str | None, plan: str
) -> bool:
    return bool(_claim_count(session, which, states, status, plan))


def _claim_count(
    session: Session, which: Any, states: tuple[str, ...], status: str | None, plan: str
) -> int:
    claim = (
        update(Plan)
        .where(which, Plan.status.in_(states))
        .values(status=status if status is not None else Plan.status)
        .execution_options(synchronize_session=False)
    )
    try:
        outcome: CursorResult[Any] = session.execute(claim)  # type: ignore[assignment]
    except OperationalError as exc:
        # SQLite: a transaction that has already read cannot become a writer once another
        # writer committed, and a writer waits at most the busy timeout (a long import may
        # hold the lock longer). PostgreSQL waits on the row instead and never gets here.
        if session.get_bind().dialect.name != "sqlite" or "locked" not in str(exc.orig):
            raise
        raise Conflict(
            f"another request is changing {plan}, or changed it meanwhile; try again"
        ) from None
    return int(outcome.rowcount)


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class PlanSummary:
    month: str
    tasks: tuple[str, ...]
    warnings: tuple[str, ...] = ()  # ignored columns; the expected load over capacity
    sizing: dict[str, Any] | None = None  # `fit_capacity`: the λ chosen, the loads


def plan_month(
    session: Session,
    month: str,
    tasks_path: Path,
    actor: str = "cli",
    *,
    principal: Principal | None = None,
    policy: ExclusionPolicy | None = None,
    fit_capacity: bool = False,
    utilisation: float = 0.9,
) -> PlanSummary:
    """Create the month's plan from tasks.csv, or replace its tasks while not yet frozen.

    With an exclusion `policy` the tasks are held against the staff: `fit_capacity` sizes
    the draw to it (λ per task and class kept on the tasks, refused with the shortfall
    when the mandated minimums do not fit); otherwise a warning says where the tasks'
    ratios would ask more inspector-visits than the staff holds.

    An existing plan is claimed first, so that concurrent uploads replace its tasks one
    after the other; two requests creating the same new plan at once (PostgreSQL: no row
    to lock yet) end in one plan and a Conflict for the other. A supervisor (`principal`;
    None: the operator) must hold the departments of every task he brings or replaces."""
    month_start(month)
    claim_plan(session, month, ("planned",))
    rows, warnings, numbered = _read_tasks(session, tasks_path)
    plan = session.scalars(
        select(Plan).where(Plan.month == month).execution_options(populate_existing=True)
    ).first()
    if plan is not None and plan.status != "planned":
        raise Conflict(f"the plan for {month} is {plan.status}; its tasks can no longer change")
    if plan is not None:
        check_replaced_tasks(session, principal, month, plan.id)
    check_task_items(session, principal, numbered)
    taken = session.execute(
        select(Task.task_code, Plan.month)
        .join(Plan, Plan.id == Task.plan_id)
        .where(Task.task_code.in_([r["task_code"] for r in rows]))
        .where(Task.plan_id != (plan.id if plan else -1))
    ).all()
    if any(other == month for _, other in taken):
        # PostgreSQL: a concurrent upload created this month's plan after our read of it
        raise Conflict(f"another request created the plan for {month} meanwhile; try again")
    if taken:
        used = ", ".join(code for code, _ in taken)
        raise Conflict(f"task codes already used by another month's plan: {used}")
    if plan is None:
        plan = _new_plan(session, month)
    session.execute(delete(Task).where(Task.plan_id == plan.id))
    for row in rows:
        session.add(_task_row(plan.id, row))
    plan.sizing = None  # new tasks: an earlier sizing no longer holds
    session.flush()
    codes = tuple(r["task_code"] for r in rows)
    audit.record(session, actor, "plan.tasks", month, {"tasks": list(codes)})
    if policy is None:
        return PlanSummary(month, codes, tuple(warnings))
    specs = task_specs(session, plan, sized=False)
    if fit_capacity:
        chosen = sizing.fit_plan(session, month, specs, policy, actor, utilisation=utilisation)
        named = [sizing.overflow_warning(o) for o in chosen.overflows]
        return PlanSummary(month, codes, (*warnings, *named), sizing.stored(chosen))
    over = sizing.capacity_warnings(session, month, specs, policy, utilisation=utilisation)
    return PlanSummary(month, codes, (*warnings, *over))


def _new_plan(session: Session, month: str) -> Plan:
    plan = Plan(month=month, status="planned")
    try:
        with session.begin_nested():  # a savepoint: the losing insert alone is undone
            session.add(plan)
    except IntegrityError:
        raise Conflict(
            f"another request created the plan for {month} meanwhile; try again"
        ) from None
    return plan


def _read_tasks(
    session: Session, path: Path
) -> tuple[list[dict[str, Any]], list[str], list[tuple[int, list[str]]]]:
    """tasks.csv, validated like every import: row-numbered errors, nothing half-read; the
    rows, the reader's warnings, and each row's number with its item codes."""
    items = {i.item_code: i for i in session.scalars(select(Item))}
    errors: list[RowError] = []
    rows: list[dict[str, Any]] = []
    numbered: list[tuple[int, list[str]]] = []
    seen: set[str] = set()
    warnings: list[str] = []
    try:
        for parsed in iter_rows(TASKS, path, warnings):
            errors.extend(parsed.errors)
            if parsed.errors:
                continue
            values = parsed.values
            problem = _task_problem(values, items, seen)
            if problem is not None:
                errors.append(RowError(parsed.row, problem[0], problem[1]))
            seen.add(values["task_code"])
            rows.append(values)
            numbered.append((parsed.row, split_list(values["items"])))
    except FileRejected as exc:
        raise ImportRejected("tasks", exc.errors, len(exc.errors), warnings) from None
    if not errors and not rows:
        errors.append(RowError(1, None, "the file has no tasks"))
    if errors:
        raise ImportRejected("tasks", errors[:100], len(errors), warnings)
    return rows, warnings, numbered


def _task_problem(
    values: dict[str, Any], items: dict[str, Item], seen: set[str]
) -> tuple[str, str] | None:
    if values["task_code"] in seen:
        return "task_code", f"{values['task_code']!r} appears earlier in this file"
    unknown = [code for code in split_list(values["items"]) if code not in items]
    if unknown:
        return "items", f"unknown item(s): {', '.join(unknown)}"
    least = values.get("min_ratio")
    above = [c for c in "ABCD" if least is not None and least > values[f"ratio_{c}"]]
    if above:
        return "min_ratio", f"{least} is above ratio_{above[0]} = {values[f'ratio_{above[0]}']}"
    try:
        task_spec(_task_row(0, values), items)
    except ValueError as exc:
        return "task", str(exc)
    return None


def _task_row(plan_id: int, values: dict[str, Any]) -> Task:
    filters = {
        name: split_list(values[name])
        for name in ("entity_types", "industries", "districts", "licences")
        if values[name]
    }
    return Task(
        task_code=values["task_code"],
        plan_id=plan_id,
        title=values["title"],
        items=split_list(values["items"]),
        targeted=values["targeted"],
        filters=filters,
        ratios={c: _decimal_text(values[f"ratio_{c}"]) for c in "ABCD"},
        floor=_decimal_text(values["floor"]),
        mode=values["mode"],
        team_size=values["team_size"],
        min_ratio=None if values.get("min_ratio") is None else _decimal_text(values["min_ratio"]),
    )


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def task_spec(task: Task, items: dict[str, Item], *, sized: bool = True) -> TaskSpec:
    """The kernel's view of a stored task (raises ValueError with the kernel's reason):
    with the λ the sizing chose in place of its ratios, if it was sized (`sized`)."""
    scopes = [
        ItemScope(
            item_code=i.item_code,
            department=i.department,
            kind=i.kind,
            entity_types=split_list(i.entity_types),
            industries=split_list(i.industries),
            licences=split_list(i.licences),
            qualification=i.qualification,
            min_inspectors=i.min_inspectors,
        )
        for i in (items[code] for code in task.items)
    ]
    return TaskSpec(
        task_code=task.task_code,
        title=task.title,
        items=scopes,
        ratios=dict(task.sized_ratios if sized and task.sized_ratios else task.ratios),  # type: ignore[arg-type]
        floor=task.floor,  # type: ignore[arg-type]
        targeted=task.targeted,
        filters=TaskFilters(**task.filters),
        mode=task.mode,
        team_size=task.team_size,
        min_ratio=None if task.min_ratio is None else float(task.min_ratio),
    )


def task_specs(session: Session, plan: Plan, *, sized: bool = True) -> dict[str, TaskSpec]:
    items = {i.item_code: i for i in session.scalars(select(Item))}
    tasks = session.scalars(select(Task).where(Task.plan_id == plan.id).order_by(Task.task_code))
    return {t.task_code: task_spec(t, items, sized=sized) for t in tasks}


# --------------------------------------------------------------------------- freeze


@dataclass(frozen=True)
class FrozenFrame:
    task_code: str
    frame_hash: str
    units: int
    expected_size: float
    exclusions: dict[str, int]


@dataclass(frozen=True)
class FreezeResult:
    month: str
    group_hash: str
    commitment: str
    committed_at: str
    frames: tuple[FrozenFrame, ...]
    staffing_hash: str | None = None
    contribution_source: str | None = None


MAX_SOURCE = 500
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters (line breaks included): refused in a published one-line text."""


def freeze_month(
    session: Session,
    month: str,
    policy: ExclusionPolicy,
    actor: str = "cli",
    *,
    source: str | None = None,
    recusal_window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS,
    nonce_key: NonceKey | None = None,
    max_visits_per_day: int = DEFAULT_MAX_VISITS_PER_DAY,
) -> FreezeResult:
    """Build and freeze every task's frame, then commit to a fresh secret nonce. The claim
    on the plan comes first: a concurrent freeze waits, then finds the plan frozen and
    shows the same commitment (a published commitment must never have a twin)."""
    first_day = month_start(month)
    claimed = claim_plan(session, month, ("planned",))
    plan = get_plan(session, month)
    session.refresh(plan)  # as the freeze this one waited for left it
    if not claimed:
        return _frozen_result(session, plan)  # already frozen: show the same commitment
    if source is not None and len(source) > MAX_SOURCE:
        raise InvalidInput(f"the contribution's source is longer than {MAX_SOURCE} characters")
    if source is not None and CONTROL.search(source):
        # published as it is, on the site and in the feed, where XML forbids them
        raise InvalidInput("the contribution's source must be one line of printable text")
    specs = task_specs(session, plan)
    if not specs:
        raise Conflict(f"the plan for {month} has no tasks")
    departments = {item.department for spec in specs.values() for item in spec.items}
    columns = load_enterprise_columns(
        session,
        as_of=first_day,
        year=first_day.year,
        departments=departments,
        recent_since=policy.window_start(first_day),
    )
    pairs = []
    built = []
    for code, spec in specs.items():
        try:
            frame = build_frame(columns, spec, policy, first_day)
        except ValueError as error:  # e.g. a floor this frame cannot honour: name the task
            raise InvalidInput(str(error)) from None
        built.append(frame)
        text = protocol.frame_text(frame.credit_code, frame.lambda_texts())
        frame_hash = protocol.sha256_hex(text)
        pairs.append((code, frame_hash))
        session.add(
            Frame(
                task_code=code,
                frame_hash=frame_hash,
                units=len(frame),
                frame_text_gz=_gzip(text),
                risk_classes_gz=_gzip("".join(frame.risk_class.tolist())),
                classes=frame.summary().as_dict()["classes"],
                lambda_provenance=dict(frame.lambda_provenance),
                exclusions=frame.exclusions.counts(),
                exclusions_text_gz=_gzip(frame.exclusions.text()),
            )
        )
    nonce = protocol.new_nonce()
    now = datetime.now(UTC).replace(microsecond=0)
    carried = carryover.open_visits_of(session, month)  # 结转: fixed now, in the snapshot
    staffing_hash = staffing.freeze_staffing(
        session,
        plan,
        staffing.window_month(first_day, now, holidays.calendar(session)),
        columns,
        built,
        recusal_window_days,
        max_visits_per_day,
        carried,
    )
    carryover.link(session, plan, carried)
    plan.contribution_source = source
    commitment = protocol.commit_plan(pairs, now, nonce)
    plan.status = "frozen"
    plan.model_version_id = latest_model_version(session)  # the classes the frames used
    plan.group_hash = commitment.group_hash
    plan.nonce_sealed = sealing_key(nonce_key).seal(nonce, month, commitment.commitment)
    plan.commitment = commitment.commitment
    plan.committed_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "plan.freeze",
        month,
        {
            "group_hash": commitment.group_hash,
            "commitment": commitment.commitment,
            "committed_at": commitment.committed_at,
            "frames": dict(pairs),
            "staffing_hash": staffing_hash,
            "contribution_source": source,
            "carried_over": len(carried),  # 结转: listed in the staffing snapshot
        },
    )
    audit.publish_head(session, "freeze", month)
    return _frozen_result(session, plan)


def frozen_result(session: Session, plan: Plan) -> FreezeResult:
    """What the freeze published (the announcement, the desk), read back from the plan."""
    return _frozen_result(session, plan)


def _frozen_result(session: Session, plan: Plan) -> FreezeResult:
    frames = plan_frames(session, plan)
    assert plan.group_hash and plan.commitment and plan.committed_at
    return FreezeResult(
        month=plan.month,
        group_hash=plan.group_hash,
        commitment=plan.commitment,
        committed_at=protocol.utc_timestamp(_aware(plan.committed_at)),
        frames=tuple(
            FrozenFrame(
                f.task_code,
                f.frame_hash,
                f.units,
                sum(c["expected"] for c in f.classes.values()),
                dict(f.exclusions),
            )
            for f in frames
        ),
        staffing_hash=plan.staffing_hash,
        contribution_source=plan.contribution_source,
    )


def plan_frames(session: Session, plan: Plan) -> list[Frame]:
    query = (
        select(Frame)
        .join(Task, Task.task_code == Frame.task_code)
        .where(Task.plan_id == plan.id)
        .order_by(Frame.task_code)
    )
    return list(session.scalars(query))


def _gzip(text: str) -> bytes:
    # Level 1: a city-wide frame (tens of MB of text) compresses 4x faster than at the
    # default level and only about 10% larger; every reader just decompresses.
    return gzip.compress(text.encode("utf-8"), compresslevel=1, mtime=0)


def frame_lines(frame: Frame) -> tuple[list[str], list[str]]:
    """The frozen frame back: credit codes and λ texts, in frame order. The text is the one
    that was hashed at the freeze; a stored frame that no longer matches its hash raises."""
    data = gzip.decompress(frame.frame_text_gz)
    if hashlib.sha256(data).hexdigest() != frame.frame_hash:
        raise ValueError(f"the stored frame of {frame.task_code} does not match its frame hash")
    text = data.decode("utf-8")
    # "<code>,<λ>\n" lines: one split of the whole text, then every other field (a
    # per-line split costs seconds on a city-wide frame).
    fields = text.replace("\n", ",").split(",")
    if fields.pop() != "" or len(fields) != 2 * text.count("\n"):
        raise ValueError(f"the stored frame of {frame.task_code} is not <code>,<lambda> lines")
    return fields[0::2], fields[1::2]


def _aware(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; stored times are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- draw


@dataclass(frozen=True)
class DrawResult:
    month: str
    seed: str
    records: tuple[dict[str, Any], ...]
    visits: int
    summary: dict[str, Any] = field(default_factory=dict)
    first_request: bool = True  # False: the plan had been drawn; these are its records


def draw_month(
    session: Session,
    month: str,
    contribution: str,
    actor: str = "cli",
    *,
    nonce_key: NonceKey | None = None,
) -> DrawResult:
    """The plan's one draw in the caller's one transaction (tests, benchmarks: all or
    nothing). Commands and requests use `workflows.drawing.draw_recorded`, which commits
    the accepted contribution first and records a failure of the rest."""
    earlier = accept_contribution(session, month, contribution, actor, nonce_key=nonce_key)
    if earlier is not None:
        return earlier
    return complete_draw(session, month, contribution, actor, nonce_key=nonce_key)


class DrawInProgress(Conflict):
    """Another request's contribution was accepted and its draw is not complete yet."""


def accept_contribution(
    session: Session,
    month: str,
    contribution: str,
    actor: str = "cli",
    *,
    nonce_key: NonceKey | None = None,
) -> DrawResult | None:
    """Step one of the draw: the plan takes the contribution (state `drawing`, with the
    time), once and for all. None: accepted now or earlier, `complete_draw` comes next; a
    DrawResult: the plan had been drawn, these are its records. The claim is the first
    statement, so that concurrent requests queue on it."""
    _check_contribution(contribution)
    month_start(month)
    now = datetime.now(UTC).replace(microsecond=0)
    outcome: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Plan)
        .where(Plan.month == month, Plan.status == "frozen")
        .values(status="drawing", contribution=contribution, drawn_at=now)
        .execution_options(synchronize_session=False)
    )
    plan = get_plan(session, month)
    session.refresh(plan)
    if outcome.rowcount:
        # The key must open the nonce before a contribution is bound to the plan.
        _open_nonce(plan, nonce_key)
        audit.record(
            session,
            actor,
            "plan.draw.accept",
            month,
            {"contribution": contribution, "accepted_at": protocol.utc_timestamp(now)},
        )
        return None
    if plan.status == "drawing" and plan.contribution != contribution:
        # Another request accepted its contribution and is completing the draw: wait on
        # the plan's row for it, then answer with its records (one draw per plan).
        claim_plan(session, month, ("drawing",))
        session.refresh(plan)
    if plan.status in DRAWN_STATES:
        return _existing_draw(session, plan)
    if plan.status == "drawing" and plan.contribution != contribution:
        raise DrawInProgress(
            f"the plan for {month} accepted another contribution, {plan.contribution!r}, and "
            "its draw is being completed; ask again for its records"
        )
    if plan.status in DRAWING_STATES:
        _require_accepted(plan, contribution)
        return None
    raise Conflict(f"the plan for {month} is {plan.status}: freeze it before the draw")


def complete_draw(
    session: Session,
    month: str,
    contribution: str,
    actor: str = "cli",
    *,
    nonce_key: NonceKey | None = None,
) -> DrawResult:
    """Step two: reveal the nonce, draw every frame, store records, selections, visits.
    Only the accepted contribution completes it; a drawn plan returns its records."""
    claimed = _move_accepted(session, month, contribution, "drawn")
    plan = get_plan(session, month)
    session.refresh(plan)
    if not claimed:
        if plan.status in DRAWN_STATES:
            return _existing_draw(session, plan)
        if plan.status in DRAWING_STATES:
            _require_accepted(plan, contribution)
        raise Conflict(f"the plan for {month} is {plan.status}: no contribution is accepted")
    plan.nonce = _open_nonce(plan, nonce_key)  # the reveal
    assert plan.drawn_at is not None
    return _draw(session, plan, contribution, _aware(plan.drawn_at), actor)


def _move_accepted(session: Session, month: str, contribution: str, status: str) -> bool:
    """The plan, being drawn with exactly this contribution, moves to `status` (a
    conditional UPDATE: the claim on the plan's row). False: no such plan in that state."""
    outcome: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(Plan)
        .where(
            Plan.month == month,
            Plan.status.in_(DRAWING_STATES),
            Plan.contribution == contribution,
        )
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
    return bool(outcome.rowcount)


def record_draw_failure(
    session: Session, month: str, contribution: str, error: str, actor: str = "cli"
) -> bool:
    """After a failed `complete_draw` (rolled back), in a transaction of its own: the plan
    is `draw_failed`, and the audit log says why. False: the plan was not being drawn with
    this contribution, nothing recorded."""
    if not _move_accepted(session, month, contribution, "draw_failed"):
        return False
    details = {"contribution": contribution, "error": error}
    audit.record(session, actor, "plan.draw.failed", month, details)
    return True


def _require_accepted(plan: Plan, contribution: str) -> None:
    if plan.contribution != contribution:
        accepted_at = protocol.utc_timestamp(_aware(plan.drawn_at)) if plan.drawn_at else "?"
        raise Conflict(
            f"the plan for {plan.month} accepted the contribution {plan.contribution!r} at "
            f"{accepted_at}; its draw completes only with that contribution"
        )


def sealing_key(key: NonceKey | None) -> NonceKey:
    """The caller's key, or the configured one (INSPECT_NONCE_KEY)."""
    if key is not None:
        return key
    from inspect_engine.settings import Settings  # read only when no key is passed

    return Settings().sealing_key()


def _open_nonce(plan: Plan, key: NonceKey | None) -> str:
    assert plan.commitment is not None
    return sealing_key(key).open(plan.nonce_sealed, plan.month, plan.commitment)


def _check_contribution(contribution: str) -> None:
    if not contribution:
        raise InvalidInput("the public contribution is empty")
    if len(contribution) > MAX_CONTRIBUTION:
        raise InvalidInput(f"the public contribution is longer than {MAX_CONTRIBUTION} characters")


def _draw(session: Session, plan: Plan, contribution: str, now: datetime, actor: str) -> DrawResult:
    frames = plan_frames(session, plan)
    assert plan.nonce and plan.group_hash and plan.commitment and plan.committed_at
    commitment = protocol.PlanCommitment(
        group=tuple(sorted((f.task_code, f.frame_hash) for f in frames)),
        group_hash=plan.group_hash,
        commitment=plan.commitment,
        committed_at=protocol.utc_timestamp(_aware(plan.committed_at)),
    )
    reveal = protocol.reveal_plan(commitment, plan.nonce, contribution, now)
    plan.seed = reveal.seed
    query = select(Task.task_code, Task.title).where(Task.plan_id == plan.id)
    titles: dict[str, str] = {code: title for code, title in session.execute(query)}
    records: list[dict[str, Any]] = []
    selections: dict[str, list[str]] = {}
    independent: dict[str, list[str]] = {}
    lines: list[plan_pi.FrameLines] = []
    for frame in frames:
        codes, lambdas = frame_lines(frame)
        classes = list(gzip.decompress(frame.risk_classes_gz).decode("ascii"))
        drawn = protocol.draw_frame(codes, lambdas, reveal.seed, hashed=frame.frame_hash)
        record = protocol.draw_record(
            frame.task_code,
            titles[frame.task_code],
            drawn,
            commitment,
            reveal,
            risk_classes=classes,
        )
        # How this task's λ were made (ratios, floor, classes, exclusions): aggregate
        # figures only, never a unit's class; verifiers ignore the field.
        record["lambda_policy"] = {
            **frame.lambda_provenance,
            "risk_model_version": plan.model_version_id,
        }
        # The promise: each distinct λ's exact probability of selection in this frame, and
        # per risk class beside its λ (older frames without π record none).
        pi_of = frame_inclusion(frame)
        lines.append(plan_pi.FrameLines.of(codes, drawn.lambdas, pi_of))
        if pi_of:
            record["inclusion"] = [{"lambda": lam, "pi": pi} for lam, pi in pi_of.items()]
            for row in record.get("classes", []):
                row["pi"] = frame.classes.get(row["risk_class"], {}).get("pi")
        # The second random's commitment and the declared source, published at the freeze
        # (extra fields: the draw verifier ignores them, the teams verifier reads them).
        record["staffing_hash"] = plan.staffing_hash
        record["contribution_source"] = plan.contribution_source
        records.append(record)
        session.add(Draw(task_code=frame.task_code, plan_id=plan.id, record=record, drawn_at=now))
        _store_selections(session, frame.task_code, drawn, classes, pi_of)
        selections[frame.task_code] = list(drawn.selected)
        if len(frames) == 1:
            # One task alone: any seed selects exactly n units (n depends on λ only), so
            # independent seeds would make the same number of visits.
            independent[frame.task_code] = selections[frame.task_code]
            continue
        # The counterfactual needs only the selection, not a second record: the frame's
        # hash and λ are those just computed, so only the PRNs are drawn again.
        alone = protocol.pareto_select(
            codes, drawn.lambdas, protocol.prn(task_seed(reveal.seed, frame.task_code), codes)
        )
        independent[frame.task_code] = [codes[i] for i in np.flatnonzero(alone).tolist()]
    session.flush()
    faults.checkpoint("draw.after_selections")
    visits = _store_visits(session, plan, selections)
    # Each drawn enterprise's probability of a visit under the whole plan, stored once for
    # the estimates and the history (deterministic from the seed: a redone draw agrees).
    drawn_codes = {code for chosen in selections.values() for code in chosen}
    plan_pi.store(session, plan.id, *plan_pi.compute(lines, reveal.seed, sorted(drawn_codes)))
    plan.summary = {
        "selections": sum(len(s) for s in selections.values()),
        "visits": visits,
        "visits_with_independent_seeds": count_visits(independent),
        "visits_saved_by_coordination": count_visits(independent) - visits,
    }
    session.flush()
    audit.record(
        session,
        actor,
        "plan.draw",
        plan.month,
        {"contribution": contribution, "seed": reveal.seed, **plan.summary},
    )
    audit.publish_head(session, "draw", plan.month)
    return DrawResult(plan.month, reveal.seed, tuple(records), visits, dict(plan.summary))


def frame_inclusion(frame: Frame) -> dict[str, str]:
    """λ text → π text of a frozen frame, ordered by λ (empty for frames frozen before π
    was recorded)."""
    pairs = {c["lambda"]: c["pi"] for c in frame.classes.values() if c.get("units") and c.get("pi")}
    return {lam: pairs[lam] for lam in sorted(pairs, key=Fraction)}


def _store_selections(
    session: Session,
    task_code: str,
    drawn: protocol.FrameDraw,
    classes: Sequence[str],
    pi_of: Mapping[str, str],
) -> None:
    # One executemany, not an ORM object per row: a month has tens of thousands.
    rows = [
        {
            "task_code": task_code,
            "credit_code": drawn.codes[position],
            "lambda": drawn.lambda_texts[position],
            "risk_class": classes[position],
            "prn": float(drawn.u[position]),
            "pi": pi_of.get(drawn.lambda_texts[position]),
        }
        for position in np.flatnonzero(drawn.mask).tolist()
    ]
    if rows:
        session.execute(insert(cast(Table, Selection.__table__)), rows)


def _store_visits(session: Session, plan: Plan, selections: dict[str, list[str]]) -> int:
    """One visit per enterprise: every task that drew it, every item that applies, merged
    from the staffing snapshot frozen with the frames (never from the directory as it is
    now: a change made after the freeze cannot change or break the draw)."""
    snapshot = staffing.load_snapshot(session, plan)
    merged = staffing_kernel.merge_visits(snapshot, selections)
    # 结转: a carried enterprise drawn again is one visit, the carried one (carryover.absorb)
    visits, carried = carry_kernel.month_visits(merged, carry_kernel.carried_of(snapshot))
    carryover.absorb(session, carried)
    rows = [
        {
            "visit_code": visit.visit_id,
            "plan_id": plan.id,
            "credit_code": visit.credit_code,
            "task_codes": list(visit.task_codes),
            "item_codes": list(visit.item_codes),
            "departments": list(visit.departments),
            "mode": str(visit.mode),
            "team_size": visit.team_size,
        }
        for visit in visits
    ]
    if rows:  # one executemany: the ORM would insert visit by visit to learn each id
        session.execute(insert(cast(Table, Visit.__table__)), rows)
    return len(merged)  # the enterprises the draw visits, a carried one drawn again once


def _existing_draw(session: Session, plan: Plan) -> DrawResult:
    draws = session.scalars(select(Draw).where(Draw.plan_id == plan.id).order_by(Draw.task_code))
    records = tuple(d.record for d in draws)
    return DrawResult(
        plan.month,
        plan.seed or "",
        records,
        int(plan.summary.get("visits", 0)),
        dict(plan.summary),
        first_request=False,
    )


# --------------------------------------------------------------------------- export


def auditor_record(session: Session, task_code: str) -> dict[str, Any]:
    """The draw record with its frame and the count selected per risk class (for auditors;
    the public record has neither: DRAW-SPEC, `classes`)."""
    draw = session.get(Draw, task_code)
    frame = session.get(Frame, task_code)
    if draw is None or frame is None:
        raise NotFound(f"task {task_code} has not been drawn")
    codes, lambdas = frame_lines(frame)
    record = dict(draw.record)
    if "classes" in record:
        counts = _selected_per_class(session, task_code)
        record["classes"] = [
            {**row, "selected": counts.get(row["risk_class"], 0)} for row in record["classes"]
        ]
    record["frame"] = [
        {"credit_code": c, "lambda": lam} for c, lam in zip(codes, lambdas, strict=True)
    ]
    return record


def _selected_per_class(session: Session, task_code: str) -> dict[str | None, int]:
    """Units selected per risk class, from the selections the draw stored."""
    query = (
        select(Selection.risk_class, func.count())
        .where(Selection.task_code == task_code)
        .group_by(Selection.risk_class)
    )
    return {risk_class: int(count) for risk_class, count in session.execute(query)}
