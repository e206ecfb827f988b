"""Each lawfulness rule on its own, with a case it must accept and one it must reject."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

import pytest

from inspect_engine.assignment import (
    DateRange,
    Month,
    OfficeMode,
    PastInspection,
    Recusals,
    available_in_month,
    capacity_in_month,
    certificate_valid,
    common_day,
    department_needs,
    duty_days,
    eligible,
    free_working_days,
    has_capacity_left,
    is_active,
    merge_office_mode,
    merge_team_size,
    not_recused,
    office_mode_allows,
    over_capacity,
    qualified_for,
    team_violations,
)
from inspect_engine.assignment.rules import on_duty
from inspect_engine.assignment.types import DepartmentNeed, Inspector, Visit
from inspect_engine.workcalendar import Calendar

InspectorFactory = Callable[..., Inspector]
VisitFactory = Callable[..., Visit]


def test_certificate_must_be_valid_on_a_working_day_of_the_window(
    make_inspector: InspectorFactory, month: Month
) -> None:
    # A certificate expiring mid-month still allows the working days before it: the team
    # then needs a common day on which it is valid (`common_day`), not the whole month.
    assert certificate_valid(make_inspector("A", certificate_expires=date(2026, 12, 31)), month)
    assert certificate_valid(make_inspector("B", certificate_expires=date(2026, 12, 30)), month)
    assert certificate_valid(make_inspector("C", certificate_expires=date(2026, 12, 1)), month)
    assert not certificate_valid(make_inspector("D", certificate_expires=date(2026, 11, 30)), month)
    assert not certificate_valid(make_inspector("E", certificate_expires=date(2026, 1, 1)), month)
    # The window opened at the freeze: a certificate ending before it is of no use.
    late = replace(month, window_first=date(2026, 12, 15))
    assert not certificate_valid(make_inspector("F", certificate_expires=date(2026, 12, 14)), late)
    assert certificate_valid(make_inspector("G", certificate_expires=date(2026, 12, 15)), late)
    # A window opened after the month has no working day, so no certificate is of use.
    closed = replace(month, window_first=date(2027, 1, 1))
    assert closed.window_days == ()
    assert not certificate_valid(make_inspector("H"), closed)


def test_window_days_start_at_the_later_of_the_freeze_and_the_month(month: Month) -> None:
    assert month.window_start == date(2026, 12, 1)
    assert month.window_days == month.working_days
    early = replace(month, window_first=date(2026, 11, 20))
    assert early.window_start == date(2026, 12, 1) and early.window_days == month.working_days
    late = replace(month, window_first=date(2026, 12, 19))  # a Saturday
    assert late.window_start == date(2026, 12, 19)
    assert late.window_days[0] == date(2026, 12, 21)
    assert len(late.window_days) == 9  # 21-25 and 28-31 December
    assert Month.of(2099, 3, window_first=date(2099, 3, 10)).window_days[0] == date(2099, 3, 10)


def test_on_duty_each_day_and_the_duty_days_of_the_window(
    make_inspector: InspectorFactory, month: Month
) -> None:
    leave = (DateRange(date(2026, 12, 7), date(2026, 12, 11)),)
    a = make_inspector("A", leave=leave, certificate_expires=date(2026, 12, 22))
    assert on_duty(a, date(2026, 12, 4))
    assert not on_duty(a, date(2026, 12, 7))  # on leave
    assert on_duty(a, date(2026, 12, 22))  # the certificate's last day is still valid
    assert not on_duty(a, date(2026, 12, 23))
    assert not on_duty(make_inspector("B", active=False), date(2026, 12, 4))
    days = duty_days(a, month)
    assert days[0] == date(2026, 12, 1) and days[-1] == date(2026, 12, 22)
    assert len(days) == 4 + 5 + 2  # 1-4, 14-18, 21-22 December
    assert duty_days(make_inspector("C", active=False), month) == ()


def test_common_day_is_the_first_day_every_member_is_on_duty(
    make_inspector: InspectorFactory, month: Month
) -> None:
    first_half = make_inspector("A", leave=(DateRange(date(2026, 12, 1), date(2026, 12, 15)),))
    second_half = make_inspector("B", leave=(DateRange(date(2026, 12, 16), date(2026, 12, 31)),))
    expiring = make_inspector("C", certificate_expires=date(2026, 12, 16))
    free = make_inspector("D")
    assert common_day([first_half, second_half], month) is None
    assert common_day([first_half, free], month) == date(2026, 12, 16)
    assert common_day([second_half, free], month) == date(2026, 12, 1)
    assert common_day([first_half, expiring], month) == date(2026, 12, 16)
    assert common_day([first_half, expiring, second_half], month) is None
    late = replace(month, window_first=date(2026, 12, 17))
    assert common_day([first_half, expiring], late) is None  # the 16th is before the window
    assert common_day([], month) == date(2026, 12, 1)


def test_inactive_inspector_is_rejected(make_inspector: InspectorFactory) -> None:
    assert is_active(make_inspector("A"))
    assert not is_active(make_inspector("B", active=False))


def test_leave_over_the_whole_month_makes_an_inspector_unavailable(
    make_inspector: InspectorFactory, month: Month
) -> None:
    whole = (DateRange(date(2026, 11, 20), date(2027, 1, 3)),)
    weekdays_only = (DateRange(date(2026, 12, 1), date(2026, 12, 4)),)
    assert not available_in_month(make_inspector("A", leave=whole), month)
    assert available_in_month(make_inspector("B", leave=weekdays_only), month)
    assert available_in_month(make_inspector("C"), month)


def test_free_working_days_ignore_leave_on_weekends(
    make_inspector: InspectorFactory, month: Month
) -> None:
    # 5-6 December 2026 is a weekend: leave then costs no working day.
    weekend = make_inspector("A", leave=(DateRange(date(2026, 12, 5), date(2026, 12, 6)),))
    week = make_inspector("B", leave=(DateRange(date(2026, 12, 7), date(2026, 12, 13)),))
    assert free_working_days(weekend, month) == 23
    assert free_working_days(week, month) == 18


def test_capacity_is_prorated_by_free_working_days_rounding_half_up(
    make_inspector: InspectorFactory, month: Month
) -> None:
    # 23 working days; a week of leave leaves 18: 10 * 18 / 23 = 7.83 -> 8.
    week = (DateRange(date(2026, 12, 7), date(2026, 12, 11)),)
    assert capacity_in_month(make_inspector("A", capacity=10, leave=week), month) == 8
    assert capacity_in_month(make_inspector("B", capacity=10), month) == 10
    # 3 * 18 / 23 = 2.35 -> 2
    assert capacity_in_month(make_inspector("C", capacity=3, leave=week), month) == 2
    two_days = Month(
        date(2026, 12, 1), date(2026, 12, 2), (date(2026, 12, 1), date(2026, 12, 2)), "x"
    )
    one_off = (DateRange(date(2026, 12, 1), date(2026, 12, 1)),)
    # exactly half: 1 * 1 / 2 = 0.5 -> 1
    assert capacity_in_month(make_inspector("D", capacity=1, leave=one_off), two_days) == 1
    no_work = Month(date(2026, 12, 5), date(2026, 12, 6), (), "x")
    assert capacity_in_month(make_inspector("E", capacity=9), no_work) == 0


def test_capacity_is_prorated_by_the_certificate_and_the_window_too(
    make_inspector: InspectorFactory, month: Month
) -> None:
    # Prorated over the month's 23 working days by the days the inspector may inspect in
    # the window: a certificate ending on 15 December leaves 11 (1-4, 7-11, 14-15):
    # 10 * 11 / 23 = 4.78 -> 5.
    expiring = make_inspector("A", capacity=10, certificate_expires=date(2026, 12, 15))
    assert free_working_days(expiring, month) == 11
    assert capacity_in_month(expiring, month) == 5
    # A window opened on 15 December has 13 working days: 10 * 13 / 23 = 5.65 -> 6.
    late = replace(month, window_first=date(2026, 12, 15))
    assert free_working_days(make_inspector("B", capacity=10), late) == 13
    assert capacity_in_month(make_inspector("B", capacity=10), late) == 6
    # both: the certificate's 15th is the only free day of that window, 10 / 23 -> 0
    assert free_working_days(expiring, late) == 1
    assert capacity_in_month(expiring, late) == 0
    assert not available_in_month(make_inspector("C", certificate_expires=date(2026, 12, 14)), late)


def test_qualification_needs_department_and_every_required_qualification(
    make_inspector: InspectorFactory, make_visit: VisitFactory
) -> None:
    visit = make_visit("V", needs={"SAMR": ("food", "drug"), "HEALTH": ()})
    assert qualified_for(make_inspector("A", quals=("food", "drug", "metrology")), visit)
    assert not qualified_for(make_inspector("B", quals=("food",)), visit)
    assert qualified_for(make_inspector("C", dept="HEALTH"), visit)
    assert not qualified_for(make_inspector("D", dept="FIRE", quals=("food", "drug")), visit)


def test_office_modes(make_inspector: InspectorFactory, make_visit: VisitFactory) -> None:
    same_office = make_inspector("A", unit="440106-03")
    same_district = make_inspector("B", unit="440106-01")
    elsewhere = make_inspector("C", unit="440115-02")
    everyone = (same_office, same_district, elsewhere)
    cross = make_visit("V1", unit="440106-03", mode=OfficeMode.CROSS_OFFICE)
    local = make_visit("V2", unit="440106-03", mode=OfficeMode.LOCAL)
    anyone = make_visit("V3", unit="440106-03", mode=OfficeMode.ANY)
    both = make_visit("V4", unit="440106-03", mode=OfficeMode.LOCAL_CROSS)
    assert [office_mode_allows(i, cross) for i in everyone] == [False, True, True]
    assert [office_mode_allows(i, local) for i in everyone] == [True, True, False]
    assert [office_mode_allows(i, both) for i in everyone] == [False, True, False]
    assert all(office_mode_allows(i, anyone) for i in everyone)


def test_recusal_by_conflict_and_by_recent_inspection_window(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    visit = make_visit("V", credit_code="91440106MA5")
    window = 90
    cutoff = month.first_day - timedelta(days=window)
    recusals = Recusals.build(
        conflicts=[("A", "91440106MA5")],
        recent=[
            PastInspection("B", "91440106MA5", cutoff),  # on the cutoff: barred
            PastInspection("C", "91440106MA5", cutoff - timedelta(days=1)),  # before: free
            PastInspection("D", "91440106XXX", month.first_day),  # another enterprise
        ],
        window_days=window,
    )
    barred = recusals.barred_pairs(month)
    verdicts = {i: not_recused(make_inspector(i), visit, barred) for i in "ABCD"}
    assert verdicts == {"A": False, "B": False, "C": True, "D": True}


def test_capacity_left(make_inspector: InspectorFactory, month: Month) -> None:
    inspector = make_inspector("A", capacity=2)
    assert has_capacity_left(inspector, month, load=1)
    assert not has_capacity_left(inspector, month, load=2)


def test_eligible_combines_every_rule(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    visit = make_visit("V", needs={"SAMR": ("food",)}, unit="440106-03")
    good = make_inspector("A", quals=("food",), unit="440115-01")
    assert eligible(good, visit, month, frozenset())
    rejects = [
        make_inspector("B", quals=(), unit="440115-01"),
        make_inspector("C", quals=("food",), unit="440106-03"),
        make_inspector("D", quals=("food",), unit="440115-01", active=False),
        make_inspector("E", quals=("food",), unit="440115-01", capacity=0),
    ]
    assert not any(eligible(i, visit, month, frozenset()) for i in rejects)
    assert not eligible(good, visit, month, frozenset({("A", visit.credit_code)}))


def test_team_violations(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    visit = make_visit("V", needs={"SAMR": (), "FIRE": ()}, size=3, unit="440106-03")
    samr1 = make_inspector("S1", unit="440115-01")
    samr2 = make_inspector("S2", unit="440115-01")
    fire = make_inspector("F1", dept="FIRE", unit="440103-01")
    own_office = make_inspector("S3", unit="440106-03")
    assert team_violations([samr1, samr2, fire], visit, month, frozenset()) == []
    assert "no FIRE inspector on the team" in team_violations(
        [samr1, samr2, make_inspector("S4", unit="440111-01")], visit, month, frozenset()
    )
    assert "an inspector holds two places on the team" in team_violations(
        [samr1, samr1, fire], visit, month, frozenset()
    )
    assert "S3 is not eligible" in team_violations([samr1, own_office, fire], visit, month, set())
    assert team_violations([samr1, fire], visit, month, frozenset())  # too small


def test_team_violations_require_a_common_duty_day(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    visit = make_visit("V", unit="440106-03")
    first_half = make_inspector(
        "A", unit="440115-01", leave=(DateRange(date(2026, 12, 1), date(2026, 12, 15)),)
    )
    second_half = make_inspector(
        "B", unit="440115-01", leave=(DateRange(date(2026, 12, 16), date(2026, 12, 31)),)
    )
    expired_early = make_inspector("C", unit="440115-01", certificate_expires=date(2026, 12, 4))
    # each of them alone is eligible: only the team has no day
    assert all(eligible(i, visit, month, ()) for i in (first_half, second_half, expired_early))
    no_day = "no working day of the window on which every member is on duty"
    assert team_violations([first_half, second_half], visit, month, ()) == [no_day]
    assert team_violations([first_half, expired_early], visit, month, ()) == [no_day]
    assert team_violations([second_half, expired_early], visit, month, ()) == []


def test_over_capacity(make_inspector: InspectorFactory, month: Month) -> None:
    a, b = make_inspector("A", capacity=1), make_inspector("B", capacity=2)
    assert over_capacity([[a, b], [b]], month) == {}
    assert over_capacity([[a, b], [a, b]], month) == {"A": (2, 1)}


def test_merge_office_mode_keeps_every_condition() -> None:
    assert merge_office_mode(["any", "local"]) is OfficeMode.LOCAL
    assert merge_office_mode(["cross_office", "any"]) is OfficeMode.CROSS_OFFICE
    assert merge_office_mode(["any"]) is OfficeMode.ANY
    assert merge_office_mode([]) is OfficeMode.CROSS_OFFICE
    # a local task and a cross_office task: the district, but not the own office
    assert merge_office_mode([OfficeMode.LOCAL, "cross_office", "any"]) is OfficeMode.LOCAL_CROSS
    assert merge_office_mode(["cross_office", "local"]) is OfficeMode.LOCAL_CROSS
    assert merge_office_mode(["local_cross"]) is OfficeMode.LOCAL_CROSS
    assert merge_office_mode(["local_cross", "any", "local"]) is OfficeMode.LOCAL_CROSS
    with pytest.raises(ValueError):
        merge_office_mode(["nearby"])


def test_merge_team_size() -> None:
    assert merge_team_size([2, 3], [2, None]) == 3
    assert merge_team_size([2], [4]) == 4
    assert merge_team_size([1], []) == 2  # never below two (行政处罚法 Art. 42)
    assert merge_team_size([2], [2], departments=3) == 3  # one place per department


def test_department_needs_merge_items_per_department() -> None:
    needs = department_needs(
        [("SAMR", "food"), ("HEALTH", None), ("SAMR", "drug"), ("SAMR", None), ("SAMR", "food")]
    )
    assert needs == (
        DepartmentNeed("HEALTH", frozenset()),
        DepartmentNeed("SAMR", frozenset({"food", "drug"})),
    )


def test_visit_rejects_a_team_smaller_than_its_departments() -> None:
    three = tuple(DepartmentNeed(d) for d in ("SAMR", "FIRE", "HEALTH"))
    with pytest.raises(ValueError, match="team_size"):
        Visit("V", "C", "440106-01", "440106", three, team_size=2)
    with pytest.raises(ValueError, match="team_size"):
        Visit("V", "C", "440106-01", "440106", three[:1], team_size=1)
    with pytest.raises(ValueError, match="twice"):
        Visit("V", "C", "440106-01", "440106", (three[0], three[0]), team_size=2)
    with pytest.raises(ValueError, match="no department"):
        Visit("V", "C", "440106-01", "440106", (), team_size=2)


def test_month_uses_the_official_calendar_with_adjusted_working_weekends() -> None:
    february = Month.of(2026, 2)
    assert february.calendar_source == "official"
    assert date(2026, 2, 14) in february.working_days  # a Saturday worked for Spring Festival
    assert date(2026, 2, 16) not in february.working_days  # a Monday off
    october = Month.of(2026, 10)
    assert date(2026, 10, 1) not in october.working_days
    assert (october.first_day, october.last_day) == (date(2026, 10, 1), date(2026, 10, 31))


def test_month_falls_back_to_weekdays_and_says_so() -> None:
    march = Month.of(2099, 3)  # far beyond any announced calendar
    assert march.calendar_source == "weekdays"
    # March 2099 starts on a Sunday: 31 days minus 9 weekend days = 22 working days.
    assert len(march.working_days) == 22
    assert march.label == "2099-03"


def test_month_takes_an_imported_year_over_the_weekday_guess() -> None:
    guessed = Month.of(2027, 1)
    assert guessed.calendar_source == "weekdays"
    assert date(2027, 1, 1) in guessed.working_days  # a Friday, guessed worked
    notice = Calendar.of([(date(2027, 1, 1), "holiday"), (date(2027, 1, 30), "workday")])
    imported = Month.of(2027, 1, working_calendar=notice)
    assert imported.calendar_source == "imported"
    assert date(2027, 1, 1) not in imported.working_days
    assert date(2027, 1, 30) in imported.working_days  # a Saturday worked
    assert len(imported.working_days) == len(guessed.working_days)
    # the package still answers for its own years
    assert Month.of(2026, 12, working_calendar=notice).calendar_source == "official"
