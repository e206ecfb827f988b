"""Inputs and outputs of the assignment kernel (the second 随机: inspectors drawn for visits).

Everything here is a frozen dataclass so that a plan's inputs can be recorded and replayed.
The lead maps database rows onto these; nothing here knows about storage.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from inspect_engine.assignment.workdays import working_days_between
from inspect_engine.workcalendar import PACKAGE_ONLY, Calendar

MIN_TEAM_SIZE = 2
"""行政处罚法 Art. 42 and SAMR Order 49 Art. 23: at least two certified inspectors."""

DEFAULT_RECUSAL_WINDOW_DAYS = 365
"""Default look-back for "inspected the same enterprise recently"; configuration, not law."""


class OfficeMode(StrEnum):
    """Which offices' inspectors may inspect an enterprise."""

    CROSS_OFFICE = "cross_office"  # 所所交叉: never an inspector of the enterprise's own unit
    LOCAL = "local"  # only inspectors whose district is the enterprise's district
    # Both: a visit merging a local task and a cross_office task keeps both conditions
    # (an inspector of the enterprise's district, but not of its own office).
    LOCAL_CROSS = "local_cross"
    ANY = "any"  # no office restriction


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive range of days, e.g. one row of leave.csv."""

    starts_on: date
    ends_on: date

    def __post_init__(self) -> None:
        if self.ends_on < self.starts_on:
            raise ValueError(f"leave ends ({self.ends_on}) before it starts ({self.starts_on})")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.starts_on <= day <= self.ends_on


@dataclass(frozen=True, slots=True)
class Month:
    """The month a plan's visits take place in, with its working days.

    `working_days` (of the whole month) is what capacity is prorated on; `calendar_source`
    says where it came from ("imported" = the year's notice imported by an administrator,
    "official" = the State Council's calendar as packaged, "weekdays" = Monday to Friday,
    provisional, for years neither covers yet).
    `window_first` opens the visit window fixed at the freeze: visits fall on a working day
    from the later of the freeze day and the month's first day to the month's end.
    """

    first_day: date
    last_day: date
    working_days: tuple[date, ...]
    calendar_source: str
    window_first: date | None = None

    @classmethod
    def of(
        cls,
        year: int,
        month: int,
        window_first: date | None = None,
        working_calendar: Calendar = PACKAGE_ONLY,
    ) -> Month:
        """The month with its working days from `working_calendar` (imported years, then
        the package, then weekdays)."""
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        days, source = working_days_between(first, last, working_calendar)
        return cls(first, last, days, source, window_first)

    @property
    def label(self) -> str:
        return f"{self.first_day.year:04d}-{self.first_day.month:02d}"

    @property
    def window_start(self) -> date:
        """First day of the visit window (never before the month's first day)."""
        return max(self.first_day, self.window_first or self.first_day)

    @property
    def window_days(self) -> tuple[date, ...]:
        """The working days on which this month's visits may take place."""
        start = self.window_start
        return tuple(day for day in self.working_days if day >= start)


@dataclass(frozen=True, slots=True)
class DepartmentNeed:
    """One department taking part in a visit and what its inspectors must hold for it.

    `qualifications` is the union of the `qualification` column of that department's items
    on the visit (empty: any certified inspector of the department will do).
    """

    department: str
    qualifications: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Visit:
    """One enterprise, one month, all its selected items (进一次门、查多项事)."""

    visit_id: str
    credit_code: str
    unit: str  # the enterprise's supervision office, e.g. "440106-03"
    district: str  # GB/T 2260 code, e.g. "440106"
    needs: tuple[DepartmentNeed, ...]
    mode: OfficeMode = OfficeMode.CROSS_OFFICE
    team_size: int = MIN_TEAM_SIZE
    want_lead: bool = False

    def __post_init__(self) -> None:
        departments = [need.department for need in self.needs]
        if not departments:
            raise ValueError(f"visit {self.visit_id} has no department")
        if len(set(departments)) != len(departments):
            raise ValueError(f"visit {self.visit_id} lists a department twice: {departments}")
        if self.team_size < max(MIN_TEAM_SIZE, len(departments)):
            raise ValueError(
                f"visit {self.visit_id}: team_size {self.team_size} is below "
                f"max(2, one per department = {len(departments)})"
            )

    @property
    def departments(self) -> tuple[str, ...]:
        return tuple(need.department for need in self.needs)

    def need_of(self, department: str) -> DepartmentNeed | None:
        return next((need for need in self.needs if need.department == department), None)


@dataclass(frozen=True, slots=True)
class Inspector:
    """One row of the inspector directory (执法检查人员名录库) plus its leave rows."""

    inspector_id: str
    department: str
    unit: str
    district: str
    qualifications: frozenset[str]
    certificate_expires: date  # last day the certificate is valid
    monthly_capacity: int
    lead: bool = False
    active: bool = True
    leave: tuple[DateRange, ...] = ()

    def __post_init__(self) -> None:
        if self.monthly_capacity < 0:
            raise ValueError(f"inspector {self.inspector_id}: negative monthly_capacity")


@dataclass(frozen=True, slots=True)
class PastInspection:
    """An inspector's earlier inspection of an enterprise (any kind: random or not)."""

    inspector_id: str
    credit_code: str
    inspected_on: date


@dataclass(frozen=True, slots=True)
class Recusals:
    """回避: declared conflicts plus "inspected this enterprise within the window"."""

    conflicts: frozenset[tuple[str, str]] = frozenset()  # (inspector_id, credit_code)
    recent: tuple[PastInspection, ...] = ()
    window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS

    @classmethod
    def build(
        cls,
        conflicts: Iterable[tuple[str, str]] = (),
        recent: Iterable[PastInspection] = (),
        window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS,
    ) -> Recusals:
        return cls(frozenset(conflicts), tuple(recent), window_days)

    def cutoff(self, month: Month) -> date:
        """Inspections on or after this day bar the inspector for the month's visits."""
        return month.first_day - timedelta(days=self.window_days)

    def barred_pairs(self, month: Month) -> frozenset[tuple[str, str]]:
        cutoff = self.cutoff(month)
        recent = {(p.inspector_id, p.credit_code) for p in self.recent if p.inspected_on >= cutoff}
        return self.conflicts | recent


@dataclass(frozen=True, slots=True)
class Booking:
    """A visit that holds its day before the month's own visits get theirs (ie-teams-v2: a
    carried visit, carryover.py): its members, day, district and office."""

    members: tuple[str, ...]
    day: date
    district: str
    unit: str


@dataclass(frozen=True, slots=True)
class Unstaffed:
    """A visit left without a (complete) team, and the rule that emptied its pool."""

    visit_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class FairnessReport:
    """How evenly the month's places fell on the inspectors who could take them.

    Loads and capacities are over inspectors with capacity this month; `utilisation` is
    load / capacity. `share_used` = inspectors given at least one place / inspectors eligible
    for at least one staffed visit.
    """

    inspectors_available: int
    places: int
    load_min: int
    load_median: float
    load_max: int
    capacity_min: int
    capacity_median: float
    capacity_max: int
    utilisation_min: float
    utilisation_median: float
    utilisation_max: float
    eligible_inspectors: int
    inspectors_used: int
    share_used: float


@dataclass(frozen=True, slots=True)
class SolverStats:
    """What the solver did; timings are wall-clock seconds (informative, never compared)."""

    status: str
    nodes: int  # of the first solve's network
    arcs: int  # of the first solve's network
    eligible_pairs: int  # lawful (visit, inspector) pairs
    solver_pairs: int  # of which given to the solve (every lawful pair: no thinning)
    solves: int
    optimal_cost: int
    greedy_completions: int
    lead_swaps: int
    eligibility_seconds: float
    solve_seconds: float
    extraction_seconds: float


@dataclass(frozen=True, slots=True)
class AssignmentResult:
    """Teams for the month, and everything the supervisor must know about what is missing.

    `teams` holds only fully staffed visits (sorted inspector ids); `unstaffed` names every
    other visit with a human reason. `lead_missing` lists staffed visits that asked for a
    team lead (组长) and did not get one (the lead rule is soft).
    """

    seed: str
    label: str
    teams: Mapping[str, tuple[str, ...]]
    unstaffed: tuple[Unstaffed, ...]
    lead_missing: tuple[Unstaffed, ...]
    fairness: FairnessReport
    stats: SolverStats
    loads: Mapping[str, int] = field(default_factory=dict)
    days: Mapping[str, date] = field(default_factory=dict)  # ie-teams-v2: visit -> visit_on
    day_swaps: int = 0  # members replaced so that a team has a day with room
    day_seconds: float = 0.0  # the whole calendar: greedy, member fallback and CP-SAT stage
    day_search_seconds: float = 0.0  # of which the CP-SAT stage (day_search.py)
    day_moves: int = 0  # visits the CP-SAT stage moved off their greedy day
    day_district_pairs: tuple[int, int] = (0, 0)  # (inspector, day, district): greedy, final
    day_unproved: int = 0  # CP-SAT neighbourhoods stopped at the deterministic limit (kept)

    @property
    def partial(self) -> bool:
        """True when at least one visit could not be staffed lawfully."""
        return bool(self.unstaffed)
