"""The staffing snapshot and the team events of a plan (ie-teams-v2, docs/team-protocol.md).

At the freeze, `freeze_staffing` writes everything the team draw reads as one canonical text
and records its hash on the plan (published with the commitment). The draw's merge and the
team draw read only that snapshot. Afterwards every change that touches the month's
staffing (a conflict declared, leave, a certificate cut short, an inspector deactivated or
withdrawn) is a hash-chained event, applied to the stored teams at once if they exist, and
replayed after the draw otherwise.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from inspect_engine.assignment import carryover as carry_kernel
from inspect_engine.assignment import events as team_events
from inspect_engine.assignment import rescheduling
from inspect_engine.assignment import staffing as kernel
from inspect_engine.assignment.schedule import DEFAULT_MAX_VISITS_PER_DAY
from inspect_engine.assignment.types import Month
from inspect_engine.formats.fields import split_list
from inspect_engine.sampling.frames import EnterpriseColumns
from inspect_engine.sampling.frames import Frame as KernelFrame
from inspect_engine.workcalendar import PACKAGE_ONLY, Calendar
from inspect_engine.workflows import audit, carryover
from models import (
    CarryOver,
    Conflict,
    Inspection,
    Inspector,
    Item,
    Leave,
    Plan,
    Selection,
    StaffingSnapshot,
    Task,
    TeamEvent,
    TeamMember,
    Visit,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MANUAL_KINDS = ("withdraw",)
"""Events a supervisor makes by hand (`month reassign`); the other kinds come from directory
imports (conflicts, leave, certificates, deactivations)."""
OPEN_PLAN_STATES = ("frozen", "drawing", "draw_failed", "drawn", "assigned", "published")


def window_month(
    month_first: date, frozen_at: datetime, calendar: Calendar = PACKAGE_ONLY
) -> Month:
    """The plan's month with its visit window: from the later of the freeze day (in
    Asia/Shanghai) and the month's first day, to the month's end. A month frozen after it
    ended (a past month entered late, a replay) keeps the whole month; the snapshot
    records the window either way."""
    freeze_day = frozen_at.astimezone(SHANGHAI).date()
    month = Month.of(month_first.year, month_first.month, working_calendar=calendar)
    if freeze_day <= month.last_day:
        month = Month.of(
            month_first.year, month_first.month, window_first=freeze_day, working_calendar=calendar
        )
    return month


def freeze_staffing(
    session: Session,
    plan: Plan,
    month: Month,
    columns: EnterpriseColumns,
    frames: Sequence[KernelFrame],
    recusal_window_days: int,
    max_visits_per_day: int = DEFAULT_MAX_VISITS_PER_DAY,
    carried: Sequence[carry_kernel.CarriedVisit] = (),
) -> str:
    """Snapshot the staffing for `plan` and return its hash (also set on the plan).
    `carried`: last month's visits still open, listed under `carried` (结转)."""
    rows = np.unique(np.concatenate([f.rows for f in frames])) if frames else np.zeros(0, int)
    codes = columns.credit_code[rows].tolist() + [c.credit_code for c in carried]
    tasks = list(session.scalars(select(Task).where(Task.plan_id == plan.id)))
    item_codes = sorted({code for task in tasks for code in task.items})
    since = month.first_day - timedelta(days=recusal_window_days)
    snapshot = kernel.build(
        month=month,
        settings={
            "recusal_window_days": recusal_window_days,
            "max_visits_per_day": max_visits_per_day,
        },
        items=_items(session, item_codes),
        tasks={
            t.task_code: {"items": list(t.items), "mode": t.mode, "team_size": t.team_size}
            for t in tasks
        },
        inspectors=_inspectors(session),
        leave=session.execute(select(Leave.inspector_id, Leave.starts_on, Leave.ends_on)).tuples(),
        conflicts=_of_units(
            session.execute(select(Conflict.inspector_id, Conflict.credit_code)).tuples(), codes
        ),
        past_inspections=_of_units(
            session.execute(
                select(
                    Inspection.inspector_id, Inspection.credit_code, Inspection.inspected_on
                ).where(Inspection.inspector_id.is_not(None), Inspection.inspected_on >= since)
            ).tuples(),
            codes,
        ),
        enterprises=_enterprise_rows(columns, rows),
    )
    if carried:  # absent otherwise: a month without carry-over hashes as before
        snapshot["carried"] = carry_kernel.snapshot_entries(carried)
    text = kernel.canonical_text(snapshot)
    digest = kernel.staffing_hash(text)
    session.add(StaffingSnapshot(plan_id=plan.id, staffing_hash=digest, text_gz=_gzip(text)))
    plan.staffing_hash = digest
    return digest


