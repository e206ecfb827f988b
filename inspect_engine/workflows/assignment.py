"""`month assign` and re-assignment: the second random (teams), from the plan's seed.

Loads the month's visits, the inspector directory with leave, declared conflicts and
recent inspections, runs the assignment kernel, and stores the teams. A partial plan
(some visits cannot be staffed lawfully) is saved as such with the rule that emptied
each pool; nothing is hidden."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_engine import faults
from inspect_engine.assignment import optimiser
from inspect_engine.assignment.types import (
    DEFAULT_RECUSAL_WINDOW_DAYS,
    AssignmentResult,
    DateRange,
    DepartmentNeed,
    Month,
    OfficeMode,
    PastInspection,
    Recusals,
)
from inspect_engine.assignment.types import Inspector as InspectorSpec
from inspect_engine.assignment.types import Visit as VisitSpec
from inspect_engine.errors import Conflict, NotFound
from inspect_engine.formats.fields import split_list
from inspect_engine.workflows import audit, field
from inspect_engine.workflows.planning import claim_plan, get_plan, month_start
from models import (
    AssignmentRun,
    Enterprise,
    Inspection,
    Inspector,
    Item,
    Leave,
    Plan,
    TeamMember,
    Visit,
)
from models import Conflict as ConflictRow

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


def assign_month(
    session: Session,
    month: str,
    *,
    recusal_window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS,
    actor: str = "cli",
) -> AssignOutcome:
    """Draw the teams of a drawn plan. Assigning again returns the stored result.

    The claim (drawn → assigned) is the transaction's first statement: concurrent requests
    queue on the plan's row, and all but the first find it assigned and get its result."""
    month_start(month)
    claimed = claim_plan(session, month, ("drawn",), "assigned")
    plan = get_plan(session, month)
    session.refresh(plan)  # the session may hold the plan as it was before the claim
    if not claimed:
        if plan.status in TEAMS_DRAWN:
            return _stored_outcome(session, plan)
        raise Conflict(f"the plan for {month} is {plan.status}: draw it before assigning teams")
    assert plan.seed is not None
    visits, rows = _visit_specs(session, plan)
    result = optimiser.assign(
        visits,
        _inspector_specs(session),
        _month(month),
        plan.seed,
        _recusals(session, month, [v.credit_code for v in visits], recusal_window_days),
    )
    _store_teams(session, rows, result)
    run = _store_run(session, plan, "assign", result, rows)
    faults.checkpoint("assign.after_teams")
    field.issue_verify_codes(session, month, actor=actor)  # every team carries its visit's code
    audit.record(
        session,
        actor,
        "plan.assign",
        month,
        {"partial": run.partial, "unstaffed": len(run.unstaffed), "fairness": run.fairness},
    )
    return _outcome(plan, run, len(visits))


def reassign_inspector(
    session: Session,
    month: str,
    inspector_id: str,
    reason: str,
    *,
    recusal_window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS,
    actor: str = "cli",
) -> AssignOutcome:
    """An inspector became unavailable: replace only his places, keep everyone else's.

    Re-assignments of one plan take their turn on the plan's row (first statement), so a
    second request for the same inspector sees his places already replaced."""
    month_start(month)
    if not reason.strip():
        raise Conflict("a re-assignment needs a reason")
    claimed = claim_plan(session, month, TEAMS_DRAWN)
    plan = get_plan(session, month)
    if not claimed:
        raise Conflict(f"the plan for {month} has no teams yet")
    assert plan.seed is not None
    visits, rows = _visit_specs(session, plan, open_only=True)
    teams = _current_teams(session, rows)
    if not any(inspector_id in members for members in teams.values()):
        raise NotFound(f"inspector {inspector_id} has no open place in the plan for {month}")
    label = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} {inspector_id} {reason}"
    result = optimiser.reassign(
        teams,
        visits,
        _inspector_specs(session),
        _month(month),
        plan.seed,
        withdrawn=[inspector_id],
        label=label,
        recusals=_recusals(session, month, [v.credit_code for v in visits], recusal_window_days),
    )
    _apply_replacements(session, rows, teams, result, inspector_id, reason)
    run = _store_run(session, plan, label, result, rows)
    session.flush()
    audit.record(
        session, actor, "plan.reassign", month,
        {"inspector_id": inspector_id, "reason": reason, "label": label,
         "unstaffed": run.unstaffed},
    )  # fmt: skip
    return _outcome(plan, run, len(visits))


def _month(month: str) -> Month:
    first = month_start(month)
    return Month.of(first.year, first.month)


