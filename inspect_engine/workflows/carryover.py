"""Carry-over (结转): last month's open visits are scheduled first in the next month.

The kernel (`assignment/carryover.py`) defines the protocol; this module reads and writes
the rows. A carried visit keeps its `visits` row, code, selection and results in the month
that drew it (its π and estimates belong there); a `carried_visits` row links it to the
plan that schedules and staffs it next. The carried set is fixed at that plan's freeze and
written into its staffing snapshot (hash-committed); a carried visit carried out after that
freeze is only marked done, never rescheduled.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy.orm import Session, aliased

from inspect_engine.assignment import carryover as kernel
from inspect_engine.assignment.events import Change
from inspect_engine.assignment.staffing import Snapshot
from inspect_engine.assignment.types import OfficeMode
from inspect_engine.workflows import audit
from models import AuditEntry, CarryOver, Enterprise, Inspector, Item, Plan, TeamMember, Visit

CARRIED_PLAN_STATES = ("drawn", "assigned", "published")
RECHECK_ACTION = "plan.carried_teams"  # (`plan.carry_over` is `month close`'s)
BATCH = 2000


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


def of_plan(plan_id: int) -> ColumnElement[bool]:
    """The visits a plan schedules: its own and those carried into it."""
    carried = select(CarryOver.visit_id).where(CarryOver.plan_id == plan_id)
    return or_(Visit.plan_id == plan_id, Visit.id.in_(carried))


def open_visits_of(session: Session, month: str) -> list[kernel.CarriedVisit]:
    """The visits `month` would carry over now: those of the previous month's plan (its own
    and those it carried) not yet visited, each with its current team. None when the
    previous month has no drawn plan."""
    previous = session.scalars(
        select(Plan).where(
            Plan.month == previous_month(month), Plan.status.in_(CARRIED_PLAN_STATES)
        )
    ).first()
    if previous is None:
        return []
    months = dict(session.execute(select(Plan.id, Plan.month)).tuples().all())
    rows = list(
        session.scalars(
            select(Visit)
            .where(of_plan(previous.id), Visit.status != "visited")
            .order_by(Visit.visit_code)
        )
    )
    if not rows:
        return []
    teams = _teams(session, [v.id for v in rows])
    codes = sorted({v.credit_code for v in rows})
    places: dict[str, tuple[str, str]] = {}
    for start in range(0, len(codes), BATCH):  # bound parameters stay few
        query = select(Enterprise.credit_code, Enterprise.unit, Enterprise.district).where(
            Enterprise.credit_code.in_(codes[start : start + BATCH])
        )
        places.update((code, (unit, district)) for code, unit, district in session.execute(query))
    items = {
        code: (department, qualification or None)
        for code, department, qualification in session.execute(
            select(Item.item_code, Item.department, Item.qualification)
        ).tuples()
    }
    return [
        kernel.CarriedVisit(
            visit_id=v.visit_code,
            credit_code=v.credit_code,
            unit=places[v.credit_code][0],
            district=places[v.credit_code][1],
            month=months[v.plan_id],
            task_codes=tuple(sorted(v.task_codes)),
            item_codes=tuple(sorted(v.item_codes)),
            departments=tuple(sorted(v.departments)),
            qualifications=kernel.sorted_pairs(items[i] for i in v.item_codes),
            mode=OfficeMode(v.mode),
            team_size=v.team_size,
            team=tuple(sorted(teams.get(v.id, ()))),
        )
        for v in rows
    ]


def _teams(session: Session, visit_ids: Sequence[int]) -> dict[int, list[str]]:
    teams: dict[int, list[str]] = {}
    for start in range(0, len(visit_ids), BATCH):  # bound parameters stay few
        query = select(TeamMember.visit_id, TeamMember.inspector_id).where(
            TeamMember.visit_id.in_(visit_ids[start : start + BATCH]),
            TeamMember.replaced_at.is_(None),
        )
        for visit_id, inspector_id in session.execute(query).tuples():
            teams.setdefault(visit_id, []).append(inspector_id)
    return teams


# --------------------------------------------------------------------------- sizing


@dataclass(frozen=True)
class CarriedLoad:
    """What the carried visits take from next month's staff, for sizing the draw.

    `places`: (department, office) -> places held by the current teams' members (the
    inspector's own department and office). `unplaced`: department -> places of visits
    carried without a full team (one per department, the rest on its first department)."""

    visits: tuple[kernel.CarriedVisit, ...]
    places: dict[tuple[str, str], int]
    unplaced: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.places.values()) + sum(self.unplaced.values())


def carried_load(session: Session, month: str) -> CarriedLoad:
    """The visits `month` carries over and the inspector-visits they hold: after the freeze
    the set fixed in its snapshot, before it the previous month's open visits now."""
    plan = session.scalars(select(Plan).where(Plan.month == month)).first()
    frozen = plan is not None and plan.staffing_hash is not None
    visits = (
        carried_in_snapshot(session, plan) if frozen and plan else open_visits_of(session, month)
    )
    members = {m for v in visits for m in v.team}
    where = dict(
        (i, (department, unit))
        for i, department, unit in session.execute(
            select(Inspector.inspector_id, Inspector.department, Inspector.unit).where(
                Inspector.inspector_id.in_(members)
            )
        ).tuples()
    )
    places: Counter[tuple[str, str]] = Counter()
    unplaced: Counter[str] = Counter()
    for visit in visits:
        if len(visit.team) >= visit.team_size:
            places.update(where[m] for m in visit.team if m in where)
            continue
        unplaced.update(visit.departments)
        unplaced[visit.departments[0]] += visit.team_size - len(visit.departments)
    return CarriedLoad(tuple(visits), dict(sorted(places.items())), dict(sorted(unplaced.items())))


