"""Test vectors of ie-teams-v2: the teams and their days.

1. The day key, recomputed with hashlib from the formula of docs/team-protocol.md:

       day_key(c, d) = first 8 bytes of SHA256(UTF8(team_seed + "|" + c + "|day:" + ISO d)),
                       big-endian, shifted right by 4

2. The pinned scenario (the ie-teams-v1 scenario with max_visits_per_day = 2 and three
   changes after the freeze: a leave on a visit's day, a holiday, a withdrawal), in
   ie_teams_v2_vector.json, written by `vector()` (run
   `PYTHONPATH=. python tests/assignment/test_calendar_vectors.py --write`), never by hand.
3. The pinned days re-derived by a separate scalar implementation of the day rule below
   (hashlib keys, rules.on_duty per member and day, plain dictionaries), so that the
   vector is checked against the protocol's text and not only against the code that wrote
   it; and checked lawful (on duty, window, cap). The CP-SAT stage (§3a step 4) is
   re-derived by brute force over each neighbourhood's allowed days, not by a solver.
4. A second pinned case, `stage_case` (two inspectors always together, four visits in two
   districts, two days, two visits a day, a seed whose greedy mixes both days): the stage
   moves days there, and the brute force finds the same.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from inspect_engine.assignment import assign, keys, schedule
from inspect_engine.assignment.events import Change, Staffing
from inspect_engine.assignment.rescheduling import replay_days
from inspect_engine.assignment.rules import on_duty
from inspect_engine.assignment.types import Inspector, Month, Visit
from tests.assignment.test_assignment_vectors import PLAN_SEED, STAFFING_HASH, scenario
from tests.assignment.test_day_search import TWO_DAYS
from tests.assignment.test_day_search import people as stage_people
from tests.assignment.test_day_search import visits as stage_visits

VECTOR = Path(__file__).with_name("ie_teams_v2_vector.json")
CAP = 2


def test_team_seed_and_day_key_follow_the_formula() -> None:
    seed = keys.team_seed(PLAN_SEED, STAFFING_HASH)
    expected_seed = hashlib.sha256(f"{PLAN_SEED}|{STAFFING_HASH}|ie-teams-v2".encode()).hexdigest()
    assert keys.PROTOCOL == "ie-teams-v2" and seed == expected_seed
    assert seed != keys.team_seed(PLAN_SEED, STAFFING_HASH, keys.V1)
    for code, day in (("91440106MA59C8XX1F", date(2026, 12, 7)), ("统一代码", date(2027, 1, 4))):
        digest = hashlib.sha256(f"{seed}|{code}|day:{day.isoformat()}".encode()).digest()
        assert schedule.day_key(seed, code, day) == int.from_bytes(digest[:8], "big") >> 4
    got = schedule.day_keys(seed, ["C1", "C2"], [date(2026, 12, 7), date(2026, 12, 8)])
    assert got.tolist() == [
        [schedule.day_key(seed, c, d) for d in (date(2026, 12, 7), date(2026, 12, 8))]
        for c in ("C1", "C2")
    ]


def changes(days: dict[str, date], teams: dict[str, tuple[str, ...]]) -> list[Change]:
    """A leave on the first visit's day for its first member, a holiday on the busiest day,
    and the withdrawal of the busiest inspector (chosen from the drawn days and teams)."""
    first = sorted(days)[0]
    busiest_day = max(Counter(days.values()).items(), key=lambda kv: (kv[1], kv[0]))[0]
    load = Counter(m for team in teams.values() for m in team)
    busiest = max(load, key=lambda i: (load[i], i))
    return [
        Change("leave", teams[first][0], starts_on=days[first], ends_on=days[first]),
        Change("holiday", "", starts_on=busiest_day, ends_on=busiest_day),
        Change("withdraw", busiest),
    ]


def vector() -> dict[str, Any]:
    visits, inspectors, month, recusals = scenario()
    seed = keys.team_seed(PLAN_SEED, STAFFING_HASH)
    result = assign(visits, inspectors, month, seed, recusals, max_per_day=CAP)
    events = changes(dict(result.days), dict(result.teams))
    state = Staffing(tuple(visits), tuple(inspectors), month, recusals)
    _, teams, days, outcomes = replay_days(state, result.teams, result.days, seed, events, CAP)
    return {
        "protocol": keys.PROTOCOL,
        "plan_seed": PLAN_SEED,
        "staffing_hash": STAFFING_HASH,
        "team_seed": seed,
        "max_visits_per_day": CAP,
        "teams": {v: list(t) for v, t in result.teams.items()},
        "days": {v: d.isoformat() for v, d in result.days.items()},
        "day_swaps": result.day_swaps,
        "unstaffed": {u.visit_id: u.reason for u in result.unstaffed},
        "changes": [c.as_dict() for c in events],
        "district_pairs": list(result.day_district_pairs),
        "stage_case": stage_case(),
        "after": {
            "teams": {v: list(t) for v, t in teams.items()},
            "days": {v: d.isoformat() for v, d in days.items()},
            "outcomes": [o.as_dict() for o in outcomes],
        },
    }


STAGE_SEEDS = [keys.team_seed(f"s{k}", "h") for k in range(30)]


def stage_case() -> dict[str, Any]:
    """The first seed whose greedy mixes districts on a day the stage can mend."""
    for seed in STAGE_SEEDS:
        result = assign(stage_visits(), stage_people(), TWO_DAYS, seed, max_per_day=2)
        if result.day_district_pairs[0] > result.day_district_pairs[1]:
            return {
                "team_seed": seed,
                "district_pairs": list(result.day_district_pairs),
                "days": {v: d.isoformat() for v, d in result.days.items()},
            }
    raise AssertionError("no seed mixes districts")


def test_the_pinned_scenario_gives_the_pinned_teams_and_days() -> None:
    pinned = json.loads(VECTOR.read_text(encoding="utf-8"))
    assert pinned["protocol"] == keys.PROTOCOL
    assert vector() == pinned


def reference_days(
    visits: list[Visit], inspectors: list[Inspector], month: Month, seed: str,
    teams: dict[str, list[str]], cap: int,
) -> dict[str, date]:  # fmt: skip
    """The day rule, written again from the protocol's text with scalar code."""
    by_id = {i.inspector_id: i for i in inspectors}
    booked: dict[tuple[str, date], list[tuple[str, str]]] = {}
    out: dict[str, date] = {}

    def rank(v: Visit) -> tuple[int, str]:
        digest = hashlib.sha256(f"{seed}|{v.credit_code}|visit".encode()).digest()
        return int.from_bytes(digest[:8], "big") >> 4, v.visit_id

    for visit in sorted((v for v in visits if v.visit_id in teams), key=rank):
        team = teams[visit.visit_id]
        best = None
        for day in month.window_days:
            if not all(on_duty(by_id[m], day) for m in team):
                continue
            if any(len(booked.get((m, day), [])) >= cap for m in team):
                continue
            places = [booked.get((m, day), []) for m in team]
            new_districts = sum(all(d != visit.district for d, _ in p) for p in places)
            new_offices = sum(all(o != visit.unit for _, o in p) for p in places)
            text = f"{seed}|{visit.credit_code}|day:{day.isoformat()}"
            key = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 4
            score = (new_districts, new_offices, key, day)
            best = score if best is None or score < best else best
        assert best is not None, visit.visit_id
        out[visit.visit_id] = best[3]
        for m in team:
            booked.setdefault((m, best[3]), []).append((visit.district, visit.unit))
    return stage(visits, inspectors, month, seed, teams, cap, out)


