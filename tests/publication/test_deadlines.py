"""Publication deadlines: 20 working days on the official calendar, adjusted weekends
included. Expected dates are counted by hand from the State Council holiday notices."""

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspect_engine.publication import deadlines
from inspect_engine.publication.deadlines import WorkingCalendar
from inspect_engine.workcalendar import Calendar, package_years

LAST_PACKAGED = max(package_years())
# 2027 as a State Council notice might give it (a made-up notice: the test needs only its
# shape): New Year's Day on Friday 1 January, Spring Festival 6–12 February with Sunday 14
# February worked.
NOTICE_2027 = Calendar.of(
    [(date(2027, 1, 1), "holiday")]
    + [(date(2027, 2, d), "holiday") for d in (8, 9, 10, 11, 12)]
    + [(date(2027, 2, 14), "workday")]
)


def due(day: date, calendar: Calendar = Calendar()) -> date:
    found, provisional = deadlines.due_date(day, calendar=calendar)
    assert not provisional, f"{day}: the packaged years give final deadlines"
    return found


def test_national_day_2025_with_its_working_sunday_and_saturday() -> None:
    # 2025: 1–8 Oct off (National Day + Mid-Autumn); Sun 28 Sep and Sat 11 Oct worked.
    # From Thu 25 Sep: 26, 28(Sun), 29, 30 Sep; 9, 10, 11(Sat), 13–17, 20–24, 27, 28, 29 Oct.
    assert due(date(2025, 9, 25)) == date(2025, 10, 29)


def test_mid_autumn_and_national_day_2026() -> None:
    # 2026: 25–27 Sep (Mid-Autumn) and 1–7 Oct off; Sat 10 Oct worked.
    # From Thu 24 Sep: 28, 29, 30 Sep; 8, 9, 10(Sat), 12–16, 19–23, 26, 27, 28, 29 Oct.
    assert due(date(2026, 9, 24)) == date(2026, 10, 29)
    # counting plain weekdays would have given 22 Oct: the holidays matter
    assert due(date(2026, 9, 24)) != date(2026, 10, 22)


def test_spring_festival_2026() -> None:
    # 2026: 15–23 Feb off; Sat 14 Feb and Sat 28 Feb worked.
    # From Fri 6 Feb: 9–13 (5), 14 Sat (6), 24–27 (10), 28 Sat (11) Feb; 2–6 (16),
    # 9, 10, 11, 12 (20) Mar.
    assert due(date(2026, 2, 6)) == date(2026, 3, 12)


def test_a_holiday_inspection_counts_from_the_next_working_day() -> None:
    # inspected on 3 Oct 2026 (holiday): 8, 9, 10(Sat), 12–16, 19–23, 26–30 Oct, 2–3 Nov
    assert due(date(2026, 10, 3)) == date(2026, 11, 3)


def test_vectorised_due_dates_agree_with_single_ones() -> None:
    days = [date(2026, 1, 5) + timedelta(days=k) for k in range(0, 300, 7)]
    together = deadlines.due_dates(np.array(days, dtype="datetime64[D]"))
    assert [d.item() for d in together.due_on] == [due(d) for d in days]
    assert not together.provisional.any()


def test_the_package_ends_in_2026_so_the_boundary_tests_below_cross_into_a_guessed_year() -> None:
    assert LAST_PACKAGED == 2026, "move the boundary tests to the package's new last year"


def test_a_deadline_across_new_year_into_an_unknown_year_is_provisional() -> None:
    # Sun 20 Dec 2026: 21–25 (5), 28–31 (9) Dec; 2027 guessed as Monday–Friday: Fri 1 (10),
    # 4–8 (15), 11–15 (20) Jan.
    assert deadlines.due_date(date(2026, 12, 20)) == (date(2027, 1, 15), True)
    # a deadline still inside 2026 is final
    assert deadlines.due_date(date(2026, 11, 20)) == (date(2026, 12, 18), False)


def test_the_imported_year_gives_the_final_deadline_across_new_year() -> None:
    # 1 Jan 2027 is a holiday in the notice: 21–25 (5), 28–31 (9) Dec; 4–8 (14),
    # 11–15 (19), 18 (20) Jan.
    assert deadlines.due_date(date(2026, 12, 20), calendar=NOTICE_2027) == (
        date(2027, 1, 18),
        False,
    )
    # Spring Festival 2027: from Fri 29 Jan, 1–5 Feb (5), Sun 14 Feb worked (6), 15–19 (11),
    # 22–26 (16), 1–4 Mar (20).
    assert deadlines.due_date(date(2027, 1, 29), calendar=NOTICE_2027) == (date(2027, 3, 4), False)


def test_an_imported_year_overrides_the_package_for_the_whole_year() -> None:
    only_new_year = Calendar.of([(date(2026, 1, 1), "holiday")])
    assert only_new_year.source(2026) == "imported" and only_new_year.source(2025) == "official"
    assert only_new_year.is_workday(date(2026, 10, 5))  # National Day no longer in force
    assert not Calendar().is_workday(date(2026, 10, 5))
    assert not only_new_year.is_workday(date(2026, 1, 1))


def test_a_year_after_an_imported_gap_is_still_guessed() -> None:
    only_2028 = Calendar.of([(date(2028, 1, 3), "holiday")])
    assert only_2028.is_provisional(2027) and not only_2028.is_provisional(2028)
    # Thu 16 Dec 2027 → 20 weekdays later, across a guessed 2027 end and an imported 2028
    found, provisional = deadlines.due_date(date(2027, 12, 16), calendar=only_2028)
    assert provisional and found == date(2028, 1, 14)  # 3 Jan 2028 off: one day later


def test_overdue_before_is_provisional_while_it_counts_back_over_a_guessed_year() -> None:
    as_of = date(2027, 1, 20)
    guessed_cutoff, guessed = deadlines.overdue_before(as_of)
    final_cutoff, final = deadlines.overdue_before(as_of, calendar=NOTICE_2027)
    assert guessed and not final
    # 1 Jan 2027 is worked in the guess and off in the notice: the final cutoff is earlier
    assert final_cutoff < guessed_cutoff
    for inspected in (date(2026, 12, 17), date(2026, 12, 18), date(2026, 12, 21)):
        found, _ = deadlines.due_date(inspected, calendar=NOTICE_2027)
        assert (found < as_of) == (inspected < final_cutoff)
    assert deadlines.overdue_before(date(2026, 11, 30))[1] is False


def test_a_calendar_cannot_call_a_day_both_worked_and_off() -> None:
    with pytest.raises(ValueError, match="both"):
        Calendar.of([(date(2027, 1, 1), "holiday"), (date(2027, 1, 1), "workday")])


def test_overdue_before_on_the_official_calendar() -> None:
    # due 29 Oct 2026 for an inspection on 24 Sep: overdue from 30 Oct, not on 29 Oct
    assert deadlines.overdue_before(date(2026, 10, 29))[0] <= date(2026, 9, 24)
    assert deadlines.overdue_before(date(2026, 10, 30))[0] > date(2026, 9, 24)


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