def carried_in_snapshot(session: Session, plan: Plan) -> list[kernel.CarriedVisit]:
    from inspect_engine.workflows import staffing  # staffing reads this module too

    return kernel.carried_of(staffing.load_snapshot(session, plan))


# --------------------------------------------------------------------------- freeze, draw


def link(session: Session, plan: Plan, carried: Iterable[kernel.CarriedVisit]) -> None:
    """At the freeze: the carried visits join the plan (the snapshot lists them too)."""
    codes = [c.visit_id for c in carried]
    if not codes:
        return
    for start in range(0, len(codes), BATCH):
        batch = codes[start : start + BATCH]
        rows = session.execute(select(Visit.id, Visit.visit_on).where(Visit.visit_code.in_(batch)))
        # the day it had in its month (v2): that month's record ends with it
        session.add_all(
            CarryOver(plan_id=plan.id, visit_id=visit_id, handed_over_on=day)
            for visit_id, day in rows.tuples()
        )
    session.flush()


def absorb(session: Session, carried: Sequence[kernel.CarriedVisit]) -> int:
    """At the draw: a carried enterprise drawn again is one visit, the carried one, which
    takes on the new tasks' items. Its row stays in its own month (its earlier items'
    π and results belong there); the new tasks' selections, with their π, stay in this
    month's `selections`. The number of visits changed."""
    changed = 0
    for visit in carried:
        if not visit.absorbed:
            continue
        session.execute(
            update(Visit)
            .where(Visit.visit_code == visit.visit_id)
            .values(
                task_codes=list(visit.task_codes),
                item_codes=list(visit.item_codes),
                departments=list(visit.departments),
                mode=str(visit.mode),
                team_size=visit.team_size,
            )
            .execution_options(synchronize_session=False)
        )
        changed += 1
    return changed


# --------------------------------------------------------------------------- teams


def draw_teams(
    session: Session,
    plan: Plan,
    snapshot: Snapshot,
    selections: Mapping[str, Sequence[str]],
    changes: Sequence[Change],
    actor: str,
) -> kernel.MonthTeams:
    """The team draw of a plan that carries visits: the carried visits done since the
    freeze are marked, the carried teams re-checked first and stored (only the places that
    changed), the re-check recorded in the audit log (the board and teams.json show it)."""
    from inspect_engine.workflows import staffing

    done = mark_done(session, plan)
    drawn = kernel.month_teams(snapshot, selections, staffing.team_seed_of(plan), changes, done)
    store_teams(session, plan, drawn.teams, drawn.recheck.reasons)
    details = {"carried": len(drawn.carried), "done": sorted(done), **drawn.recheck.as_dict()}
    audit.record(session, actor, RECHECK_ACTION, plan.month, details)
    return drawn


def recheck_record(session: Session, plan: Plan) -> dict[str, Any] | None:
    """The re-check of the plan's carried teams as the team draw recorded it."""
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == RECHECK_ACTION, AuditEntry.subject == plan.month)
        .order_by(AuditEntry.id.desc())
    ).first()
    return dict(entry.details) if entry is not None else None


def carried_rows(session: Session, plan: Plan) -> dict[str, Visit]:
    query = (
        select(Visit)
        .join(CarryOver, CarryOver.visit_id == Visit.id)
        .where(CarryOver.plan_id == plan.id)
        .order_by(Visit.visit_code)
    )
    return {visit.visit_code: visit for visit in session.scalars(query)}