def stage(
    visits: list[Visit], inspectors: list[Inspector], month: Month, seed: str,
    teams: dict[str, list[str]], cap: int, days: dict[str, date],
) -> dict[str, date]:  # fmt: skip
    """The CP-SAT stage, re-derived by brute force: inspectors by key(c="calendar", i);
    for each, his visits on days of two or more districts or offices; each may take its
    own day or a lawful day where a member holds its district by another visit; the
    choice with the fewest (inspector, day, district) then (inspector, day, office)
    triples, then the smallest sum of day keys >> 40, within the cap, is taken (and must
    be unique)."""
    by_id = {i.inspector_id: i for i in inspectors}
    place = {v.visit_id: (v.district, v.unit) for v in visits}
    code = {v.visit_id: v.credit_code for v in visits}
    days = dict(days)

    def key(c: str, i: str) -> int:
        digest = hashlib.sha256(f"{seed}|{c}|{i}".encode()).digest()
        return int.from_bytes(digest[:8], "big") >> 4

    def lawful(v: str) -> list[date]:
        return [d for d in month.window_days if all(on_duty(by_id[m], d) for m in teams[v])]

    def tie(v: str, d: date) -> int:
        return key(code[v], "day:" + d.isoformat()) >> 40

    def score(trial: dict[str, date]) -> tuple[int, int, int] | None:
        load = Counter((m, d) for v, d in trial.items() for m in teams[v])
        if max(load.values()) > cap:
            return None
        districts = {(m, d, place[v][0]) for v, d in trial.items() for m in teams[v]}
        offices = {(m, d, place[v][1]) for v, d in trial.items() for m in teams[v]}
        return len(districts), len(offices), sum(tie(v, d) for v, d in trial.items())

    for inspector in sorted(by_id, key=lambda i: key("calendar", i)):
        mine = [v for v in sorted(days) if inspector in teams[v]]
        mixed = {
            d for d in {days[v] for v in mine}
            if len({place[v][0] for v in mine if days[v] == d}) > 1
            or len({place[v][1] for v in mine if days[v] == d}) > 1
        }  # fmt: skip
        rows = [v for v in mine if days[v] in mixed]
        choices = {
            v: [d for d in lawful(v) if d == days[v] or any(
                w != v and days[w] == d and place[w][0] == place[v][0]
                and set(teams[w]) & set(teams[v]) for w in days)]
            for v in rows
        }  # fmt: skip
        if all(len(c) == 1 for c in choices.values()):
            continue
        scored = []
        for combo in itertools.product(*choices.values()):
            trial = {**days, **dict(zip(choices, combo, strict=True))}
            s = score(trial)
            if s is not None:
                scored.append((s, combo))
        scored.sort()
        assert len(scored) == 1 or scored[0][0] < scored[1][0], "a tie: the optimum is not unique"
        days.update(zip(choices, scored[0][1], strict=True))
    return days


