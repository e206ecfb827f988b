"""`teams.json`: the record of the second random (ie-teams-v2; v1 months stay v1), for auditors.

Built from the plan's frozen staffing snapshot, the selections, the hash-chained team
events and the stored teams; `python -m inspect_engine.verify --teams` checks it
(docs/team-protocol.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from inspect_engine.assignment import carryover as carry_kernel
from inspect_engine.assignment import day_search
from inspect_engine.assignment import staffing as kernel
from inspect_engine.workflows import carryover, staffing
from models import Plan

TEAMS_DRAWN = ("assigned", "published")


def teams_record(session: Session, plan: Plan) -> dict[str, Any]:
    """The plan's teams record (the plan's teams must be drawn)."""
    if plan.status not in TEAMS_DRAWN:
        raise ValueError(f"the plan for {plan.month} is {plan.status}: it has no teams")
    snapshot = staffing.load_snapshot(session, plan)
    merged = kernel.merge_visits(snapshot, staffing.plan_selections(session, plan))
    merged, carried = carry_kernel.month_visits(merged, carry_kernel.carried_of(snapshot))
    teams = staffing.current_teams(session, plan)
    days = staffing.current_days(session, plan)
    teams.update(staffing.carried_teams(session, plan))
    # visits handed over to a later month: this month's record ends with their team then
    # (and, under v2, their day then)
    teams.update(carryover.handover_teams(session, plan))
    days.update(carryover.handover_days(session, plan))
    changes = staffing.plan_changes(session, plan)
    manual = sum(row.kind in staffing.MANUAL_KINDS for row in changes)
    return {
        "protocol": snapshot.protocol,
        "month": plan.month,
        "staffing_hash": plan.staffing_hash,
        "seed": plan.seed,
        "team_seed": staffing.team_seed_of(plan, snapshot.protocol),
        # the CP-SAT day stage stops at a deterministic limit: a neighbourhood it does not
        # prove optimal keeps its days, which another OR-Tools version may prove otherwise
        "ortools": day_search.solver_version(),
        "events": [
            {
                "seq": row.seq,
                "kind": row.kind,
                "event": row.event,
                "actor": row.actor,
                "source": row.source,
                "reason": row.reason,
                "created_at": row.created_at.isoformat() if row.created_at else None,
                "prev_hash": row.prev_hash,
                "event_hash": row.event_hash,
                "outcome": row.outcome,
            }
            for row in changes
        ],
        # how many of the events were made by hand (withdraws), and how many imported
        "manual_changes": manual,
        "directory_changes": len(changes) - manual,
        "visits": [
            {
                "visit_id": visit.visit_id,
                "credit_code": visit.credit_code,
                "task_codes": list(visit.task_codes),
                "inspectors": sorted(teams.get(visit.visit_id, ())),
                # ie-teams-v2: the visit's working day (null under v1 or without a team)
                "visit_on": _iso(days.get(visit.visit_id)),
            }
            for visit in sorted(merged, key=lambda v: v.visit_id)
        ],
        **(_carried(session, plan, carried, teams, days) if "carried" in snapshot.data else {}),
    }


def _carried(
    session: Session,
    plan: Plan,
    carried: list[carry_kernel.CarriedVisit],
    teams: dict[str, tuple[str, ...]],
    days: dict[str, date],
) -> dict[str, Any]:
    """结转: the carried visits (scheduled first) with their teams now, and those carried
    out between the freeze and the team draw (left alone by the re-check)."""
    return {
        "carried": [
            {
                "visit_id": visit.visit_id,
                "credit_code": visit.credit_code,
                "month": visit.month,
                "task_codes": list(visit.task_codes),
                "absorbed": list(visit.absorbed),
                "inspectors": sorted(teams.get(visit.visit_id, ())),
                "priority": carry_kernel.PRIORITY,
                "visit_on": _iso(days.get(visit.visit_id)),
            }
            for visit in carried
        ],
        "carried_done": sorted(carryover.done_at_draw(session, plan)),
        # what the re-check changed (the verifier recomputes it): per visit the members
        # removed and added and why, the visits it could not staff
        "carried_recheck": {
            key: value
            for key, value in (carryover.recheck_record(session, plan) or {}).items()
            if key in ("replaced", "unstaffed")
        },
    }


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
