"""Sizing the month's draw to the staff at plan time (`month plan --fit-capacity`).

The kernel (`sampling.sizing`) chooses λ per task and risk class; this use case loads its
inputs (the frames as the freeze would build them, the risk model's probabilities, the
inspectors with their leave for the plan's window, last month's open visits), keeps the
chosen λ on the tasks (`sized_ratios`, which the freeze draws with) and the sizing on the
plan. Without the flag, `capacity_warnings` says where the tasks' own ratios overflow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_engine.assignment.types import DateRange
from inspect_engine.assignment.types import Inspector as KernelInspector
from inspect_engine.errors import Conflict, InvalidInput
from inspect_engine.formats.fields import split_list
from inspect_engine.sampling import sizing as kernel
from inspect_engine.sampling.frames import EnterpriseColumns, ExclusionPolicy, TaskSpec
from inspect_engine.sampling.protocol import format_lambda
from inspect_engine.sampling.sizing_groups import sizing_inputs, staff_pools
from inspect_engine.workflows import audit, carryover, holidays
from inspect_engine.workflows.columns import (
    driver_chunks,
    latest_model_version,
    load_enterprise_columns,
)
from inspect_engine.workflows.staffing import window_month
from models import Inspector, Leave, Plan, Task

CLASSES = kernel.CLASSES


class SizingRefusedError(InvalidInput):
    """The mandated minimums do not fit the staff (the plan is refused)."""

    def __init__(self, message: str, shortfalls: tuple[dict[str, Any], ...]) -> None:
        super().__init__(message)
        self.shortfalls = shortfalls


def _inputs(
    session: Session, plan: Plan, specs: dict[str, TaskSpec], policy: ExclusionPolicy, now: datetime
) -> tuple[
    list[kernel.SizingTask], list[kernel.UnitGroup], list[kernel.StaffPool], list[kernel.Reserved]
]:
    first_day = date.fromisoformat(plan.month + "-01")
    departments = {item.department for spec in specs.values() for item in spec.items}
    columns = load_enterprise_columns(
        session,
        as_of=first_day,
        year=first_day.year,
        departments=departments,
        recent_since=policy.window_start(first_day),
    )
    ordered = [specs[code] for code in sorted(specs)]
    try:
        tasks, groups = sizing_inputs(
            columns, ordered, policy, first_day, problem_probabilities(session, columns)
        )
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    month = window_month(first_day, now, holidays.calendar(session))
    staff = staff_pools(kernel_inspectors(session), month)
    return tasks, groups, staff, reserved_for_open_visits(session, plan.month)


def problem_probabilities(session: Session, columns: EnterpriseColumns) -> NDArray[np.float64]:
    """Each enterprise's probability that an inspection finds a problem, from the latest
    risk model (unscored enterprises: the mean of the scored; no model: all 1)."""
    version = latest_model_version(session)
    out = np.full(len(columns), np.nan)
    if version is None:
        return np.ones(len(columns))
    sql = (
        f"SELECT credit_code, probability FROM risk_scores WHERE model_version_id = {int(version)}"
    )
    for chunk in driver_chunks(session, sql):
        codes, values = zip(*chunk, strict=True)
        rows = np.searchsorted(columns.credit_code, np.asarray(codes, dtype="<U18"))
        rows = np.clip(rows, 0, max(len(columns) - 1, 0))
        known = columns.credit_code[rows] == np.asarray(codes, dtype="<U18")
        out[rows[known]] = np.asarray(values, dtype=np.float64)[known]
    scored = ~np.isnan(out)
    out[~scored] = float(out[scored].mean()) if scored.any() else 1.0
    return out


def kernel_inspectors(session: Session) -> list[KernelInspector]:
    leave: dict[str, list[DateRange]] = {}
    for inspector_id, starts, ends in session.execute(
        select(Leave.inspector_id, Leave.starts_on, Leave.ends_on)
    ):
        leave.setdefault(inspector_id, []).append(DateRange(starts, ends))
    return [
        KernelInspector(
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
        for i in session.scalars(select(Inspector))
    ]


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def reserved_for_open_visits(session: Session, month: str) -> list[kernel.Reserved]:
    """The load of the visits `month` carries over (结转: last month's open visits, its own
    and those it carried; `carryover.carried_load`): their team places, per department and
    enterprise office (a joint visit's places split evenly between its departments)."""
    places: dict[tuple[str, str, str, str], float] = {}
    for visit in carryover.carried_load(session, month).visits:
        share = visit.team_size / max(len(visit.departments), 1)
        for department in visit.departments:
            key = (department, visit.unit, visit.district, str(visit.mode))
            places[key] = places.get(key, 0.0) + share
    return [kernel.Reserved(d, o, s, m, p) for (d, o, s, m), p in sorted(places.items())]


def size_plan(
    session: Session,
    month: str,
    specs: dict[str, TaskSpec],
    policy: ExclusionPolicy,
    *,
    utilisation: float = kernel.DEFAULT_UTILISATION,
    now: datetime | None = None,
) -> kernel.Sizing:
    """The sizing of the plan's tasks (nothing stored). Raises SizingRefusedError."""
    plan = _plan(session, month)
    tasks, groups, staff, reserved = _inputs(session, plan, specs, policy, now or _now())
    try:
        return kernel.size_draw(tasks, groups, staff, reserved, utilisation=utilisation)
    except kernel.SizingRefused as refused:
        raise SizingRefusedError(str(refused), refused.shortfalls) from None


def fit_plan(
    session: Session,
    month: str,
    specs: dict[str, TaskSpec],
    policy: ExclusionPolicy,
    actor: str = "cli",
    *,
    utilisation: float = kernel.DEFAULT_UTILISATION,
    now: datetime | None = None,
) -> kernel.Sizing:
    """Size the plan and keep it: λ per class on each task (the freeze draws with them),
    the sizing on the plan, an audit entry."""
    sizing = size_plan(session, month, specs, policy, utilisation=utilisation, now=now)
    plan = _plan(session, month)
    for task in session.scalars(select(Task).where(Task.plan_id == plan.id)):
        chosen = sizing.lambdas[task.task_code]
        task.sized_ratios = {c: format_lambda(v) for c, v in zip(CLASSES, chosen, strict=True)}
    plan.sizing = stored(sizing)
    session.flush()
    audit.record(session, actor, "plan.sizing", month, {
        "lambdas": plan.sizing["lambdas"], "sizes": sizing.sizes,
        "utilisation": utilisation, "expected_visits": round(sizing.expected_visits, 3),
    })  # fmt: skip
    return sizing


def stored(sizing: kernel.Sizing) -> dict[str, Any]:
    """What the plan keeps: λ spelled as the freeze will read them, and the loads."""
    out = sizing.as_dict()
    out["lambdas"] = {
        code: {c: format_lambda(v) for c, v in zip(CLASSES, values, strict=True)}
        for code, values in sizing.lambdas.items()
    }
    out["expected_problems"] = {k: round(v, 3) for k, v in sizing.expected_problems.items()}
    out["expected_visits"] = round(sizing.expected_visits, 3)
    out["seconds"] = round(sizing.seconds, 3)
    return out


def capacity_warnings(
    session: Session,
    month: str,
    specs: dict[str, TaskSpec],
    policy: ExclusionPolicy,
    *,
    utilisation: float = kernel.DEFAULT_UTILISATION,
    now: datetime | None = None,
) -> list[str]:
    """Where the tasks' own ratios (scaled to whole samples) would ask more inspector-
    visits than the staff holds; empty when they fit."""
    plan = _plan(session, month)
    tasks, groups, staff, reserved = _inputs(session, plan, specs, policy, now or _now())
    try:
        own = [kernel.task_bounds(task)[0] for task in tasks]
    except kernel.SizingRefused as refused:
        return [str(refused)]
    overflows = kernel.check(tasks, groups, staff, own, reserved, utilisation=utilisation)
    return [
        f"expected load exceeds capacity: {o['where']}: {o['shortfall']:.1f} inspector-visits"
        f" over {o['capacity']:.1f} (utilisation {utilisation}); `--fit-capacity` sizes the"
        " draw to the staff"
        for o in overflows
    ]


def overflow_warning(overflow: dict[str, Any]) -> str:
    """A row the mandated minimums overflow by less than one inspector-visit: the plan
    goes on, and the supervisor is told where a visit may find no lawful team."""
    return (
        f"the mandated minimums overflow {overflow['where']} by"
        f" {overflow['shortfall']:.2f} inspector-visits (under one: planned, not refused);"
        " a visit drawn there may find no lawful team"
    )


def _plan(session: Session, month: str) -> Plan:
    plan = session.scalars(select(Plan).where(Plan.month == month)).first()
    if plan is None:
        raise Conflict(f"there is no plan for {month}")
    return plan


def _now() -> datetime:
    return datetime.now(UTC)