def test_the_stage_case_follows_the_brute_force() -> None:
    pinned = json.loads(VECTOR.read_text(encoding="utf-8"))["stage_case"]
    greedy_pairs, final_pairs = pinned["district_pairs"]
    assert greedy_pairs > final_pairs
    visits, inspectors = stage_visits(), stage_people()
    teams = {v.visit_id: ["A", "B"] for v in visits}
    again = reference_days(visits, inspectors, TWO_DAYS, pinned["team_seed"], teams, 2)
    assert {v: d.isoformat() for v, d in again.items()} == pinned["days"]


def test_the_pinned_days_follow_the_rule_and_are_lawful() -> None:
    pinned = json.loads(VECTOR.read_text(encoding="utf-8"))
    visits, inspectors, month, _ = scenario()
    assert pinned["day_swaps"] == 0  # the reference rule covers the draw without swaps
    days = {v: date.fromisoformat(d) for v, d in pinned["days"].items()}
    again = reference_days(visits, inspectors, month, pinned["team_seed"], pinned["teams"], CAP)
    assert again == days
    by_id = {i.inspector_id: i for i in inspectors}
    per_day: Counter[tuple[str, date]] = Counter()
    for visit_id, team in pinned["teams"].items():
        day = days[visit_id]
        assert day in month.window_days
        assert all(on_duty(by_id[m], day) for m in team)
        per_day.update((m, day) for m in team)
    assert max(per_day.values()) <= CAP
    # after the changes: no visit on the holiday, the leave taker not on his leave day
    after_days = {v: date.fromisoformat(d) for v, d in pinned["after"]["days"].items()}
    leave, holiday, withdraw = pinned["changes"]
    assert holiday["starts_on"] not in pinned["after"]["days"].values()
    for visit_id, team in pinned["after"]["teams"].items():
        assert withdraw["inspector_id"] not in team
        if leave["inspector_id"] in team:
            assert after_days[visit_id].isoformat() != leave["starts_on"]
    assert set(pinned["after"]["teams"]) == set(pinned["after"]["days"])


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    VECTOR.write_text(json.dumps(vector(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
