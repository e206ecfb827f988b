"""The rules that make an inspector team lawful, one pure function each.

These scalar functions are the reference definition. `eligibility.py` applies the same rules
to whole arrays for city-scale speed, and the tests check that both agree.

Sources (as summarised in DOMAIN.md):
- 行政处罚法 (2021) Art. 42 and SAMR Order 49 Art. 23: an inspection is made by at least two
  enforcement staff holding valid enforcement certificates; uncertified staff may not inspect.
- 回避 (recusal): 行政处罚法 Art. 43 - staff with a direct interest must withdraw, and the
  party may ask for it. The engine adds "inspected this enterprise within the window".
- 所所交叉 (cross-office mode): local practice in 双随机 implementation rules, the tasks.csv
  default - an office's staff do not inspect the enterprises that office supervises.
- Qualifications: items.csv names the qualification an inspector needs for an item
  (food, special equipment, ...); a team is drawn only from staff who hold them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date

from inspect_engine.assignment.types import (
    MIN_TEAM_SIZE,
    Inspector,
    Month,
    OfficeMode,
    Visit,
)


def on_duty(inspector: Inspector, day: date) -> bool:
    """The inspector may inspect on `day`: active, not on leave, certificate valid that day.

    `certificate_expires` is the last day of validity (inclusive)."""
    return (
        inspector.active
        and day <= inspector.certificate_expires
        and not any(day in leave for leave in inspector.leave)
    )


def duty_days(inspector: Inspector, month: Month) -> tuple[date, ...]:
    """The window's working days on which the inspector is on duty."""
    return tuple(day for day in month.window_days if on_duty(inspector, day))


def certificate_valid(inspector: Inspector, month: Month) -> bool:
    """The enforcement certificate is valid on at least one working day of the window.

    A team needs a common day on which every member's certificate is valid (see
    `common_day`); a certificate expiring mid-month still allows the days before."""
    window = month.window_days
    return bool(window) and inspector.certificate_expires >= window[0]


def is_active(inspector: Inspector) -> bool:
    """Still in the directory as an active inspector (not transferred, retired, suspended)."""
    return inspector.active


def free_working_days(inspector: Inspector, month: Month) -> int:
    """Working days of the window on which the inspector is not on leave and certified."""
    return sum(
        1
        for day in month.window_days
        if day <= inspector.certificate_expires
        and not any(day in leave for leave in inspector.leave)
    )


def available_in_month(inspector: Inspector, month: Month) -> bool:
    """Not on leave for the whole window: at least one working day free."""
    return free_working_days(inspector, month) > 0


def capacity_in_month(inspector: Inspector, month: Month) -> int:
    """Visits the inspector can take this month: capacity prorated by free working days.

    capacity = round_half_up(monthly_capacity * free days of the window / working days of
    the month), in integer arithmetic so every platform agrees. Rounding (not flooring)
    keeps a single day of leave from costing a whole visit to someone with a small
    capacity; a month without working days gives 0. Inactive inspectors are another rule.
    """
    working = len(month.working_days)
    if working == 0:
        return 0
    free = free_working_days(inspector, month)
    return (2 * inspector.monthly_capacity * free + working) // (2 * working)


def common_day(team: Sequence[Inspector], month: Month) -> date | None:
    """The first working day of the window on which every member is on duty, if any."""
    return next(
        (day for day in month.window_days if all(on_duty(member, day) for member in team)),
        None,
    )


def qualified_for(inspector: Inspector, visit: Visit) -> bool:
    """The inspector can fill a place on the visit.

    Every member fills the place of one participating department: the inspector's own. He
    qualifies when his department takes part in the visit and he holds every qualification
    that department's items on the visit require (the union of their `qualification`s).
    A HEALTH inspector never fills a SAMR place, and a SAMR inspector without `food` never
    joins a visit whose SAMR items need `food`, whichever place he would take.
    """
    need = visit.need_of(inspector.department)
    return need is not None and need.qualifications <= inspector.qualifications


def office_mode_allows(inspector: Inspector, visit: Visit) -> bool:
    """所所交叉 and local modes.

    cross_office: never an inspector of the enterprise's own office (unit);
    local: only inspectors whose district is the enterprise's district; local_cross: both
    (a visit that merged a local and a cross_office task); any: no restriction.
    """
    if visit.mode is OfficeMode.CROSS_OFFICE:
        return inspector.unit != visit.unit
    if visit.mode is OfficeMode.LOCAL:
        return inspector.district == visit.district
    if visit.mode is OfficeMode.LOCAL_CROSS:
        return inspector.district == visit.district and inspector.unit != visit.unit
    return True


def not_recused(
    inspector: Inspector, visit: Visit, barred_pairs: Collection[tuple[str, str]]
) -> bool:
    """回避: no declared conflict with the enterprise and no inspection of it in the window.

    `barred_pairs` is `Recusals.barred_pairs(month)`: (inspector_id, credit_code) pairs from
    conflicts.csv and from inspections on or after the window's cutoff.
    """
    return (inspector.inspector_id, visit.credit_code) not in barred_pairs


def has_capacity_left(inspector: Inspector, month: Month, load: int) -> bool:
    """No inspector exceeds his monthly capacity: one more place must still fit."""
    return load < capacity_in_month(inspector, month)


def eligible(
    inspector: Inspector,
    visit: Visit,
    month: Month,
    barred_pairs: Collection[tuple[str, str]],
) -> bool:
    """Every per-pair rule at once (capacity, which depends on the whole plan, aside)."""
    return (
        qualified_for(inspector, visit)
        and certificate_valid(inspector, month)
        and is_active(inspector)
        and available_in_month(inspector, month)
        and capacity_in_month(inspector, month) > 0
        and office_mode_allows(inspector, visit)
        and not_recused(inspector, visit, barred_pairs)
    )


def team_violations(
    team: Sequence[Inspector],
    visit: Visit,
    month: Month,
    barred_pairs: Collection[tuple[str, str]],
) -> list[str]:
    """Why a team is unlawful for a visit (empty list: lawful). Capacity is checked plan-wide.

    A team is lawful when it has exactly `team_size` distinct members (at least 2), every
    member is eligible, and every participating department has at least one member.
    """
    problems: list[str] = []
    ids = [member.inspector_id for member in team]
    if len(set(ids)) != len(ids):
        problems.append("an inspector holds two places on the team")
    if len(ids) != visit.team_size or len(set(ids)) < MIN_TEAM_SIZE:
        problems.append(f"team has {len(set(ids))} distinct members, needs {visit.team_size}")
    problems.extend(
        f"{member.inspector_id} is not eligible"
        for member in team
        if not eligible(member, visit, month, barred_pairs)
    )
    present = {member.department for member in team}
    problems.extend(
        f"no {dept} inspector on the team" for dept in visit.departments if dept not in present
    )
    if team and common_day(team, month) is None:
        problems.append("no working day of the window on which every member is on duty")
    return problems


def over_capacity(teams: Iterable[Sequence[Inspector]], month: Month) -> dict[str, tuple[int, int]]:
    """Inspectors given more places than their capacity: id -> (load, capacity)."""
    load: dict[str, int] = {}
    by_id: dict[str, Inspector] = {}
    for team in teams:
        for member in team:
            load[member.inspector_id] = load.get(member.inspector_id, 0) + 1
            by_id[member.inspector_id] = member
    return {
        iid: (n, capacity_in_month(by_id[iid], month))
        for iid, n in load.items()
        if n > capacity_in_month(by_id[iid], month)
    }
