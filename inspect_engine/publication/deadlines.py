"""Publication deadlines: a result is public within 20 working days of the inspection.

Working days follow the official Chinese calendar (国务院办公厅 holiday notices), with its
adjusted working weekends (调休): a Saturday that is worked counts, a weekday of the
National Day week does not. The days come from `inspect_engine.workcalendar`: a year
imported by an administrator, else the `chinese_calendar` package, else Monday–Friday. A
deadline that counts a day of the last kind is *provisional* (暂定): the module-level
functions return that flag beside the date, and the caller recomputes it once the year is
imported.

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

from inspect_engine.workcalendar import PACKAGE_ONLY, Calendar, package_years

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
                f"{what} {day.isoformat()} is outside the working calendar ({self.years()})"
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
                f"{self.last.isoformat()}, beyond the working "
                f"calendar ({self.years()})"
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


@lru_cache(maxsize=16)
def _working_calendar(calendar: Calendar, first_year: int, last_year: int) -> WorkingCalendar:
    return WorkingCalendar.from_predicate(
        date(first_year, 1, 1), date(last_year, 12, 31), calendar.is_workday
    )


def working_calendar(calendar: Calendar, first: date, last: date) -> WorkingCalendar:
    """The working days of whole years covering every known year and [first, last], and
    one year beyond `last` (20 working days never reach further)."""
    known = package_years() | calendar.years
    first_year = min([first.year, *known])
    last_year = max([last.year + 1, *known])
    return _working_calendar(calendar, first_year, last_year)


def official_calendar() -> WorkingCalendar:
    """The working days of every year the installed chinese_calendar knows."""
    years = package_years()
    return _working_calendar(PACKAGE_ONLY, min(years), max(years))


@dataclass(frozen=True)
class Deadlines:
    """Due dates and whether each was counted on a provisional (weekdays-only) year."""

    due_on: DayArray
    provisional: NDArray[np.bool_]


def due_dates(
    inspected_on: ArrayLike,
    working_days: int = WORKING_DAYS_TO_PUBLISH,
    *,
    calendar: Calendar = PACKAGE_ONLY,
) -> Deadlines:
    """The due date of each inspection date (vectorised), provisional where a day counted
    (after the inspection, up to the due date) lies in a year the calendar only guesses."""
    days = np.asarray(inspected_on, dtype="datetime64[D]").reshape(-1)
    if days.size == 0:
        return Deadlines(days, np.zeros(0, dtype=bool))
    span = working_calendar(calendar, _as_date(days.min()), _as_date(days.max()))
    due = span.due_dates(days, working_days)
    counted_from = _years(np.asarray(days + np.timedelta64(1, "D"), dtype="datetime64[D]"))
    guessed = np.array(sorted(y for y in _years_between(span) if calendar.is_provisional(y)))
    provisional = np.isin(counted_from, guessed) | np.isin(_years(due), guessed)
    return Deadlines(due, provisional)


def due_date(
    inspected_on: date,
    working_days: int = WORKING_DAYS_TO_PUBLISH,
    *,
    calendar: Calendar = PACKAGE_ONLY,
) -> tuple[date, bool]:
    """The last day on which the result of an inspection on `inspected_on` may be
    published, and whether that day is provisional."""
    day = np.array([inspected_on], dtype="datetime64[D]")
    found = due_dates(day, working_days, calendar=calendar)
    return _as_date(found.due_on[0]), bool(found.provisional[0])


def overdue_before(
    as_of: date,
    working_days: int = WORKING_DAYS_TO_PUBLISH,
    *,
    calendar: Calendar = PACKAGE_ONLY,
) -> tuple[date, bool]:
    """The day before which unpublished inspections are overdue on `as_of`, and whether it
    is provisional (a day counted back from `as_of` lies in a guessed year)."""
    cutoff = working_calendar(calendar, as_of, as_of).overdue_before(as_of, working_days)
    guessed = {y for y in range(cutoff.year, as_of.year + 1) if calendar.is_provisional(y)}
    return cutoff, bool(guessed)


def _years(days: DayArray) -> NDArray[np.int64]:
    return days.astype("datetime64[Y]").astype(np.int64) + 1970


def _years_between(span: WorkingCalendar) -> range:
    return range(span.first.year, span.last.year + 1)
