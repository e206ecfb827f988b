"""The re-check of carried teams (结转, carryover.py): only unlawful members leave, each place
is filled by keyed rank, carried places come off the capacity first, one visit when drawn
again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from inspect_engine.assignment import (
    DateRange,
    Inspector,
    Month,
    OfficeMode,
    Recusals,
    assign,
    pair_key,
)
from inspect_engine.assignment.carryover import (
    CarriedVisit,
    carried_days,
    month_visits,
    priority,
    recheck,
)
from inspect_engine.assignment.rules import eligible, on_duty
from inspect_engine.assignment.schedule import day_key
from inspect_engine.assignment.staffing import MergedVisit

InspectorFactory = Callable[..., Inspector]


def carried(
    visit_id: str, team: tuple[str, ...], size: int = 2, unit: str = "440106-03"
) -> CarriedVisit:
    return CarriedVisit(
        visit_id=visit_id, credit_code=f"C-{visit_id}", unit=unit, district=unit[:6],
        month="2026-11", task_codes=("2026-11-INFO",), item_codes=("SAMR-INFO",),
        departments=("SAMR",), qualifications=(("SAMR", None),),
        mode=OfficeMode.CROSS_OFFICE, team_size=size, team=team,
    )  # fmt: skip


def staff(make_inspector: InspectorFactory, capacity: int = 5) -> list[Inspector]:
    return [
        make_inspector(f"S{k}", unit=f"440106-0{1 + k % 2}", capacity=capacity) for k in range(8)
    ]


def test_only_the_unlawful_member_leaves_and_the_best_ranked_replaces_him(
    make_inspector: InspectorFactory, month: Month, seed: Callable[[str], str]
) -> None:
    team_seed = seed("carry-1")
    directory = staff(make_inspector)
    directory[0] = make_inspector("S0", unit="440106-01", active=False)  # deactivated
    visit = carried("2026-11-000001", ("S0", "S1"))
    done = recheck([visit], directory, month, Recusals(), team_seed)
    team = done.teams[visit.visit_id]
    assert "S1" in team and "S0" not in team and len(team) == 2
    # the replacement, computed independently: the lawful candidate of smallest key
    spec = visit.spec()
    lawful = [i for i in directory if eligible(i, spec, month, frozenset())]
    pool = [i.inspector_id for i in lawful if i.inspector_id not in ("S0", "S1")]
    best = min(pool, key=lambda i: (pair_key(team_seed, visit.credit_code, i), i))
    assert set(team) == {"S1", best}
    assert done.replaced[visit.visit_id] == (("S0",), (best,))
    assert "S0 not lawful" in done.reasons[visit.visit_id]
    assert done.held == {"S1": 1, best: 1}


def test_lawful_teams_stay_and_done_visits_are_left_alone(
    make_inspector: InspectorFactory, month: Month, seed: Callable[[str], str]
) -> None:
    directory = staff(make_inspector)
    kept = carried("2026-11-000001", ("S2", "S3"))
    finished = carried("2026-11-000002", ("S2", "S9"))  # S9 left the directory
    done = recheck([kept, finished], directory, month, Recusals(), seed("carry-2"), {
        finished.visit_id})  # fmt: skip
    assert done.teams == {kept.visit_id: ("S2", "S3"), finished.visit_id: ("S2", "S9")}
    assert not done.replaced and done.held == {"S2": 1, "S3": 1}


def test_a_carried_visit_without_a_team_is_staffed_first(
    make_inspector: InspectorFactory, month: Month, seed: Callable[[str], str]
) -> None:
    directory = staff(make_inspector, capacity=1)  # eight places in all
    orphan = carried("2026-11-000003", ())
    done = recheck([orphan], directory, month, Recusals(), seed("carry-3"))
    assert len(done.teams[orphan.visit_id]) == 2 and sum(done.held.values()) == 2
    # the month's own visits see the capacity left: the two holders get nothing more
    own = [carried(f"2026-12-00000{k}", ()).spec() for k in range(1, 5)]
    result = assign(own, directory, month, seed("carry-3"), held=done.held)
    holders = set(done.teams[orphan.visit_id])
    assert not holders & {m for team in result.teams.values() for m in team}
    assert len(result.teams) == 3 and len(result.unstaffed) == 1


def test_over_capacity_keeps_the_places_of_smallest_key(
    make_inspector: InspectorFactory, month: Month, seed: Callable[[str], str]
) -> None:
    team_seed = seed("carry-4")
    directory = staff(make_inspector, capacity=5)
    directory[1] = make_inspector("S1", unit="440106-02", capacity=1)
    visits = [carried(f"2026-11-00000{k}", ("S1", f"S{k + 2}")) for k in range(3)]
    done = recheck(visits, directory, month, Recusals(), team_seed)
    ranked = sorted(visits, key=lambda v: (pair_key(team_seed, v.credit_code, "S1"), v.visit_id))
    assert "S1" in done.teams[ranked[0].visit_id]
    assert all("S1" not in done.teams[v.visit_id] for v in ranked[1:])
    assert done.held["S1"] == 1


def test_drawn_again_is_one_visit_with_both_months_items() -> None:
    visit = carried("2026-11-000004", ("S1", "S2"))
    again = MergedVisit(
        visit_id="2026-12-000009", credit_code=visit.credit_code, task_codes=("2026-12-FOOD",),
        item_codes=("FIRE-CATER",), departments=("FIRE",), mode=OfficeMode.LOCAL, team_size=3,
        unit=visit.unit, district=visit.district, qualifications=(("FIRE", "fire"),),
    )  # fmt: skip
    other = MergedVisit(
        visit_id="2026-12-000010", credit_code="C-other", task_codes=("2026-12-FOOD",),
        item_codes=("FIRE-CATER",), departments=("FIRE",), mode=OfficeMode.LOCAL, team_size=3,
        unit=visit.unit, district=visit.district, qualifications=(("FIRE", "fire"),),
    )  # fmt: skip
    own, kept = month_visits([again, other], [visit])
    assert [v.visit_id for v in own] == ["2026-12-000010"]
    (one,) = kept
    assert one.visit_id == visit.visit_id  # the code is kept
    assert one.task_codes == ("2026-11-INFO", "2026-12-FOOD")
    assert one.departments == ("FIRE", "SAMR") and one.team_size == 3
    assert one.mode == OfficeMode.LOCAL_CROSS and one.absorbed == ("2026-12-FOOD",)
    assert priority(one.visit_id, [one.visit_id]) < priority("2026-12-000010", [one.visit_id])


def test_leave_over_the_window_makes_a_member_unlawful(
    make_inspector: InspectorFactory, month: Month, seed: Callable[[str], str]
) -> None:
    directory = staff(make_inspector)
    directory[4] = make_inspector(
        "S4", unit="440106-01", leave=(DateRange(date(2026, 12, 1), date(2026, 12, 31)),)
    )
    visit = carried("2026-11-000005", ("S4", "S5"))
    done = recheck([visit], directory, month, Recusals(), seed("carry-5"))
    assert "S4" not in done.teams[visit.visit_id] and "S5" in done.teams[visit.visit_id]


def one_duty_day(month: Month, day: date) -> tuple[DateRange, ...]:
    """Leave over the whole month but `day`."""
    return (
        DateRange(month.first_day, day - timedelta(days=1)),
        DateRange(day + timedelta(days=1), month.last_day),
    )


def test_under_v2_a_carried_visit_takes_its_day_before_the_months_own(
    make_inspector: InspectorFactory, month: Month, seed: Callable[[str], str]
) -> None:
    team_seed, only = seed("carry-days"), date(2026, 12, 15)
    # capacity 60 prorated to one working day of 23: three visits each, so only the day
    # can keep the month's own visit out
    directory = [
        make_inspector(f"S{k}", unit=f"440106-0{1 + k}", capacity=60,
                       leave=one_duty_day(month, only))
        for k in range(2)
    ]  # fmt: skip
    visit = carried("2026-11-000001", ("S0", "S1"))
    own = carried("2026-12-000001", ()).spec()  # needs the same two inspectors
    checked = recheck([visit], directory, month, Recusals(), team_seed)
    checked, days, booked = carried_days(
        [visit], checked, directory, month, Recusals(), team_seed, cap=1
    )
    # the one day both are on duty, one visit a day: the carried visit holds it
    assert days == {visit.visit_id: only}
    assert all(on_duty(i, only) for i in directory)
    result = assign([own], directory, month, team_seed, Recusals(), held=checked.held,
                    max_per_day=1, booked=booked)  # fmt: skip
    assert own.visit_id not in result.teams and own.visit_id not in result.days
    assert [u.visit_id for u in result.unstaffed] == [own.visit_id]
    # without the carried booking the month's own visit would have taken that day
    alone = assign([own], directory, month, team_seed, Recusals(), max_per_day=1)
    assert alone.days == {own.visit_id: only}


def test_under_v2_a_carried_team_without_room_is_replaced_by_keyed_rank(
    make_inspector: InspectorFactory, month: Month, seed: Callable[[str], str]
) -> None:
    team_seed, only = seed("carry-room"), date(2026, 12, 15)
    busy = [
        make_inspector(f"S{k}", unit=f"440106-0{1 + k}", capacity=60,
                       leave=one_duty_day(month, only))
        for k in range(2)
    ]  # fmt: skip
    free = [make_inspector(f"S{k}", unit=f"440106-0{k - 1}") for k in (2, 3)]
    first, second = sorted(
        [carried("2026-11-000001", ("S0", "S1")), carried("2026-11-000002", ("S0", "S1"))],
        key=lambda c: (pair_key(team_seed, c.credit_code, "visit"), c.visit_id),
    )
    checked = recheck([first, second], [*busy, *free], month, Recusals(), team_seed)
    assert checked.teams[second.visit_id] == ("S0", "S1")  # lawful: the re-check keeps it
    checked, days, _ = carried_days(
        [first, second], checked, [*busy, *free], month, Recusals(), team_seed, cap=1
    )
    assert days[first.visit_id] == only and checked.teams[first.visit_id] == ("S0", "S1")
    # the second has no room on its only common day: S0 and S1 give way to the two free
    # inspectors, on their first duty day by day key
    assert checked.teams[second.visit_id] == ("S2", "S3")
    window = [d for d in month.window_days if all(on_duty(i, d) for i in free)]
    assert days[second.visit_id] == min(
        window, key=lambda d: (day_key(team_seed, second.credit_code, d), d)
    )
    assert checked.replaced[second.visit_id] == (("S0", "S1"), ("S2", "S3"))
    assert "no common duty day with room" in checked.reasons[second.visit_id]
    assert checked.held == {"S0": 1, "S1": 1, "S2": 1, "S3": 1}
