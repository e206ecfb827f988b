"""Publication deadlines: 20 working days on the official calendar, adjusted weekends
included. Expected dates are counted by hand from the State Council holiday notices."""

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspect_engine.publication import deadlines
from inspect_engine.publication.deadlines import CalendarUnknown, WorkingCalendar


def test_national_day_2025_with_its_working_sunday_and_saturday() -> None:
    # 2025: 1–8 Oct off (National Day + Mid-Autumn); Sun 28 Sep and Sat 11 Oct worked.
    # From Thu 25 Sep: 26, 28(Sun), 29, 30 Sep; 9, 10, 11(Sat), 13–17, 20–24, 27, 28, 29 Oct.
    assert deadlines.due_date(date(2025, 9, 25)) == date(2025, 10, 29)


def test_mid_autumn_and_national_day_2026() -> None:
    # 2026: 25–27 Sep (Mid-Autumn) and 1–7 Oct off; Sat 10 Oct worked.
    # From Thu 24 Sep: 28, 29, 30 Sep; 8, 9, 10(Sat), 12–16, 19–23, 26, 27, 28, 29 Oct.
    assert deadlines.due_date(date(2026, 9, 24)) == date(2026, 10, 29)
    # counting plain weekdays would have given 22 Oct: the holidays matter
    assert deadlines.due_date(date(2026, 9, 24)) != date(2026, 10, 22)


def test_spring_festival_2026() -> None:
    # 2026: 15–23 Feb off; Sat 14 Feb and Sat 28 Feb worked.
    # From Fri 6 Feb: 9–13 (5), 14 Sat (6), 24–27 (10), 28 Sat (11) Feb; 2–6 (16),
    # 9, 10, 11, 12 (20) Mar.
    assert deadlines.due_date(date(2026, 2, 6)) == date(2026, 3, 12)


def test_a_holiday_inspection_counts_from_the_next_working_day() -> None:
    # inspected on 3 Oct 2026 (holiday): 8, 9, 10(Sat), 12–16, 19–23, 26–30 Oct, 2–3 Nov
    assert deadlines.due_date(date(2026, 10, 3)) == date(2026, 11, 3)


def test_vectorised_due_dates_agree_with_single_ones() -> None:
    days = [date(2026, 1, 5) + timedelta(days=k) for k in range(0, 300, 7)]
    together = deadlines.due_dates(np.array(days, dtype="datetime64[D]"))
    assert [d.item() for d in together] == [deadlines.due_date(d) for d in days]


def test_dates_beyond_the_known_calendar_are_refused_clearly() -> None:
    known = deadlines.official_calendar()
    with pytest.raises(CalendarUnknown, match="upgrade the chinesecalendar package"):
        deadlines.due_date(date(known.last.year + 1, 3, 2))
    with pytest.raises(CalendarUnknown, match="falls after"):
        deadlines.due_date(date(known.last.year, 12, 28))  # deadline in the next year
    with pytest.raises(CalendarUnknown):
        deadlines.due_date(date(known.first.year - 1, 6, 1))
    with pytest.raises(CalendarUnknown):
        deadlines.overdue_before(date(known.last.year + 1, 1, 10))


def test_unknown_deadlines_can_be_left_open() -> None:
    known = deadlines.official_calendar()
    days = np.array(
        [date(2026, 9, 24), date(known.last.year, 12, 28), date(known.last.year + 1, 1, 4)],
        dtype="datetime64[D]",
    )
    found = deadlines.due_dates(days, unknown="nat")
    assert found[0] == np.datetime64("2026-10-29")
    assert np.isnat(found[1]) and np.isnat(found[2])


def test_overdue_before_on_the_official_calendar() -> None:
    # due 29 Oct 2026 for an inspection on 24 Sep: overdue from 30 Oct, not on 29 Oct
    assert deadlines.overdue_before(date(2026, 10, 29)) <= date(2026, 9, 24)
    assert deadlines.overdue_before(date(2026, 10, 30)) > date(2026, 9, 24)


# A synthetic calendar: Monday to Friday worked, except a "holiday week" each March,
# and each first Saturday of April worked.
FIRST, LAST = date(2030, 1, 1), date(2031, 12, 31)


def _synthetic_workday(day: date) -> bool:
    if day.month == 3 and day.day <= 7:
        return False
    if day.month == 4 and day.weekday() == 5 and day.day <= 7:
        return True
    return day.weekday() < 5


SYNTHETIC = WorkingCalendar.from_predicate(FIRST, LAST, _synthetic_workday)
days_in_range = st.dates(min_value=FIRST, max_value=date(2031, 10, 31))


@given(days_in_range, st.integers(min_value=1, max_value=40))
def test_the_due_date_is_the_nth_working_day_after(inspected: date, n: int) -> None:
    due = SYNTHETIC.due_date(inspected, n)
    assert _synthetic_workday(due)
    worked = [
        inspected + timedelta(days=k)
        for k in range(1, (due - inspected).days + 1)
        if _synthetic_workday(inspected + timedelta(days=k))
    ]
    assert len(worked) == n and worked[-1] == due


@given(days_in_range, days_in_range)
def test_overdue_before_is_the_inverse_of_the_due_date(inspected: date, as_of: date) -> None:
    overdue = SYNTHETIC.due_date(inspected) < as_of
    assert overdue == (inspected < SYNTHETIC.overdue_before(as_of))


def test_a_calendar_rejects_unsorted_or_stray_days() -> None:
    with pytest.raises(ValueError, match="sorted"):
        WorkingCalendar(np.array(["2030-01-03", "2030-01-02"], dtype="datetime64[D]"), FIRST, LAST)
    with pytest.raises(ValueError, match="outside"):
        WorkingCalendar(np.array(["2029-12-31"], dtype="datetime64[D]"), FIRST, LAST)