def mark_done(session: Session, plan: Plan) -> set[str]:
    """At the team draw: carried visits carried out since the freeze are marked done (their
    team is left alone and holds no place). Their codes."""
    rows = carried_rows(session, plan)
    # `carried_over` (the earlier month closed) is still open; only a visit is done
    done = {code for code, visit in rows.items() if visit.status == "visited"}
    ids = [rows[code].id for code in sorted(done)]
    for start in range(0, len(ids), BATCH):
        session.execute(
            update(CarryOver)
            .where(CarryOver.plan_id == plan.id, CarryOver.visit_id.in_(ids[start : start + BATCH]))
            .values(carried_out=True)
            .execution_options(synchronize_session=False)
        )
    return done


def done_at_draw(session: Session, plan: Plan) -> set[str]:
    query = (
        select(Visit.visit_code)
        .join(CarryOver, CarryOver.visit_id == Visit.id)
        .where(CarryOver.plan_id == plan.id, CarryOver.carried_out.is_(True))
    )
    return set(session.scalars(query))


def store_teams(
    session: Session,
    plan: Plan,
    teams: Mapping[str, tuple[str, ...]],
    reasons: Mapping[str, str],
) -> None:
    """The carried visits' teams after the re-check and the replayed changes: only the
    places that changed are closed (with the reason) or added."""
    rows = carried_rows(session, plan)
    before = _teams(session, [v.id for v in rows.values()])
    now = datetime.now(UTC)
    for code, visit in rows.items():
        old, new = set(before.get(visit.id, ())), set(teams.get(code, ()))
        if old == new:
            continue
        why = f"结转 carried over to {plan.month}: {reasons.get(code, 'no lawful team')}"
        for place in session.scalars(
            select(TeamMember).where(
                TeamMember.visit_id == visit.id,
                TeamMember.inspector_id.in_(sorted(old - new)),
                TeamMember.replaced_at.is_(None),
            )
        ):
            place.replaced_at, place.replaced_reason = now, why
        for member in sorted(new - old):
            session.add(TeamMember(visit_id=visit.id, inspector_id=member, role="member"))
    session.flush()


def _later_links(plan: Plan) -> Select[tuple[str, int]]:
    """(visit code, later plan) of the visits this plan schedules that a later plan carried
    on (its own visits, and those it carried itself and could not finish)."""
    later = aliased(Plan)
    return (
        select(Visit.visit_code, CarryOver.plan_id)
        .join(CarryOver, CarryOver.visit_id == Visit.id)
        .join(later, later.id == CarryOver.plan_id)
        .where(of_plan(plan.id), later.month > plan.month)
    )


def handed_over(session: Session, plan: Plan) -> set[str]:
    """This plan's visits carried into a later plan: its own events leave them alone."""
    return {code for code, _ in session.execute(_later_links(plan)).tuples()}


def handover_teams(session: Session, plan: Plan) -> dict[str, tuple[str, ...]]:
    """The teams this plan's carried visits had when they were handed over (as the later
    plan's snapshot lists them): this plan's record of them ends there."""
    from inspect_engine.workflows import staffing

    links = session.execute(_later_links(plan)).tuples().all()
    later = session.scalars(select(Plan).where(Plan.id.in_({p for _, p in links}))).all()
    mine = handed_over(session, plan)
    out: dict[str, tuple[str, ...]] = {}
    for other in sorted(later, key=lambda p: p.month, reverse=True):  # the first handover wins
        for visit in kernel.carried_of(Snapshot.from_text(staffing.stored_text(session, other))):
            if visit.visit_id in mine:
                out[visit.visit_id] = visit.team
    return out


def handover_days(session: Session, plan: Plan) -> dict[str, date]:
    """ie-teams-v2: the days this plan's carried visits had when they were handed over
    (the first later plan's record of it): this plan's record of them ends there."""
    query = (
        select(Visit.visit_code, CarryOver.handed_over_on, Plan.month)
        .join(CarryOver, CarryOver.visit_id == Visit.id)
        .join(Plan, Plan.id == CarryOver.plan_id)
        .where(of_plan(plan.id), Plan.month > plan.month)
        .order_by(Plan.month.desc())
    )
    out: dict[str, date] = {}
    for code, day, _ in session.execute(query).tuples():  # the first handover wins
        if day is None:
            out.pop(code, None)
        else:
            out[code] = day
    return out
