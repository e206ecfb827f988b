"""Working days of a month, on which inspector capacity is prorated for leave.

The calendar is `inspect_engine.workcalendar`: an imported year first, then the
`chinese_calendar` package, then Monday-Friday. The returned source label says which
answered ("imported", "official", "weekdays"), so a plan made before the next year's notice
is still reproducible and the approximation is recorded in the staffing snapshot.
"""

from __future__ import annotations

from datetime import date, timedelta

from inspect_engine.workcalendar import (
    IMPORTED,
    OFFICIAL,
    PACKAGE_ONLY,
    WEEKDAYS,
    Calendar,
    is_weekday,
)

__all__ = ["IMPORTED", "OFFICIAL", "WEEKDAYS", "is_weekday", "working_days_between"]


def working_days_between(
    first: date, last: date, calendar: Calendar = PACKAGE_ONLY
) -> tuple[tuple[date, ...], str]:
    """Working days in [first, last] and the calendar source(s), "+"-joined if several."""
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    verdicts = [calendar.verdict(day) for day in days]
    source = "+".join(sorted({src for _, src in verdicts}))
    working = tuple(day for day, (works, _) in zip(days, verdicts, strict=True) if works)
    return working, source
