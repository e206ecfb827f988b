"""`month assign` and re-assignment: the second random (teams), from the plan's seed.

Loads the month's visits, the inspector directory with leave, declared conflicts and
recent inspections, runs the assignment kernel, and stores the teams. A partial plan
(some visits cannot be staffed lawfully) is saved as such with the rule that emptied
each pool; nothing is hidden."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_engine import faults
from inspect_engine.assignment import events, optimiser, rescheduling
from inspect_engine.assignment.events import Change
from inspect_engine.assignment.staffing import merge_visits
from inspect_engine.assignment.types import (
    DEFAULT_RECUSAL_WINDOW_DAYS,
    AssignmentResult,
)
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.liaison import Courier
from inspect_engine.workflows import audit, carryover, field, staffing
from inspect_engine.workflows.planning import claim_plan, get_plan, month_start
from models import (
    AssignmentRun,
    Inspector,
    Plan,
    Task,
    TeamMember,
    Visit,
)

TEAMS_DRAWN = ("assigned", "published")  # plan states whose teams are stored


@dataclass(frozen=True)
class AssignOutcome:
    month: str
    visits: int
    staffed: int
    unstaffed: tuple[tuple[str, str], ...]  # (visit code, reason)
    fairness: dict[str, Any]
    partial: bool
    first_request: bool = True
    # the visit calendar's seconds in this request (not stored: a stored record holds only
    # what the protocol decides, so a resumed command leaves the same record)
    calendar_seconds: float | None = None


def assign_month(
    session: Session,
    month: str,
    *,
    recusal_window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS,
    actor: str = "cli",
    courier: Courier | None = None,
) -> AssignOutcome:
    """Draw the teams of a drawn plan on its frozen staffing snapshot, then apply the
    changes recorded since the freeze, in order. Assigning again returns the stored result.

    `recusal_window_days` is kept for callers; the window in force is the one frozen in
    the snapshot. The claim (drawn → assigned) is the transaction's first statement:
    concurrent requests queue on the plan's row, and all but the first find it assigned."""
    del recusal_window_days  # frozen with the staffing at the freeze
    month_start(month)
    claimed = claim_plan(session, month, ("drawn",), "assigned")
    plan = get_plan(session, month)
    session.refresh(plan)  # the session may hold the plan as it was before the claim
    if not claimed:
        if plan.status in TEAMS_DRAWN:
            return _stored_outcome(session, plan)
        raise Conflict(f"the plan for {month} is {plan.status}: draw it before assigning teams")
    snapshot = staffing.load_snapshot(session, plan)
    selections = staffing.plan_selections(session, plan)
    rows = _visit_rows(session, plan)
    seed, cap = staffing.team_seed_of(plan, snapshot.protocol), snapshot.max_per_day()
    changes = [Change.from_dict(row.event) for row in staffing.plan_changes(session, plan)]
    days: dict[str, date]
    if "carried" in snapshot.data:  # 结转: carried teams (and days) first (carryover.py)
        drawn = carryover.draw_teams(session, plan, snapshot, selections, changes, actor)
        result, teams, lost = drawn.result, drawn.teams, {**drawn.lost, **drawn.recheck.unstaffed}
        days, visits = drawn.days, drawn.specs
    else:
        visits = [v.spec() for v in merge_visits(snapshot, selections)]
        inspectors, the_month, recusals = (
            snapshot.inspectors(), snapshot.month(), snapshot.recusals()
        )  # fmt: skip
        del snapshot  # every frame unit's row (millions in a city): not needed by the solve
        result = optimiser.assign(visits, inspectors, the_month, seed, recusals, max_per_day=cap)
        state = events.Staffing(tuple(visits), tuple(inspectors), the_month, recusals)
        if cap is None:  # a month frozen under ie-teams-v1: teams without days
            _, teams, outcomes = events.replay(state, result.teams, seed, changes)
            days = {}
        else:
            _, teams, days, outcomes = rescheduling.replay_days(
                state, result.teams, result.days, seed, changes, cap
            )
        lost = {v: r for outcome in outcomes for v, r in outcome.unstaffed.items()}
    if cap is not None:
        staffing.store_days(session, plan, days)
    _store_teams(session, rows, {v: m for v, m in teams.items() if v in rows})
    every = {**rows, **carryover.carried_rows(session, plan)}
    run = _store_run(session, plan, "assign", result, every, teams, lost)
    if len(every) > len(rows):  # 结转: how many of the visits are carried, drawn again
        carried, mine = carryover.carried_rows(session, plan).values(), plan_tasks(session, plan)
        again = sum(bool(mine & set(v.task_codes)) for v in carried)
        run.fairness = {**run.fairness, "carried": len(every) - len(rows),
                        "carried_drawn_again": again}  # fmt: skip
    faults.checkpoint("assign.after_teams")
    # every team carries its visit's code; each liaison gets its enterprise's own
    field.issue_verify_codes(session, month, actor=actor, courier=courier)
    audit.record(
        session,
        actor,
        "plan.assign",
        month,
        {"partial": run.partial, "unstaffed": len(run.unstaffed), "fairness": run.fairness,
         "team_seed": seed, "changes_replayed": len(changes)},
    )  # fmt: skip
    return replace(
        _outcome(plan, run, len(visits)), calendar_seconds=result.day_seconds if days else None
    )


