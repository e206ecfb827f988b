"""Benchmark: the visit calendar (ie-teams-v2) of one Guangzhou month.

The month of bench_assign (visits across 11 districts x 5 offices, about a third joint,
3,000 inspectors with leave and mid-month certificates, cross-office mode), staffed by
`assign(..., max_per_day=3)`. Times the day solve alone (`result.day_seconds`: day keys,
the keyed greedy with its cap and grouping, the member fallback, the CP-SAT stage, shown
apart with the (inspector, day, district) triples before and after it) beside, in the same run,
a bare limit on the same arrays: each team's common duty days (one boolean matrix) and
the argmin of its day keys over them, with the keys already hashed, no cap, no grouping,
no order (the least any day solve must do on this model). Then checks the days with the
scalar rules and reports the grouping (distinct districts per inspector-day) and one
post-freeze leave event under v2. Target: the calendar under 30 s.

    .venv/bin/python benchmarks/bench_calendar.py [--visits 20000] [--inspectors 3000]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np

from benchmarks.bench_assign import make_inspectors, make_recusals, make_visits
from inspect_engine.assignment import Month, assign, schedule, team_seed
from inspect_engine.assignment.eligibility import InspectorTable
from inspect_engine.assignment.events import Change, Staffing
from inspect_engine.assignment.rescheduling import apply_change_days
from inspect_engine.assignment.rules import on_duty
from inspect_engine.assignment.types import AssignmentResult, Inspector, Visit


def bare_days(
    seed: str,
    teams: Mapping[str, Sequence[str]],
    visits: list[Visit],
    inspectors: list[Inspector],
    month: Month,
) -> tuple[float, float]:
    """(seconds hashing the day keys, seconds of the bare pick) on the drawn teams."""
    table = InspectorTable.build(inspectors, month)
    staffed = sorted(teams)
    codes = {v.visit_id: v.credit_code for v in visits}
    hashing = time.perf_counter()
    day_keys = schedule.day_keys(seed, [codes[v] for v in staffed], month.window_days)
    hashed = time.perf_counter() - hashing
    started = time.perf_counter()
    width = max((len(t) for t in teams.values()), default=0)
    members = np.full((len(staffed), width), -1, dtype=np.int64)
    for row, visit_id in enumerate(staffed):
        team = [table.index[m] for m in teams[visit_id]]
        members[row, : len(team)] = team
    duty = np.vstack([table.duty, np.ones((1, table.duty.shape[1]), dtype=np.bool_)])
    common = duty[members].all(axis=1)  # (visits, days); -1 reads the all-true row
    masked = np.where(common, day_keys, np.iinfo(np.uint64).max)
    np.argmin(masked, axis=1)
    return hashed, time.perf_counter() - started


def check(
    result: AssignmentResult, visits: list[Visit], inspectors: list[Inspector], month: Month,
    cap: int,
) -> tuple[int, int, float]:  # fmt: skip
    """(members off duty on their day, inspector-days over the cap, mean distinct districts
    per inspector-day), with the scalar rules."""
    by_id = {i.inspector_id: i for i in inspectors}
    district = {v.visit_id: v.district for v in visits}
    off = 0
    per_day: Counter[tuple[str, date]] = Counter()
    districts: dict[tuple[str, date], set[str]] = {}
    window = set(month.window_days)
    for visit_id, team in result.teams.items():
        day = result.days[visit_id]
        off += day not in window
        for m in team:
            off += not on_duty(by_id[m], day)
            per_day[m, day] += 1
            districts.setdefault((m, day), set()).add(district[visit_id])
    over = sum(n > cap for n in per_day.values())
    mean = sum(len(d) for d in districts.values()) / max(1, len(districts))
    return off, over, mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--inspectors", type=int, default=3_000)
    parser.add_argument("--max-per-day", type=int, default=3)
    parser.add_argument("--seed", default=hashlib.sha256(b"bench_calendar").hexdigest())
    args = parser.parse_args()

    month = Month.of(2026, 12)
    rng = np.random.default_rng(20261201)
    inspectors = make_inspectors(args.inspectors, month, rng)
    visits = make_visits(args.visits, rng)
    recusals = make_recusals(visits, inspectors, month, rng)
    print(f"month {month.label}: {len(month.window_days)} window days "
          f"({month.calendar_source}); {len(visits)} visits, {len(inspectors)} inspectors, "
          f"max {args.max_per_day} visits a day")  # fmt: skip

    seed = team_seed(args.seed, hashlib.sha256(b"bench_calendar staffing").hexdigest())
    started = time.perf_counter()
    result = assign(visits, inspectors, month, seed, recusals, max_per_day=args.max_per_day)
    total = time.perf_counter() - started
    no_day = sum(u.reason.startswith("no day with room") for u in result.unstaffed)
    print(f"\nassign with days end to end: {total:.2f} s; the calendar {result.day_seconds:.2f} s "
          f"(of which the CP-SAT stage {result.day_search_seconds:.2f} s, "
          f"{result.day_moves} visits moved)")  # fmt: skip
    greedy_pairs, final_pairs = result.day_district_pairs
    print(f"  (inspector, day, district) pairs: greedy {greedy_pairs}, after CP-SAT "
          f"{final_pairs}; neighbourhoods stopped at the deterministic limit "
          f"{result.day_unproved}")  # fmt: skip
    print(f"  staffed and scheduled {len(result.days)}, unstaffed {len(result.unstaffed)} "
          f"(of which no day with room: {no_day}), members replaced for a day "
          f"{result.day_swaps}")  # fmt: skip

    hashed, bare = bare_days(result.seed, result.teams, visits, inspectors, month)
    print(f"\nbare limit: day keys {hashed:.2f} s + bare pick {bare:.2f} s = {hashed + bare:.2f} s")
    print(f"ratio calendar / bare: {result.day_seconds / (hashed + bare):.2f}")

    off, over, mean = check(result, visits, inspectors, month, args.max_per_day)
    print(f"\nscalar check: {off} members off duty on their day, {over} inspector-days over "
          f"the cap; {mean:.3f} distinct districts per inspector-day (after CP-SAT)")  # fmt: skip

    staffing = Staffing(tuple(visits), tuple(inspectors), month, recusals)
    first = sorted(result.days)[0]
    member, day = result.teams[first][0], result.days[first]
    leave = Change("leave", member, starts_on=day, ends_on=day)
    moving = time.perf_counter()
    *_, outcome = apply_change_days(
        staffing, result.teams, result.days, seed, leave, args.max_per_day
    )
    print(f"  leave event for {member} on {day}: {time.perf_counter() - moving:.2f} s, "
          f"{len(outcome.moved)} moved, {len(outcome.replaced)} replaced, "
          f"{len(outcome.unstaffed)} dropped")  # fmt: skip


if __name__ == "__main__":
    main()
