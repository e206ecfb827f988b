"""Why a visit has no team: the rules applied one by one to its candidate pool.

For every department place of the visit we start from that department's inspectors and
apply the rules in a fixed order (qualification, certificate, active, leave, office mode,
recusal, capacity). The first rule that empties the pool is the reason, written as a
sentence a supervisor can act on. When every department keeps someone but the union is
smaller than the team, the rule that took the pool below the team size is named instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inspect_engine.assignment.eligibility import BoolArray, InspectorTable, IntArray
from inspect_engine.assignment.types import DepartmentNeed, Month, OfficeMode, Visit


@dataclass(frozen=True, slots=True)
class _Step:
    name: str  # the rule, as named in the team-size sentence
    mask: BoolArray
    qualifier: str  # describes the inspectors who passed, e.g. "outside office 440106-03"
    failure: str  # says why nobody passed, e.g. "all belong to the enterprise's own office"


@dataclass(frozen=True, slots=True)
class PoolState:
    """Everything besides the directory that shrinks a visit's pool."""

    recused: BoolArray  # inspectors barred from this enterprise (回避)
    capacity_left: IntArray  # per inspector, after the places already given
    excluded: BoolArray  # already on this team, or withdrawn (re-assignment)
    window_days: int


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _join(phrases: Sequence[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _steps(
    visit: Visit, need: DepartmentNeed | None, table: InspectorTable, month: Month, pool: PoolState
) -> list[_Step]:
    steps: list[_Step] = []
    if need is not None and need.qualifications:
        quals = ", ".join(sorted(need.qualifications))
        steps.append(
            _Step("qualification", table.holding(need.qualifications), f"holding {quals}",
                  f"none holds {quals}")
        )  # fmt: skip
    steps += [
        _Step("certificate", table.certified, "with a valid certificate",
              "none has a certificate valid on a working day from "
              f"{month.window_start.isoformat()} to {month.last_day.isoformat()}"),
        _Step("active-status", table.active, "active", "none is active"),
        _Step("leave", table.on_duty, f"available in {month.label}",
              f"all are on leave for the whole of {month.label}"),
    ]  # fmt: skip
    if visit.mode in (OfficeMode.CROSS_OFFICE, OfficeMode.LOCAL_CROSS):
        steps.append(
            _Step("cross-office (所所交叉)", table.outside_office(visit.unit),
                  f"outside office {visit.unit}",
                  f"all belong to the enterprise's own office {visit.unit} "
                  "(cross-office mode, 所所交叉)")
        )  # fmt: skip
    if visit.mode in (OfficeMode.LOCAL, OfficeMode.LOCAL_CROSS):
        steps.append(
            _Step("local-mode", table.of_district(visit.district), f"of district {visit.district}",
                  f"none works in the enterprise's district {visit.district} (local mode)")
        )  # fmt: skip
    steps.append(
        _Step("recusal (回避)", ~pool.recused, "not recused",
              f"all are recused from {visit.credit_code} (回避: a declared conflict, or an "
              f"inspection of it within {pool.window_days} days)")
    )  # fmt: skip
    no_room = "none has capacity left in " + month.label
    if pool.excluded.any():
        no_room += " among those not already on the team or withdrawn"
    steps.append(_Step("capacity", (pool.capacity_left > 0) & ~pool.excluded, "", no_room))
    return steps


def _department_reason(
    visit: Visit, need: DepartmentNeed, table: InspectorTable, month: Month, pool: PoolState
) -> str | None:
    dept = need.department
    alive = table.of_department(dept)
    head = f"no {dept} inspector can fill the {dept} place"
    if not alive.any():
        return f"{head}: the directory has no {dept} inspector"
    qualifiers: list[str] = []
    for step in _steps(visit, need, table, month, pool):
        survivors = alive & step.mask
        if not survivors.any():
            described = _plural(int(alive.sum()), f"{dept} inspector")
            if qualifiers:
                described += " " + _join(qualifiers)
            return f"{head}: of the {described}, {step.failure}"
        alive = survivors
        if step.qualifier:
            qualifiers.append(step.qualifier)
    return None


def _team_size_reason(
    visit: Visit, places: int, table: InspectorTable, month: Month, pool: PoolState
) -> str:
    alive = np.zeros(table.size, np.bool_)
    for need in visit.needs:
        alive |= table.fills_place(need)
    for step in _steps(visit, None, table, month, pool):
        survivors = alive & step.mask
        left = int(survivors.sum())
        if left < places:
            return (
                f"only {_plural(left, 'inspector')} can fill the {_plural(places, 'place')} "
                f"of this visit: of the {_plural(int(alive.sum()), 'qualified inspector')} "
                f"eligible so far, the {step.name} rule leaves {left}"
            )
        alive = survivors
    # Enough inspectors, but a team needs a working day on which all its members are on duty.
    on_day = table.duty & alive[:, None]
    fits = on_day.sum(axis=0) >= places
    for need in visit.needs:
        fits &= (on_day & table.fills_place(need)[:, None]).any(axis=0)
    if not fits.any():
        best = int(on_day.sum(axis=0).max(initial=0))
        return (
            f"the {_plural(int(alive.sum()), 'eligible inspector')} share no working day of the "
            f"window on which {places} of them, covering every department, are on duty (leave "
            f"or certificate expiry; the best day has {best})"
        )
    return "no lawful team fits the capacity left by the other visits"


def explain(
    visit: Visit,
    places: int,
    required: Sequence[str],
    table: InspectorTable,
    month: Month,
    pool: PoolState,
) -> str:
    """The reason a visit cannot get `places` more members covering `required` departments."""
    for need in visit.needs:
        if need.department in required:
            reason = _department_reason(visit, need, table, month, pool)
            if reason is not None:
                return reason
    return _team_size_reason(visit, places, table, month, pool)


def explain_missing_lead(
    visit_candidates: IntArray, capacity_left: IntArray, table: InspectorTable
) -> str:
    """Why a team that asked for a lead (组长) has none; the lead rule is soft."""
    leads = visit_candidates[table.lead[visit_candidates]]
    if leads.size == 0:
        return "no eligible inspector is a team lead (组长)"
    if not (capacity_left[leads] > 0).any():
        return f"all {_plural(leads.size, 'eligible team lead')} (组长) are fully booked"
    return "no eligible team lead (组长) could take a place without leaving a department out"


def explain_no_day(team: Sequence[str], shared_days: int, cap: int) -> str:
    """Why a staffed visit got no day (ie-teams-v2): its team's common duty days are all
    full, and nobody lawful could take a full member's place on any day of the window."""
    return (
        f"no day with room: the team drawn ({', '.join(team)}) shares "
        f"{_plural(shared_days, 'duty day')} in the window, each full for a member "
        f"(max_visits_per_day {cap}), and no lawful replacement with capacity left is on "
        "duty with room on any working day of the window"
    )