def reassign_inspector(
    session: Session,
    month: str,
    inspector_id: str,
    reason: str,
    *,
    recusal_window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS,
    actor: str = "cli",
) -> AssignOutcome:
    """A supervisor withdraws an inspector from the month's open visits: a recorded
    `withdraw` event. Only his places change, each to the best-ranked lawful replacement
    (keyed: no clock, no free text decides); the kept members are checked again.

    Re-assignments of one plan take their turn on the plan's row (first statement), so a
    second request for the same inspector sees his places already replaced."""
    del recusal_window_days
    month_start(month)
    if not reason.strip():
        raise InvalidInput("a re-assignment needs a reason")
    claimed = claim_plan(session, month, TEAMS_DRAWN)
    plan = get_plan(session, month)
    if not claimed:
        raise Conflict(f"the plan for {month} has no teams yet")
    own, carried = _visit_rows(session, plan), carryover.carried_rows(session, plan)
    rows = {**own, **carried}
    open_codes = {code for code, visit in own.items() if visit.status == "planned"}
    open_codes |= {code for code, visit in carried.items() if visit.status != "visited"}
    teams = {**staffing.current_teams(session, plan), **staffing.carried_teams(session, plan)}
    if not any(inspector_id in m for code, m in teams.items() if code in open_codes):
        raise NotFound(f"inspector {inspector_id} has no open place in the plan for {month}")
    event = staffing.record_change(
        session, plan, Change("withdraw", inspector_id), actor=actor,
        source="month reassign", reason=reason,
    )  # fmt: skip
    unstaffed = [[v, r] for v, r in event.outcome.get("unstaffed", {}).items()]
    after = staffing.current_teams(session, plan)
    run = AssignmentRun(
        plan_id=plan.id,
        label=f"event {event.seq}: withdraw {inspector_id}: {reason}",
        partial=bool(unstaffed),
        unstaffed=unstaffed,
        fairness={"staffed": len(after), "visits": len(rows), "event": event.seq},
    )
    session.add(run)
    session.flush()
    audit.record(
        session, actor, "plan.reassign", month,
        {"inspector_id": inspector_id, "reason": reason, "event": event.seq,
         "unstaffed": unstaffed},
    )  # fmt: skip
    return _outcome(plan, run, len(rows))


def plan_tasks(session: Session, plan: Plan) -> set[str]:
    return set(session.scalars(select(Task.task_code).where(Task.plan_id == plan.id)))


def _visit_rows(session: Session, plan: Plan) -> dict[str, Visit]:
    query = select(Visit).where(Visit.plan_id == plan.id).order_by(Visit.visit_code)
    return {visit.visit_code: visit for visit in session.scalars(query)}


def _store_teams(
    session: Session, rows: dict[str, Visit], teams: Mapping[str, tuple[str, ...]]
) -> None:
    leads = set(session.scalars(select(Inspector.inspector_id).where(Inspector.lead.is_(True))))
    for visit_code, members in teams.items():
        lead = next((m for m in members if m in leads), None)
        for member in members:
            session.add(
                TeamMember(
                    visit_id=rows[visit_code].id,
                    inspector_id=member,
                    role="lead" if member == lead else "member",
                )
            )


def _store_run(
    session: Session,
    plan: Plan,
    label: str,
    result: AssignmentResult,
    rows: dict[str, Visit],
    teams: Mapping[str, tuple[str, ...]],
    lost: Mapping[str, str],
) -> AssignmentRun:
    unstaffed = [[u.visit_id, u.reason] for u in result.unstaffed]
    unstaffed += [[v, reason] for v, reason in sorted(lost.items()) if v not in teams]
    run = AssignmentRun(
        plan_id=plan.id,
        label=label,
        partial=bool(unstaffed),
        unstaffed=unstaffed,
        fairness={**asdict(result.fairness), "staffed": len(teams), "visits": len(rows),
                  **_calendar_figures(result)},
    )  # fmt: skip
    session.add(run)
    session.flush()
    return run


def _calendar_figures(result: AssignmentResult) -> dict[str, Any]:
    """ie-teams-v2: the members the day solve replaced (none under v1)."""
    if not result.days:
        return {}
    return {"day_swaps": result.day_swaps}


def _outcome(plan: Plan, run: AssignmentRun, visits: int, first: bool = True) -> AssignOutcome:
    return AssignOutcome(
        month=plan.month,
        visits=visits,
        staffed=int(run.fairness.get("staffed", 0)),
        unstaffed=tuple((v, r) for v, r in run.unstaffed),
        fairness=dict(run.fairness),
        partial=run.partial,
        first_request=first,
    )


def _stored_outcome(session: Session, plan: Plan) -> AssignOutcome:
    run = session.scalars(
        select(AssignmentRun)
        .where(AssignmentRun.plan_id == plan.id, AssignmentRun.label == "assign")
        .order_by(AssignmentRun.id.desc())
    ).first()
    if run is None:
        raise NotFound(f"the plan for {plan.month} has no stored assignment")
    return _outcome(plan, run, int(run.fairness.get("visits", 0)), first=False)