def _gzip(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=1, mtime=0)


def _items(session: Session, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {
        item.item_code: kernel.item_entry(
            item.department,
            item.qualification,
            item.min_inspectors,
            split_list(item.entity_types),
            split_list(item.industries),
            split_list(item.licences),
        )
        for item in session.scalars(select(Item).where(Item.item_code.in_(codes)))
    }


def _inspectors(session: Session) -> list[dict[str, Any]]:
    return [
        kernel.inspector_entry(
            i.inspector_id,
            i.department,
            i.unit,
            i.district,
            split_list(i.qualifications),
            i.certificate_expires,
            i.lead,
            i.monthly_capacity,
            i.active,
        )
        for i in session.scalars(select(Inspector))
    ]


def _of_units(rows: Iterable[tuple[Any, ...]], codes: Sequence[str]) -> list[tuple[Any, ...]]:
    """The rows whose credit code (second field) is a unit of the frames."""
    wanted = set(codes)
    return [tuple(row) for row in rows if row[1] in wanted]


def _enterprise_rows(columns: EnterpriseColumns, rows: Any) -> list[list[str]]:
    """[credit_code, unit, district, entity_type, industry, licences] per frame unit."""

    def labels(coded: Any) -> list[str]:
        vocabulary = np.asarray(coded.vocabulary, dtype=object)
        return list(vocabulary[coded.codes[rows]])

    bits = columns.licences.bits[rows]
    cells: dict[int, str] = {}
    for value in np.unique(bits).tolist():
        held = [tag for k, tag in enumerate(columns.licences.vocabulary) if value >> k & 1]
        cells[value] = ";".join(sorted(held))
    licences = [cells[b] for b in bits.tolist()]
    return [
        list(row)
        for row in zip(
            columns.credit_code[rows].tolist(),
            labels(columns.unit),
            labels(columns.district),
            labels(columns.entity_type),
            labels(columns.industry),
            licences,
            strict=True,
        )
    ]


def stored_text(session: Session, plan: Plan) -> str:
    """The plan's snapshot text, checked against the hash published at the freeze."""
    row = session.get(StaffingSnapshot, plan.id)
    if row is None:
        raise ValueError(f"the plan for {plan.month} has no staffing snapshot")
    text = gzip.decompress(row.text_gz).decode("utf-8")
    if kernel.staffing_hash(text) != plan.staffing_hash:
        raise ValueError(f"the staffing snapshot of {plan.month} does not match its hash")
    return text


def load_snapshot(session: Session, plan: Plan) -> kernel.Snapshot:
    return kernel.Snapshot.from_text(stored_text(session, plan))


def plan_selections(session: Session, plan: Plan) -> dict[str, list[str]]:
    query = (
        select(Selection.task_code, Selection.credit_code)
        .join(Task, Task.task_code == Selection.task_code)
        .where(Task.plan_id == plan.id)
    )
    out: dict[str, list[str]] = {}
    for task_code, code in session.execute(query):
        out.setdefault(task_code, []).append(code)
    return {task: sorted(codes) for task, codes in out.items()}


# --------------------------------------------------------------------------- events


def plan_changes(session: Session, plan: Plan) -> list[TeamEvent]:
    return list(
        session.scalars(
            select(TeamEvent).where(TeamEvent.plan_id == plan.id).order_by(TeamEvent.seq)
        )
    )


def staffing_after(
    snapshot: kernel.Snapshot, visits: Sequence[Any], rows: Sequence[TeamEvent]
) -> team_events.Staffing:
    """The snapshot's staffing with the recorded changes applied (teams aside)."""
    state = team_events.Staffing(
        tuple(visits), tuple(snapshot.inspectors()), snapshot.month(), snapshot.recusals()
    )
    for row in rows:
        state = state.changed(team_events.Change.from_dict(row.event))
    return state


def record_change(
    session: Session,
    plan: Plan,
    change: team_events.Change,
    *,
    actor: str,
    source: str,
    reason: str | None = None,
) -> TeamEvent:
    """Append `change` to the plan's chain and apply it to the stored teams, if any."""
    lock_chain(session, plan)
    seq, prev = session.execute(
        select(func.count(TeamEvent.id), func.max(TeamEvent.seq)).where(
            TeamEvent.plan_id == plan.id
        )
    ).one()
    last = session.scalars(
        select(TeamEvent.event_hash).where(TeamEvent.plan_id == plan.id, TeamEvent.seq == prev)
    ).first()
    if plan.status in ("assigned", "published"):
        change = _with_carried_out(session, plan, change)
    prev_hash = last or team_events.GENESIS
    row = TeamEvent(
        plan_id=plan.id,
        seq=int(seq) + 1,
        kind=change.kind,
        event=change.as_dict(),
        actor=actor,
        source=source,
        reason=reason,
        outcome={},
        prev_hash=prev_hash,
        event_hash=team_events.event_hash(prev_hash, change),
    )
    if plan.status in ("assigned", "published"):
        row.outcome = _apply_to_teams(session, plan, change, reason or change.kind)
    session.add(row)
    session.flush()
    audit.record(session, actor, "plan.team_event", plan.month,
                 {"seq": row.seq, "event": row.event, "source": source, "reason": reason,
                  "outcome": row.outcome, "event_hash": row.event_hash})  # fmt: skip
    return row


def lock_chain(session: Session, plan: Plan) -> None:
    """Writers of one plan's events queue on its row (PostgreSQL; on SQLite a writer holds
    the database's write lock), then read the plan and the chain's head as the writer
    before them committed: two imports at once extend one chain, never fork it."""
    session.flush()
    session.execute(select(Plan.id).where(Plan.id == plan.id).with_for_update())
    session.refresh(plan)


def _with_carried_out(
    session: Session, plan: Plan, change: team_events.Change
) -> team_events.Change:
    done = set(
        session.scalars(
            select(Visit.visit_code).where(Visit.plan_id == plan.id, Visit.status != "planned")
        ).all()
    )
    # carried into this plan and done since; handed over to a later plan (its teams now)
    done |= {code for code, v in carryover.carried_rows(session, plan).items()
             if v.status == "visited"}  # fmt: skip
    done |= carryover.handed_over(session, plan)
    return replace(change, carried_out=tuple(sorted(done)))


def current_teams(session: Session, plan: Plan) -> dict[str, tuple[str, ...]]:
    query = (
        select(Visit.visit_code, TeamMember.inspector_id)
        .join(TeamMember, TeamMember.visit_id == Visit.id)
        .where(Visit.plan_id == plan.id, TeamMember.replaced_at.is_(None))
    )
    teams: dict[str, list[str]] = {}
    for code, inspector in session.execute(query):
        teams.setdefault(code, []).append(inspector)
    return {code: tuple(sorted(members)) for code, members in teams.items()}


def team_seed_of(plan: Plan, protocol: str | None = None) -> str:
    """The plan's team seed under its snapshot's protocol (`protocol`, or read from the
    stored snapshot)."""
    from inspect_engine.assignment.keys import team_seed

    assert plan.seed and plan.staffing_hash
    if protocol is None:
        session = object_session(plan)
        assert session is not None
        protocol = load_snapshot(session, plan).protocol
    return team_seed(plan.seed, plan.staffing_hash, protocol)


def current_days(session: Session, plan: Plan) -> dict[str, date]:
    """The scheduled day of each of the plan's visits that has one (ie-teams-v2): its own
    and those carried into it and still open (结转; their row stays in their month)."""
    query = select(Visit.visit_code, Visit.visit_on).where(
        carryover.of_plan(plan.id), Visit.visit_on.is_not(None)
    )
    done = carryover.done_at_draw(session, plan)
    return {code: day for code, day in session.execute(query) if code not in done}


def store_days(session: Session, plan: Plan, days: Mapping[str, date]) -> None:
    """Set visits.visit_on to `days` (a visit without a team has none) for the plan's own
    visits and those carried into it and still open; only rows whose day changes are
    written. A visit handed over to a later month keeps the day that month gave it."""
    skip = carryover.done_at_draw(session, plan) | carryover.handed_over(session, plan)
    query = select(Visit).where(carryover.of_plan(plan.id))
    for visit in session.scalars(query):
        if visit.visit_code in skip:
            continue
        day = days.get(visit.visit_code)
        if visit.visit_on != day:
            visit.visit_on = day
    session.flush()


def _apply_to_teams(
    session: Session, plan: Plan, change: team_events.Change, reason: str
) -> dict[str, Any]:
    snapshot = load_snapshot(session, plan)
    merged = kernel.merge_visits(snapshot, plan_selections(session, plan))
    own, carried = carry_kernel.month_visits(merged, carry_kernel.carried_of(snapshot))
    visits = [v.spec() for v in own] + [c.spec() for c in carried]
    state = staffing_after(snapshot, visits, plan_changes(session, plan))
    teams = current_teams(session, plan)
    done = carryover.done_at_draw(session, plan)  # they hold no place this month
    teams.update({c: m for c, m in carried_teams(session, plan).items() if c not in done})
    seed = team_seed_of(plan, snapshot.protocol)
    cap = snapshot.max_per_day()
    if cap is None:
        _, new_teams, outcome = team_events.apply_change(state, teams, seed, change)
    else:
        _, new_teams, days, outcome = rescheduling.apply_change_days(
            state, teams, current_days(session, plan), seed, change, cap
        )
        store_days(session, plan, days)
    _store_changes(session, plan, teams, new_teams, reason)
    return outcome.as_dict()


def carried_teams(session: Session, plan: Plan) -> dict[str, tuple[str, ...]]:
    """The current teams of the visits carried into the plan."""
    query = (
        select(Visit.visit_code, TeamMember.inspector_id)
        .join(TeamMember, TeamMember.visit_id == Visit.id)
        .join(CarryOver, CarryOver.visit_id == Visit.id)
        .where(CarryOver.plan_id == plan.id, TeamMember.replaced_at.is_(None))
    )
    teams: dict[str, list[str]] = {}
    for code, inspector in session.execute(query):
        teams.setdefault(code, []).append(inspector)
    return {code: tuple(sorted(members)) for code, members in teams.items()}


def _store_changes(
    session: Session,
    plan: Plan,
    before: Mapping[str, tuple[str, ...]],
    after: Mapping[str, tuple[str, ...]],
    reason: str,
) -> None:
    """Close the places that left a team and add the new members; others untouched."""
    now = datetime.now(UTC)
    query = select(Visit.visit_code, Visit.id).where(Visit.plan_id == plan.id)
    ids = {code: visit_id for code, visit_id in session.execute(query)}
    ids.update({code: v.id for code, v in carryover.carried_rows(session, plan).items()})
    for code, old in before.items():
        new = after.get(code, ())
        if set(new) == set(old):
            continue
        for place in session.scalars(
            select(TeamMember).where(
                TeamMember.visit_id == ids[code],
                TeamMember.inspector_id.in_(sorted(set(old) - set(new))),
                TeamMember.replaced_at.is_(None),
            )
        ):
            place.replaced_at = now
            place.replaced_reason = reason
        for member in sorted(set(new) - set(old)):
            session.add(TeamMember(visit_id=ids[code], inspector_id=member, role="member"))
    session.flush()


def open_plans(session: Session) -> list[Plan]:
    """Plans whose staffing is frozen and whose teams can still change."""
    return list(
        session.scalars(
            select(Plan)
            .where(Plan.status.in_(OPEN_PLAN_STATES), Plan.staffing_hash.is_not(None))
            .order_by(Plan.month)  # the order their rows are locked in: no deadlock
        )
    )


def record_directory_changes(
    session: Session, kind: str, rows: Sequence[Mapping[str, Any]], *, actor: str, source: str
) -> int:
    """Imported rows that change a frozen plan's staffing become its events, in file order:
    a new conflict with a unit of its frames, leave overlapping its window, an inspector
    deactivated or whose certificate now ends earlier. The number of events recorded."""
    if kind not in ("conflicts", "leave", "inspectors") or not rows:
        return 0
    recorded = 0
    for plan in open_plans(session):
        lock_chain(session, plan)
        if plan.status not in OPEN_PLAN_STATES:
            continue  # closed by the writer this lock waited for
        snapshot = load_snapshot(session, plan)
        state = staffing_after(snapshot, (), plan_changes(session, plan))
        for change, reason in _changes_for(kind, rows, snapshot, state):
            record_change(session, plan, change, actor=actor, source=source, reason=reason)
            state = state.changed(change)
            recorded += 1
    return recorded


def _changes_for(
    kind: str,
    rows: Sequence[Mapping[str, Any]],
    snapshot: kernel.Snapshot,
    state: team_events.Staffing,
) -> list[tuple[team_events.Change, str | None]]:
    """The changes the rows make, each with the row's own reason (the why of the event)."""
    inspectors = {ins.inspector_id: ins for ins in state.inspectors}
    month = state.month
    out: list[tuple[team_events.Change, str | None]] = []
    if kind == "conflicts":
        units = set(snapshot.enterprises())
        units |= {c.credit_code for c in carry_kernel.carried_of(snapshot)}  # 结转
        for row in rows:
            pair = (row["inspector_id"], row["credit_code"])
            if pair[0] in inspectors and pair[1] in units and pair not in state.recusals.conflicts:
                raised = f"raised by {row.get('raised_by')}, {row.get('raised_on')}"
                why = f"{row.get('reason')} ({raised})"
                out.append((team_events.Change("conflict", pair[0], credit_code=pair[1]), why))
    elif kind == "leave":
        for row in rows:
            ins = inspectors.get(row["inspector_id"])
            starts, ends = row["starts_on"], row["ends_on"]
            overlaps = starts <= month.last_day and ends >= month.window_start
            known = ins is not None and any(
                (r.starts_on, r.ends_on) == (starts, ends) for r in ins.leave
            )
            if ins is not None and overlaps and not known:
                change = team_events.Change(
                    "leave", ins.inspector_id, starts_on=starts, ends_on=ends
                )
                out.append((change, row.get("reason")))
    else:
        for row in rows:
            ins = inspectors.get(row["inspector_id"])
            if ins is None:
                continue
            if ins.active and row.get("active") is False:
                out.append((team_events.Change("deactivate", ins.inspector_id), None))
            elif row["certificate_expires"] < ins.certificate_expires:
                expires = row["certificate_expires"]
                change = team_events.Change("certificate", ins.inspector_id, expires=expires)
                out.append((change, None))
    return out


def record_holiday_changes(session: Session, calendar: Calendar, *, actor: str, source: str) -> int:
    """Each working day of an open ie-teams-v2 plan's window that `calendar` no longer
    counts as one becomes a `holiday` event of that plan (its visits move). Days made
    working by a notice change nothing: no visit must move. The number recorded."""
    recorded = 0
    for plan in open_plans(session):
        lock_chain(session, plan)
        if plan.status not in OPEN_PLAN_STATES:
            continue
        snapshot = load_snapshot(session, plan)
        if snapshot.max_per_day() is None:
            continue  # ie-teams-v1: its visits have no day
        state = staffing_after(snapshot, (), plan_changes(session, plan))
        for day in state.month.window_days:
            if day in state.closed or calendar.is_workday(day):
                continue
            change = team_events.Change("holiday", "", starts_on=day, ends_on=day)
            why = f"{day.isoformat()} is a holiday in the imported notice"
            record_change(session, plan, change, actor=actor, source=source, reason=why)
            recorded += 1
    return recorded
