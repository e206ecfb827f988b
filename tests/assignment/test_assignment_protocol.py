"""The attacks the team protocol (ie-teams-v1) is built against, tried on the kernel.

The draw used to take its random costs from a generator in list order, thin pools by their
size, and redraw a re-assignment from a label: anyone who could add a row (a conflict, a
leave) could re-roll every team, and a replacement could be re-rolled by the events before
it. Now a pair's cost is its key (team seed, credit code, inspector id), so:

- before the freeze, a conflict row for an inspector who is not on a visit's team removes a
  pair the optimum does not use, and no team changes;
- after the freeze, an event changes only the members it makes unlawful, and the
  replacement is the best-ranked lawful candidate, whatever came before;
- a team needs a working day on which all its members are on duty; a local task merged
  with a cross_office task keeps both conditions; the order of the inputs is irrelevant.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_engine.assignment import (
    DateRange,
    DepartmentNeed,
    Inspector,
    Month,
    OfficeMode,
    Recusals,
    Visit,
    assign,
    capacity_in_month,
    eligible,
    merge_office_mode,
    over_capacity,
    team_seed,
    team_violations,
)
from inspect_engine.assignment.events import Change, Staffing, apply_change, replay

MONTH = Month(
    first_day=date(2026, 12, 1),
    last_day=date(2026, 12, 31),
    working_days=tuple(date(2026, 12, d) for d in range(1, 32) if date(2026, 12, d).weekday() < 5),
    calendar_source="weekdays",
)
SEED = team_seed("d3b07384d113edec49eaa6238ad5ff00", "c157a79031e1c40f85931829bc5fc552" * 2)
UNITS = ["440106-01", "440106-02", "440106-03", "440115-01", "440115-02"]
FIRST_HALF = (DateRange(date(2026, 12, 1), date(2026, 12, 15)),)
SECOND_HALF = (DateRange(date(2026, 12, 16), date(2026, 12, 31)),)
Teams = Mapping[str, Sequence[str]]


def directory(n: int = 20, rng_seed: int = 7, leave: bool = True) -> list[Inspector]:
    """SAMR (some with `food`) and FIRE inspectors over five offices; a few on leave for half
    the month or with a certificate ending mid-month."""
    rng = random.Random(rng_seed)
    out = []
    for k in range(n):
        unit = UNITS[k % len(UNITS)]
        dept = "FIRE" if k % 4 == 3 else "SAMR"
        spells = [(), (), (), (), FIRST_HALF, SECOND_HALF] if leave else [()]
        out.append(
            Inspector(
                inspector_id=f"I{k:02d}",
                department=dept,
                unit=unit,
                district=unit[:6],
                qualifications=frozenset({"food"}) if dept == "SAMR" and k % 3 else frozenset(),
                certificate_expires=date(2026, 12, 18 if leave and k % 9 == 5 else 31),
                monthly_capacity=rng.choice([8, 10, 12]),
                lead=k % 5 == 0,
                leave=rng.choice(spells),
            )
        )  # fmt: skip
    return out


def month_visits(n: int = 60, rng_seed: int = 11) -> list[Visit]:
    """One enterprise each; a quarter joint with FIRE, some needing `food`, some a lead."""
    rng = random.Random(rng_seed)
    out = []
    for k in range(n):
        unit = rng.choice(UNITS)
        needs = [DepartmentNeed("SAMR", frozenset({"food"}) if k % 3 == 0 else frozenset())]
        if k % 4 == 1:
            needs.append(DepartmentNeed("FIRE"))
        out.append(
            Visit(
                visit_id=f"V{k:02d}",
                credit_code=f"91440{k:013d}",
                unit=unit,
                district=unit[:6],
                needs=tuple(needs),
                mode=rng.choice([OfficeMode.CROSS_OFFICE] * 3 + [OfficeMode.ANY]),
                team_size=max(2, len(needs)) + (k % 7 == 0),
                want_lead=k % 5 == 2,
            )
        )
    return out


def assert_lawful(staffing: Staffing, teams: Teams) -> None:
    by_id = {i.inspector_id: i for i in staffing.inspectors}
    by_visit = {v.visit_id: v for v in staffing.visits}
    barred = staffing.recusals.barred_pairs(staffing.month)
    for visit_id, team in teams.items():
        members = [by_id[m] for m in team]
        assert team_violations(members, by_visit[visit_id], staffing.month, barred) == [], visit_id
    assert over_capacity(([by_id[m] for m in t] for t in teams.values()), staffing.month) == {}


def outsiders(
    inspectors: Sequence[Inspector], visit: Visit, team: Sequence[str], recusals: Recusals
) -> list[str]:
    """Inspectors eligible for the visit but not on its team: the rows worth attacking with
    (a row for an ineligible inspector would remove no pair at all)."""
    barred = recusals.barred_pairs(MONTH)
    return [
        i.inspector_id
        for i in inspectors
        if i.inspector_id not in team and eligible(i, visit, MONTH, barred)
    ]


# --------------------------------------------------------------------- before the freeze


def test_a_conflict_row_for_an_outsider_changes_no_team() -> None:
    inspectors, visits = directory(), month_visits()
    base = assign(visits, inspectors, MONTH, SEED)
    assert len(base.teams) >= 50  # a real month, mostly staffed
    rng = random.Random(2026)
    tried = 0
    for _ in range(30):
        visit = rng.choice([v for v in visits if v.visit_id in base.teams])
        pool = outsiders(inspectors, visit, base.teams[visit.visit_id], Recusals())
        who = rng.choice(pool)
        attacked = assign(
            visits, inspectors, MONTH, SEED, Recusals.build(conflicts=[(who, visit.credit_code)])
        )
        changed = [v for v in base.teams if attacked.teams.get(v) != base.teams[v]]
        assert changed == [], f"conflict ({who}, {visit.visit_id}) changed {changed}"
        assert attacked.unstaffed == base.unstaffed
        tried += 1
    assert tried == 30


def test_outsider_conflict_rows_added_together_change_no_team() -> None:
    inspectors, visits = directory(), month_visits()
    base = assign(visits, inspectors, MONTH, SEED)
    rng = random.Random(4)
    rows = []
    for visit in rng.sample([v for v in visits if v.visit_id in base.teams], 30):
        pool = outsiders(inspectors, visit, base.teams[visit.visit_id], Recusals())
        rows.append((rng.choice(pool), visit.credit_code))
    attacked = assign(visits, inspectors, MONTH, SEED, Recusals.build(conflicts=rows))
    assert dict(attacked.teams) == dict(base.teams)


# ---------------------------------------------------------------------- after the freeze


def frozen() -> tuple[Staffing, dict[str, tuple[str, ...]]]:
    """The 60-visit month, drawn with room to spare (so that a replacement exists)."""
    inspectors = [replace(i, monthly_capacity=2 * i.monthly_capacity) for i in directory()]
    visits = month_visits()
    teams = dict(assign(visits, inspectors, MONTH, SEED).teams)
    return Staffing(tuple(visits), tuple(inspectors), MONTH, Recusals()), teams


def test_after_the_freeze_an_outsider_conflict_changes_no_team() -> None:
    staffing, teams = frozen()
    rng = random.Random(5)
    for visit in rng.sample([v for v in staffing.visits if v.visit_id in teams], 20):
        who = rng.choice(outsiders(staffing.inspectors, visit, teams[visit.visit_id], Recusals()))
        change = Change("conflict", who, credit_code=visit.credit_code)
        _, new, outcome = apply_change(staffing, teams, SEED, change)
        assert new == teams
        assert outcome.replaced == {} and outcome.unstaffed == {}


def test_after_the_freeze_a_member_conflict_changes_only_that_member() -> None:
    staffing, teams = frozen()
    rng = random.Random(6)
    for visit in rng.sample([v for v in staffing.visits if v.visit_id in teams], 20):
        team = teams[visit.visit_id]
        who = rng.choice(team)
        change = Change("conflict", who, credit_code=visit.credit_code)
        after, new, outcome = apply_change(staffing, teams, SEED, change)
        assert [v for v in teams if new.get(v) != teams[v]] == [visit.visit_id]
        removed, added = outcome.replaced[visit.visit_id]
        assert removed == (who,) and len(added) == 1
        assert set(new[visit.visit_id]) == (set(team) - {who}) | set(added)
        assert_lawful(after, new)


def test_unrelated_events_before_a_change_do_not_change_its_replacement() -> None:
    staffing, teams = frozen()
    rng = random.Random(8)
    load = Counter(m for t in teams.values() for m in t)
    for visit in rng.sample([v for v in staffing.visits if v.visit_id in teams], 10):
        who = rng.choice(teams[visit.visit_id])
        change = Change("conflict", who, credit_code=visit.credit_code)
        _, alone, outcome = apply_change(staffing, teams, SEED, change)
        (replacement,) = outcome.replaced[visit.visit_id][1]
        # Events no team's lawfulness depends on: conflicts of outsiders with other
        # enterprises and with this one (anyone but the replacement), and changes for
        # inspectors without a place.
        noise: list[Change] = []
        for other in rng.sample([v for v in staffing.visits if v.visit_id in teams], 15):
            pool = outsiders(staffing.inspectors, other, teams[other.visit_id], Recusals())
            pool = [i for i in pool if i != replacement]
            noise.append(Change("conflict", rng.choice(pool), credit_code=other.credit_code))
        pool = outsiders(staffing.inspectors, visit, teams[visit.visit_id], Recusals())
        noise += [Change("conflict", i, credit_code=visit.credit_code)
                  for i in pool if i != replacement]  # fmt: skip
        idle = [i.inspector_id for i in staffing.inspectors
                if load[i.inspector_id] == 0 and i.inspector_id != replacement]  # fmt: skip
        noise += [Change("withdraw", i) for i in idle]
        noise += [Change("certificate", i, expires=date(2026, 12, 2)) for i in idle]
        rng.shuffle(noise)
        _, after_noise, outcomes = replay(staffing, teams, SEED, [*noise, change])
        assert all(not o.replaced and not o.unstaffed for o in outcomes[:-1])
        assert outcomes[-1].replaced == outcome.replaced
        assert after_noise == alone


def test_a_replacement_elsewhere_before_a_change_leaves_its_choice_alone() -> None:
    # With room to spare, an earlier change on another team (which does replace someone)
    # cannot re-roll this change's replacement either.
    inspectors = [replace(i, monthly_capacity=40) for i in directory(leave=False)]
    visits = month_visits(30)
    teams = dict(assign(visits, inspectors, MONTH, SEED).teams)
    staffing = Staffing(tuple(visits), tuple(inspectors), MONTH, Recusals())
    staffed = [v for v in visits if v.visit_id in teams]
    target, other = staffed[0], staffed[-1]
    change = Change("conflict", teams[target.visit_id][0], credit_code=target.credit_code)
    before = Change("conflict", teams[other.visit_id][0], credit_code=other.credit_code)
    _, _, (alone,) = replay(staffing, teams, SEED, [change])
    _, _, (first, second) = replay(staffing, teams, SEED, [before, change])
    assert set(first.replaced) == {other.visit_id}
    assert second.replaced == alone.replaced


# ------------------------------------------------------------------- the common duty day


def test_inspectors_on_leave_in_opposite_halves_are_never_teamed() -> None:
    # A is away 1-15 December, B 16-31: each may inspect, never on the same day. With C the
    # only other candidate and the same prorated capacity for all three (5: 10 x 11/23,
    # 10 x 12/23 and 5), a draw blind to days teams A and B one time in three.
    a = replace(directory(1)[0], inspector_id="A", leave=FIRST_HALF, lead=False,
                monthly_capacity=10)  # fmt: skip
    b = replace(a, inspector_id="B", leave=SECOND_HALF)
    c = replace(a, inspector_id="C", leave=(), monthly_capacity=5)
    assert {capacity_in_month(i, MONTH) for i in (a, b, c)} == {5}
    visit = replace(month_visits(1)[0], needs=(DepartmentNeed("SAMR"),), mode=OfficeMode.ANY,
                    team_size=2, want_lead=False)  # fmt: skip
    drawn = Counter()
    for k in range(40):
        result = assign([visit], [a, b, c], MONTH, team_seed(f"plan-{k}", "0" * 64))
        drawn[result.teams[visit.visit_id]] += 1
    assert set(drawn) == {("A", "C"), ("B", "C")}
    alone = assign([visit], [a, b], MONTH, SEED)
    assert alone.teams == {}
    assert "share no working day" in alone.unstaffed[0].reason


def test_every_team_of_a_month_with_leave_has_a_common_day() -> None:
    inspectors, visits = directory(30, rng_seed=3), month_visits(80, rng_seed=5)
    late = replace(MONTH, window_first=date(2026, 12, 10))
    for month in (MONTH, late):
        for k in range(5):
            result = assign(visits, inspectors, month, team_seed(f"plan-{k}", "0" * 64))
            staffing = Staffing(tuple(visits), tuple(inspectors), month, Recusals())
            assert len(result.teams) > 40
            assert_lawful(staffing, result.teams)


# -------------------------------------------------------------------------- local_cross


def test_a_local_and_a_cross_office_task_keep_both_conditions() -> None:
    mode = merge_office_mode(["local", "cross_office"])
    assert mode is OfficeMode.LOCAL_CROSS
    units = ["440106-01", "440106-02", "440106-03", "440115-01", "440111-02"]
    inspectors = [
        replace(directory(1)[0], inspector_id=f"{u}-{k}", unit=u, district=u[:6], lead=False,
                leave=(), qualifications=frozenset(), monthly_capacity=10)
        for u in units for k in range(4)
    ]  # fmt: skip
    visit = Visit("V1", "91440106000000000001", "440106-03", "440106",
                  (DepartmentNeed("SAMR"),), mode, team_size=3)  # fmt: skip
    seen: set[str] = set()
    cross_seen: set[str] = set()
    for k in range(30):
        team_seed_k = team_seed(f"plan-{k}", "0" * 64)
        team = assign([visit], inspectors, MONTH, team_seed_k).teams["V1"]
        assert all(m.startswith(("440106-01", "440106-02")) for m in team), team
        seen |= {m[:9] for m in team}
        cross = replace(visit, mode=OfficeMode.CROSS_OFFICE)
        cross_seen |= {m[:9] for m in assign([cross], inspectors, MONTH, team_seed_k).teams["V1"]}
    assert seen == {"440106-01", "440106-02"}
    # cross_office alone (what the strictest-mode merge gave) reaches other districts
    assert {"440115-01", "440111-02"} & cross_seen


# ------------------------------------------------------------- events keep teams lawful


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 1000), st.lists(st.tuples(st.integers(0, 4), st.integers(0, 999)),
                                       min_size=1, max_size=6))  # fmt: skip
def test_events_keep_every_team_lawful_and_touch_only_their_inspector(
    plan: int, picks: list[tuple[int, int]]
) -> None:
    inspectors, visits = directory(), month_visits(40)
    team_seed_p = team_seed(f"plan-{plan}", "0" * 64)
    teams: dict[str, tuple[str, ...]] = dict(assign(visits, inspectors, MONTH, team_seed_p).teams)
    staffing = Staffing(tuple(visits), tuple(inspectors), MONTH, Recusals())
    done: set[str] = set()  # carried out: left alone by every later change
    for kind, pick in picks:
        members = sorted({m for t in teams.values() for m in t})
        who = members[pick % len(members)]
        his = sorted(v for v, t in teams.items() if who in t)
        code = next(v.credit_code for v in visits if v.visit_id == his[pick % len(his)])
        change = [
            Change("withdraw", who),
            Change("certificate", who, expires=date(2026, 12, 1 + pick % 20)),
            Change("leave", who, starts_on=date(2026, 12, 1 + pick % 25),
                   ends_on=date(2026, 12, 5 + pick % 25)),
            Change("conflict", who, credit_code=code),
            Change("deactivate", who),
        ][kind]  # fmt: skip
        if pick % 3 == 0:  # one of his visits was carried out before the change
            done.add(his[0])
        change = replace(change, carried_out=tuple(sorted(done)))
        staffing, new, outcome = apply_change(staffing, teams, team_seed_p, change)
        for visit_id, team in teams.items():
            if visit_id in outcome.unstaffed:
                assert who in team and visit_id not in new
            elif visit_id in outcome.replaced:
                removed, added = outcome.replaced[visit_id]
                assert removed == (who,) and who not in added
                assert set(new[visit_id]) == (set(team) - {who}) | set(added)
            else:
                assert new[visit_id] == team
        assert all(new[v] == teams[v] for v in done)
        # the kept members are re-checked with the change: still lawful on the new staffing
        assert_lawful(staffing, {v: t for v, t in new.items() if v not in done})
        teams = new


# ------------------------------------------------------------------------ input order


def test_shuffled_inputs_give_identical_teams_and_replacements() -> None:
    inspectors, visits = directory(), month_visits()
    recusals = Recusals.build(conflicts=[("I03", visits[3].credit_code),
                                         ("I07", visits[9].credit_code)])  # fmt: skip
    base = assign(visits, inspectors, MONTH, SEED, recusals)
    staffing = Staffing(tuple(visits), tuple(inspectors), MONTH, recusals)
    member = base.teams["V05"][0]
    change = Change("withdraw", member)
    _, after, _ = apply_change(staffing, base.teams, SEED, change)
    rng = random.Random(1)
    for _ in range(5):
        shuffled_inspectors = rng.sample(inspectors, len(inspectors))
        shuffled_visits = rng.sample(visits, len(visits))
        again = assign(shuffled_visits, shuffled_inspectors, MONTH, SEED, recusals)
        assert dict(again.teams) == dict(base.teams)
        assert again.unstaffed == base.unstaffed and dict(again.loads) == dict(base.loads)
        shuffled_staffing = Staffing(tuple(shuffled_visits), tuple(shuffled_inspectors), MONTH,
                                     recusals)  # fmt: skip
        shuffled_teams = dict(rng.sample(sorted(base.teams.items()), len(base.teams)))
        assert apply_change(shuffled_staffing, shuffled_teams, SEED, change)[1] == after
