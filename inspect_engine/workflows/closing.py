"""`month close`: at the month's end, drawn enterprises not visited are carried over.

A carried-over visit keeps its team and its code, stays open for results, and is listed
for supervisors; the month's population estimates treat it as non-response (weighting
classes, docs/experiment and inspect_engine/sampling/population.py). The next month's
freeze lists it (closed or not) in its staffing snapshot, re-checks its team and schedules
it first (`workflows/carryover.py`, docs/team-protocol.md §6)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict
from inspect_engine.workflows import audit
from inspect_engine.workflows.planning import claim_plan, get_plan
from models import Result, Visit

CLOSABLE = ("assigned", "published")


@dataclass(frozen=True)
class CarriedOver:
    visit_code: str
    credit_code: str


def close_month(session: Session, month: str, actor: str = "cli") -> tuple[CarriedOver, ...]:
    """Mark every visit of the month without any result as carried over; idempotent. The
    claim on the plan comes first: a result submitted meanwhile is seen, not overwritten."""
    claim_plan(session, month, CLOSABLE)
    plan = get_plan(session, month)
    session.refresh(plan)
    if plan.status not in CLOSABLE:
        raise Conflict(f"the plan for {month} is {plan.status}: only an assigned plan closes")
    has_result = exists().where(Result.visit_id == Visit.id)
    open_visits = session.scalars(
        select(Visit)
        .where(Visit.plan_id == plan.id, Visit.status.in_(("planned", "carried_over")))
        .where(~has_result)
        .order_by(Visit.visit_code)
    ).all()
    newly = [v for v in open_visits if v.status == "planned"]
    for visit in newly:
        visit.status = "carried_over"
    session.flush()
    if newly:
        audit.record(
            session, actor, "plan.carry_over", month,
            {"visits": [v.visit_code for v in newly]},
        )  # fmt: skip
    return tuple(CarriedOver(v.visit_code, v.credit_code) for v in open_visits)
