"""Publication deadlines: a result is public within 20 working days of the inspection.

Working days follow the official Chinese calendar (国务院办公厅 holiday notices), with its
adjusted working weekends (调休): a Saturday that is worked counts, a weekday of the
National Day week does not. The calendar comes from the `chinese_calendar` package, which
knows whole years only; a date it does not cover raises `CalendarUnknown` instead of
silently counting plain weekdays (the next year's holidays are announced each November,
and the package must be upgraded then).

Counting: the day of the inspection is day 0; the due date is the 20th working day after
it. A result is overdue on a day strictly after its due date.

Pure: standard library, numpy and chinese_calendar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

WORKING_DAYS_TO_PUBLISH = 20

DayArray = NDArray[np.datetime64]


class CalendarUnknown(ValueError):
    """A date outside the years whose official working days are known."""


@dataclass(frozen=True, eq=False)
class WorkingCalendar:
    """The working days of a span of whole years, sorted, as datetime64[D]."""

    workdays: DayArray
    first: date  # first day covered
    last: date  # last day covered

    def __post_init__(self) -> None:
        days = np.asarray(self.workdays, dtype="datetime64[D]")
        if days.ndim != 1 or (days.size > 1 and bool(np.any(days[1:] <= days[:-1]))):
            raise ValueError("workdays must be one-dimensional, sorted and without repeats")
        span = (np.datetime64(self.first, "D"), np.datetime64(self.last, "D"))
        if days.size and not (span[0] <= days[0] and days[-1] <= span[1]):
            raise ValueError("workdays lie outside the span the calendar covers")
        object.__setattr__(self, "workdays", days)

    @classmethod
    def from_predicate(
        cls, first: date, last: date, is_workday: Callable[[date], bool]
    ) -> WorkingCalendar:
        """Builds the calendar by asking `is_workday(day)` for every day of the span."""
        span = (last - first).days + 1
        days = [first + timedelta(days=k) for k in range(span)]
        worked = [d for d in days if is_workday(d)]
        return cls(np.array(worked, dtype="datetime64[D]"), first, last)

    def years(self) -> str:
        return f"{self.first.year}–{self.last.year}"

    def _check(self, day: date, what: str) -> None:
        if not self.first <= day <= self.last:
            raise CalendarUnknown(
                f"{what} {day.isoformat()} is outside the official calendar known to this "
                f"installation ({self.years()}); upgrade the chinesecalendar package "
                "(pip install -U chinesecalendar) once that year's holidays are announced"
            )

    def is_workday(self, day: date) -> bool:
        self._check(day, "the day")
        at = np.searchsorted(self.workdays, np.datetime64(day, "D"))
        return bool(at < self.workdays.size and self.workdays[at] == np.datetime64(day, "D"))

    def due_dates(
        self,
        inspected_on: ArrayLike,
        working_days: int = WORKING_DAYS_TO_PUBLISH,
        *,
        unknown: Literal["raise", "nat"] = "raise",
    ) -> DayArray:
        """The due date of each inspection date (vectorised). A deadline the calendar
        cannot give raises CalendarUnknown, or is NaT with unknown="nat"."""
        if working_days < 1:
            raise ValueError("working_days must be at least 1")
        days = np.asarray(inspected_on, dtype="datetime64[D]").reshape(-1)
        if days.size == 0:
            return days
        if unknown == "raise":
            self._check(_as_date(days.min()), "the inspection date")
            self._check(_as_date(days.max()), "the inspection date")
        inside = (days >= np.datetime64(self.first, "D")) & (days <= np.datetime64(self.last, "D"))
        # working days on or before the inspection, then `working_days` further on
        target = np.searchsorted(self.workdays, days, side="right") + (working_days - 1)
        beyond = ~inside | (target >= self.workdays.size)
        if unknown == "raise" and bool(beyond.any()):
            late = _as_date(days[beyond].min())
            raise CalendarUnknown(
                f"the deadline of an inspection on {late.isoformat()} falls after "
                f"{self.last.isoformat()}, beyond the official calendar known to this "
                f"installation ({self.years()}); upgrade the chinesecalendar package "
                "(pip install -U chinesecalendar) once that year's holidays are announced"
            )
        out: DayArray = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        out[~beyond] = self.workdays[target[~beyond]]
        return out

    def due_date(self, inspected_on: date, working_days: int = WORKING_DAYS_TO_PUBLISH) -> date:
        day = np.array([inspected_on], dtype="datetime64[D]")
        return _as_date(self.due_dates(day, working_days)[0])

    def overdue_before(self, as_of: date, working_days: int = WORKING_DAYS_TO_PUBLISH) -> date:
        """Inspections strictly before the returned day are overdue on `as_of` if still
        unpublished (their due date is before `as_of`); later ones are not yet.

        The inverse of `due_dates`, so that the overdue list is one indexed range query."""
        if working_days < 1:
            raise ValueError("working_days must be at least 1")
        self._check(as_of, "the day")
        before = int(np.searchsorted(self.workdays, np.datetime64(as_of, "D"), side="left"))
        position = before - working_days
        if position < 0:
            return self.first  # nothing inside the known calendar is due yet
        return _as_date(self.workdays[position])


def _as_date(day: np.datetime64) -> date:
    value = day.astype("datetime64[D]").item()
    assert isinstance(value, date)
    return value


@lru_cache(maxsize=1)
def official_calendar() -> WorkingCalendar:
    """The official working days of every year the installed chinese_calendar knows."""
    import chinese_calendar
    from chinese_calendar import constants

    known = list(constants.holidays) + list(constants.workdays)
    first = date(min(known).year, 1, 1)
    last = date(max(known).year, 12, 31)
    return WorkingCalendar.from_predicate(first, last, chinese_calendar.is_workday)


def due_date(inspected_on: date, working_days: int = WORKING_DAYS_TO_PUBLISH) -> date:
    """The last day on which the result of an inspection on `inspected_on` may be published."""
    return official_calendar().due_date(inspected_on, working_days)


def due_dates(
    inspected_on: ArrayLike,
    working_days: int = WORKING_DAYS_TO_PUBLISH,
    *,
    unknown: Literal["raise", "nat"] = "raise",
) -> DayArray:
    return official_calendar().due_dates(inspected_on, working_days, unknown=unknown)


def overdue_before(as_of: date, working_days: int = WORKING_DAYS_TO_PUBLISH) -> date:
    return official_calendar().overdue_before(as_of, working_days)