def _visit_specs(
    session: Session, plan: Plan, open_only: bool = False
) -> tuple[list[VisitSpec], dict[str, Visit]]:
    """The kernel's visits (keyed by visit code) and the stored rows behind them."""
    items = {i.item_code: i for i in session.scalars(select(Item))}
    query = (
        select(Visit, Enterprise.unit, Enterprise.district)
        .join(Enterprise, Enterprise.credit_code == Visit.credit_code)
        .where(Visit.plan_id == plan.id)
        .order_by(Visit.visit_code)
    )
    if open_only:
        query = query.where(Visit.status == "planned")
    specs, rows = [], {}
    for visit, unit, district in session.execute(query):
        needs: dict[str, set[str]] = defaultdict(set)
        for code in visit.item_codes:
            item = items[code]
            needs[item.department]
            if item.qualification:
                needs[item.department].add(item.qualification)
        specs.append(
            VisitSpec(
                visit_id=visit.visit_code,
                credit_code=visit.credit_code,
                unit=unit,
                district=district,
                needs=tuple(DepartmentNeed(d, frozenset(q)) for d, q in sorted(needs.items())),
                mode=OfficeMode(visit.mode),
                team_size=max(visit.team_size, len(needs)),
            )
        )
        rows[visit.visit_code] = visit
    return specs, rows


def _inspector_specs(session: Session) -> list[InspectorSpec]:
    leave: dict[str, list[DateRange]] = defaultdict(list)
    for row in session.scalars(select(Leave)):
        leave[row.inspector_id].append(DateRange(row.starts_on, row.ends_on))
    return [
        InspectorSpec(
            inspector_id=i.inspector_id,
            department=i.department,
            unit=i.unit,
            district=i.district,
            qualifications=frozenset(split_list(i.qualifications)),
            certificate_expires=i.certificate_expires,
            monthly_capacity=i.monthly_capacity,
            lead=i.lead,
            active=i.active,
            leave=tuple(leave.get(i.inspector_id, ())),
        )
        for i in session.scalars(select(Inspector).order_by(Inspector.inspector_id))
    ]


def _recusals(session: Session, month: str, credit_codes: list[str], window_days: int) -> Recusals:
    """Declared conflicts and recusal requests, plus who inspected these enterprises within
    the window (an inspector does not return to the same enterprise too soon)."""
    wanted = set(credit_codes)
    conflicts = {
        (inspector, code)
        for inspector, code in session.execute(
            select(ConflictRow.inspector_id, ConflictRow.credit_code)
        )
        if code in wanted
    }
    since = month_start(month) - timedelta(days=window_days)
    recent = [
        PastInspection(inspector, code, day)
        for inspector, code, day in session.execute(
            select(Inspection.inspector_id, Inspection.credit_code, Inspection.inspected_on).where(
                Inspection.inspector_id.is_not(None), Inspection.inspected_on >= since
            )
        )
        if code in wanted
    ]
    return Recusals.build(conflicts, recent, window_days)


def _store_teams(session: Session, rows: dict[str, Visit], result: AssignmentResult) -> None:
    leads = set(session.scalars(select(Inspector.inspector_id).where(Inspector.lead.is_(True))))
    for visit_code, members in result.teams.items():
        lead = next((m for m in members if m in leads), None)
        for member in members:
            session.add(
                TeamMember(
                    visit_id=rows[visit_code].id,
                    inspector_id=member,
                    role="lead" if member == lead else "member",
                )
            )


def _current_teams(session: Session, rows: dict[str, Visit]) -> dict[str, tuple[str, ...]]:
    by_id = {visit.id: code for code, visit in rows.items()}
    teams: dict[str, list[str]] = defaultdict(list)
    query = select(TeamMember.visit_id, TeamMember.inspector_id).where(
        TeamMember.replaced_at.is_(None), TeamMember.visit_id.in_(list(by_id))
    )
    for visit_id, inspector_id in session.execute(query):
        teams[by_id[visit_id]].append(inspector_id)
    return {code: tuple(sorted(members)) for code, members in teams.items()}


def _apply_replacements(
    session: Session,
    rows: dict[str, Visit],
    before: dict[str, tuple[str, ...]],
    result: AssignmentResult,
    inspector_id: str,
    reason: str,
) -> None:
    """Close the withdrawn inspector's places and add the replacements; others untouched."""
    now = datetime.now(UTC)
    for visit_code, old in before.items():
        if inspector_id not in old:
            continue
        new = result.teams.get(visit_code)
        if new is None:
            continue  # cannot be completed: the team stays as it was, listed as unstaffed
        visit_id = rows[visit_code].id
        for place in session.scalars(
            select(TeamMember).where(
                TeamMember.visit_id == visit_id,
                TeamMember.inspector_id == inspector_id,
                TeamMember.replaced_at.is_(None),
            )
        ):
            place.replaced_at = now
            place.replaced_reason = reason
        for member in sorted(set(new) - set(old)):
            session.add(TeamMember(visit_id=visit_id, inspector_id=member, role="member"))


def _store_run(
    session: Session, plan: Plan, label: str, result: AssignmentResult, rows: dict[str, Visit]
) -> AssignmentRun:
    run = AssignmentRun(
        plan_id=plan.id,
        label=label,
        partial=result.partial,
        unstaffed=[[u.visit_id, u.reason] for u in result.unstaffed],
        fairness={**asdict(result.fairness), "staffed": len(result.teams), "visits": len(rows)},
    )
    session.add(run)
    session.flush()
    return run


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
