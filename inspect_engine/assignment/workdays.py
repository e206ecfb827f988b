"""Working days of a month, on which inspector capacity is prorated for leave.

The official calendar (国务院办公厅 holiday notice, with its adjusted working weekends) comes
from the `chinese_calendar` package, which covers the years the State Council has already
announced. For any day it does not cover we fall back to Monday-Friday and say so in the
returned source label, so a plan made before the next year's notice is still reproducible
and the approximation is recorded.
"""

from __future__ import annotations

from datetime import date, timedelta

OFFICIAL = "official"
WEEKDAYS = "weekdays"


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def official_or_weekday(day: date) -> tuple[bool, str]:
    """(is a working day, which calendar answered)."""
    try:
        import chinese_calendar  # imported lazily: the kernel must work without it
    except ImportError:  # pragma: no cover - the package is a project dependency
        return is_weekday(day), WEEKDAYS
    try:
        return bool(chinese_calendar.is_workday(day)), OFFICIAL
    except NotImplementedError:  # a year the calendar has not been published for
        return is_weekday(day), WEEKDAYS


def working_days_between(first: date, last: date) -> tuple[tuple[date, ...], str]:
    """Working days in [first, last] and the calendar source ("official", "weekdays", or both)."""
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    verdicts = [official_or_weekday(day) for day in days]
    source = "+".join(sorted({src for _, src in verdicts}))
    working = tuple(day for day, (works, _) in zip(days, verdicts, strict=True) if works)
    return working, source
