"""Which days are worked: the one calendar source of deadlines and team capacity.

The State Council publishes each year's holidays and adjusted working weekends (调休) in the
autumn; the `chinese_calendar` package follows some weeks or months later. So a day is
answered by, in order:
1. an imported year (`inspect-engine import holidays`): the Monday–Friday week with the
   file's exceptions; an imported year overrides the package for that whole year;
2. the package, for the years it covers;
3. Monday–Friday, *provisional*: deadlines computed on it are marked 暂定 and recomputed
   when the year is imported.

Pure: the workflow reads the imported exceptions from the database and passes them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

IMPORTED = "imported"
OFFICIAL = "official"
WEEKDAYS = "weekdays"  # provisional: a year nobody has published yet


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


@lru_cache(maxsize=1)
def package_years() -> frozenset[int]:
    """The years the installed chinese_calendar package knows (empty without it)."""
    try:
        from chinese_calendar import constants
    except ImportError:  # pragma: no cover - the package is a project dependency
        return frozenset()
    known = list(constants.holidays) + list(constants.workdays)
    return frozenset(range(min(known).year, max(known).year + 1))


@dataclass(frozen=True)
class Calendar:
    """The imported exceptions: (day, is a working day) for each day of an imported year
    that differs from the Monday–Friday week. A year with no exception at all is imported
    by naming it in `years` (a year file with no rows is unusual but lawful)."""

    exceptions: frozenset[tuple[date, bool]] = frozenset()
    years: frozenset[int] = frozenset()
    _by_day: dict[date, bool] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        by_day = dict(self.exceptions)
        if len(by_day) != len(self.exceptions):
            raise ValueError("a day is both a holiday and a working day")
        object.__setattr__(self, "years", self.years | {day.year for day in by_day})
        object.__setattr__(self, "_by_day", by_day)

    @classmethod
    def of(cls, rows: Iterable[tuple[date, str]], years: Iterable[int] = ()) -> Calendar:
        """From (day, "holiday" | "workday") rows as stored by the import."""
        return cls(frozenset((day, kind == "workday") for day, kind in rows), frozenset(years))

    def source(self, year: int) -> str:
        if year in self.years:
            return IMPORTED
        return OFFICIAL if year in package_years() else WEEKDAYS

    def is_provisional(self, year: int) -> bool:
        return self.source(year) == WEEKDAYS

    def verdict(self, day: date) -> tuple[bool, str]:
        """(is a working day, which source answered)."""
        source = self.source(day.year)
        if source == IMPORTED:
            return self._by_day.get(day, is_weekday(day)), source
        if source == OFFICIAL:
            import chinese_calendar  # lazily: only years it covers come here

            return bool(chinese_calendar.is_workday(day)), source
        return is_weekday(day), source

    def is_workday(self, day: date) -> bool:
        return self.verdict(day)[0]


PACKAGE_ONLY = Calendar()
