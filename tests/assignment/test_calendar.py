"""The visit calendar of ie-teams-v2 (schedule.py, optimiser._schedule_days,
rescheduling.py): on duty, the cap, grouping by district, the fallback to another member,
unschedulable visits explained, and changes after the freeze moving only what must move."""

from __future__ import annotations

from collections import Counter
from datetime import date

from inspect_engine.assignment import (
    DateRange,
    DepartmentNeed,
    Inspector,
    Month,
    Recusals,
    Visit,
    assign,
    keys,
)
from inspect_engine.assignment.events import Change, Staffing
from inspect_engine.assignment.rescheduling import apply_change_days
from inspect_engine.assignment.rules import on_duty

D7, D8 = date(2026, 12, 7), date(2026, 12, 8)
TWO_DAYS = Month(date(2026, 12, 1), date(2026, 12, 31), (D7, D8), "weekdays", None)
DECEMBER = Month.of(2026, 12)


def inspector(name: str, leave: tuple[DateRange, ...] = (), capacity: int = 2000) -> Inspector:
    return Inspector(name, "SAMR", "U1", "440106", frozenset(), date(2030, 1, 1), capacity,
                     leave=leave)  # fmt: skip


def visit(k: int, district: str = "440105") -> Visit:
    return Visit(f"V{k:02d}", f"C{k:02d}", f"{district}-01", district, (DepartmentNeed("SAMR"),))


def lawful_days(result: object, inspectors: list[Inspector], cap: int) -> None:
    by_id = {i.inspector_id: i for i in inspectors}
    teams, days = result.teams, result.days  # type: ignore[attr-defined]
    assert set(teams) == set(days)
    per_day = Counter((m, days[v]) for v, team in teams.items() for m in team)
    assert max(per_day.values(), default=0) <= cap
    for v, team in teams.items():
        assert all(on_duty(by_id[m], days[v]) for m in team)


def test_a_member_without_room_is_replaced_by_keyed_rank() -> None:
    # A works both days, B only the 7th, C only the 8th; one visit a day each. When the
    # flow gives both visits A and B, the second has no day: A stays, B gives way to C.
    people = [inspector("A"), inspector("B", (DateRange(D8, D8),)),
              inspector("C", (DateRange(D7, D7),))]  # fmt: skip
    swaps = 0
    for k in range(20):
        result = assign([visit(0), visit(1)], people, TWO_DAYS, keys.team_seed(f"s{k}", "h"),
                        max_per_day=1)  # fmt: skip
        assert len(result.teams) == 2 and not result.unstaffed
        lawful_days(result, people, 1)
        swaps += result.day_swaps
    assert swaps > 0  # the fallback ran (the flow concentrates about half the time)


def test_a_visit_no_day_can_take_is_explained() -> None:
    people = [inspector("A"), inspector("B")]
    result = assign([visit(0), visit(1)], people, TWO_DAYS, keys.team_seed("s", "h"),
                    max_per_day=1)  # fmt: skip
    assert len(result.teams) == 2  # one each day
    month = Month(TWO_DAYS.first_day, TWO_DAYS.last_day, (D7,), "weekdays", None)
    result = assign([visit(0), visit(1)], people, month, keys.team_seed("s", "h"), max_per_day=1)
    assert len(result.teams) == 1 and len(result.unstaffed) == 1
    assert "max_visits_per_day 1" in result.unstaffed[0].reason


def test_an_inspectors_visits_of_a_day_share_a_district() -> None:
    # One possible team; three visits in each of two districts, three a day at most: each
    # district's visits fall on one day, never mixed.
    people = [inspector("A"), inspector("B")]
    visits = [visit(k, "440105" if k < 3 else "440106") for k in range(6)]
    for k in range(10):
        result = assign(visits, people, DECEMBER, keys.team_seed(f"g{k}", "h"), max_per_day=3)
        lawful_days(result, people, 3)
        districts_of_day: dict[date, set[str]] = {}
        for v in visits:
            districts_of_day.setdefault(result.days[v.visit_id], set()).add(v.district)
        assert all(len(d) == 1 for d in districts_of_day.values())
        assert len(districts_of_day) == 2


def test_without_a_cap_the_teams_are_v1s_and_have_no_day() -> None:
    people = [inspector("A"), inspector("B"), inspector("C")]
    visits = [visit(k) for k in range(3)]
    seed = keys.team_seed("v1", "h", keys.V1)
    v1 = assign(visits, people, DECEMBER, seed)
    v2 = assign(visits, people, DECEMBER, seed, max_per_day=3)
    assert v1.days == {} and v2.teams == v1.teams and set(v2.days) == set(v1.teams)


def test_changes_move_only_the_visits_they_hit_and_never_a_carried_out_one() -> None:
    people = [inspector(x) for x in "ABCD"]
    visits = [visit(k, "440105" if k % 2 else "440106") for k in range(8)]
    seed = keys.team_seed("events", "h")
    result = assign(visits, people, DECEMBER, seed, max_per_day=2)
    state = Staffing(tuple(visits), tuple(people), DECEMBER, Recusals())
    target = sorted(result.teams)[0]
    member, day = result.teams[target][0], result.days[target]
    hit = {v for v, t in result.teams.items() if member in t and result.days[v] == day}
    leave = Change("leave", member, starts_on=day, ends_on=day)
    _, teams, days, outcome = apply_change_days(state, result.teams, result.days, seed, leave, 2)
    changed = {v for v in teams if teams[v] != result.teams[v] or days[v] != result.days[v]}
    assert changed == hit and set(outcome.moved) | set(outcome.replaced) == hit
    assert all(days[v] != day or member not in teams[v] for v in hit)
    # carried out: left alone even though its day is now the member's leave
    done = Change("leave", member, starts_on=day, ends_on=day, carried_out=(target,))
    _, teams, days, _ = apply_change_days(state, result.teams, result.days, seed, done, 2)
    assert (teams[target], days[target]) == (result.teams[target], day)
    # a holiday moves every open visit of that day, and nothing else
    holiday = Change("holiday", "", starts_on=day, ends_on=day)
    _, teams, days, outcome = apply_change_days(state, result.teams, result.days, seed, holiday, 2)
    on_day = {v for v, d in result.days.items() if d == day}
    assert set(outcome.moved) == on_day and day not in days.values()
    assert {v for v in days if days[v] != result.days[v]} == on_day
