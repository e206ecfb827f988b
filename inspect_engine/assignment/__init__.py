"""Assignment kernel: lawful random inspector teams for a month's visits (the second 随机).

Pure: standard library, numpy and OR-Tools (plus the `chinese_calendar` data package, imported
lazily by `Month.of` for working days). The workflow layer maps directory rows onto
`Inspector`, `Visit`, `Recusals`, calls `assign` with the team seed (keys.py), applies
later changes with `events.apply_change`, and stores `AssignmentResult.teams`.
See docs/assignment.md.
"""

from inspect_engine.assignment.keys import pair_key, team_seed
from inspect_engine.assignment.merge import department_needs, merge_office_mode, merge_team_size
from inspect_engine.assignment.optimiser import assign
from inspect_engine.assignment.rules import (
    available_in_month,
    capacity_in_month,
    certificate_valid,
    common_day,
    duty_days,
    eligible,
    free_working_days,
    has_capacity_left,
    is_active,
    not_recused,
    office_mode_allows,
    over_capacity,
    qualified_for,
    team_violations,
)
from inspect_engine.assignment.types import (
    DEFAULT_RECUSAL_WINDOW_DAYS,
    MIN_TEAM_SIZE,
    AssignmentResult,
    DateRange,
    DepartmentNeed,
    FairnessReport,
    Inspector,
    Month,
    OfficeMode,
    PastInspection,
    Recusals,
    SolverStats,
    Unstaffed,
    Visit,
)

__all__ = [
    "DEFAULT_RECUSAL_WINDOW_DAYS",
    "MIN_TEAM_SIZE",
    "AssignmentResult",
    "DateRange",
    "DepartmentNeed",
    "FairnessReport",
    "Inspector",
    "Month",
    "OfficeMode",
    "PastInspection",
    "Recusals",
    "SolverStats",
    "Unstaffed",
    "Visit",
    "assign",
    "available_in_month",
    "capacity_in_month",
    "certificate_valid",
    "common_day",
    "department_needs",
    "duty_days",
    "eligible",
    "free_working_days",
    "has_capacity_left",
    "is_active",
    "merge_office_mode",
    "merge_team_size",
    "not_recused",
    "office_mode_allows",
    "over_capacity",
    "pair_key",
    "qualified_for",
    "team_seed",
    "team_violations",
]
