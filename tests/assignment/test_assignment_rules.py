"""Each lawfulness rule on its own, with a case it must accept and one it must reject."""

from __future__ import annotations

from collections.abc import Callable
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
    department_needs,
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
from inspect_engine.assignment.types import DepartmentNeed, Inspector, Visit

InspectorFactory = Callable[..., Inspector]
VisitFactory = Callable[..., Visit]


def test_certificate_must_cover_the_last_day_of_the_month(
    make_inspector: InspectorFactory, month: Month
) -> None:
    assert certificate_valid(make_inspector("A", certificate_expires=date(2026, 12, 31)), month)
    assert not certificate_valid(make_inspector("B", certificate_expires=date(2026, 12, 30)), month)
    assert not certificate_valid(make_inspector("C", certificate_expires=date(2026, 1, 1)), month)


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
    cross = make_visit("V1", unit="440106-03", mode=OfficeMode.CROSS_OFFICE)
    local = make_visit("V2", unit="440106-03", mode=OfficeMode.LOCAL)
    anyone = make_visit("V3", unit="440106-03", mode=OfficeMode.ANY)
    assert [office_mode_allows(i, cross) for i in (same_office, same_district, elsewhere)] == [
        False,
        True,
        True,
    ]
    assert [office_mode_allows(i, local) for i in (same_office, same_district, elsewhere)] == [
        True,
        True,
        False,
    ]
    assert all(office_mode_allows(i, anyone) for i in (same_office, same_district, elsewhere))


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


def test_over_capacity(make_inspector: InspectorFactory, month: Month) -> None:
    a, b = make_inspector("A", capacity=1), make_inspector("B", capacity=2)
    assert over_capacity([[a, b], [b]], month) == {}
    assert over_capacity([[a, b], [a, b]], month) == {"A": (2, 1)}


def test_merge_office_mode_takes_the_strictest() -> None:
    assert merge_office_mode(["any", "local"]) is OfficeMode.LOCAL
    assert merge_office_mode([OfficeMode.LOCAL, "cross_office", "any"]) is OfficeMode.CROSS_OFFICE
    assert merge_office_mode(["any"]) is OfficeMode.ANY
    assert merge_office_mode([]) is OfficeMode.CROSS_OFFICE
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
