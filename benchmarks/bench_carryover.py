"""Benchmark: carry-over (结转) at Guangzhou scale.

November's open visits (default 3,000, 15% of a 20,000-visit month) with the teams drawn for
them in November; in December a quarter of the 3,000 inspectors take half a month of leave.
Times, in one run: the re-check of the carried teams (`carryover.recheck`) beside drawing
teams for the same visits from scratch (`assign` on December's staffing: the bare limit),
and December's own visits (default 20,000) drawn with and without the carried places held.
Prints how many carried members were kept and replaced, and checks every team with the
scalar rules.

    .venv/bin/python benchmarks/bench_carryover.py [--carried 3000] [--visits 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import replace
from datetime import date

import numpy as np

from benchmarks.bench_assign import make_inspectors, make_recusals, make_visits
from inspect_engine.assignment import DateRange, Month, assign, over_capacity, team_seed
from inspect_engine.assignment.carryover import CarriedVisit, recheck
from inspect_engine.assignment.rules import team_violations
from inspect_engine.assignment.types import Visit


def as_carried(visit: Visit, team: tuple[str, ...]) -> CarriedVisit:
    pairs = [
        (need.department, q)
        for need in visit.needs
        for q in (sorted(need.qualifications) or [None])
    ]
    return CarriedVisit(
        visit_id=visit.visit_id, credit_code=visit.credit_code, unit=visit.unit,
        district=visit.district, month="2026-11", task_codes=("2026-11-T",), item_codes=(),
        departments=visit.departments, qualifications=tuple(pairs), mode=visit.mode,
        team_size=visit.team_size, team=team,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--carried", type=int, default=3_000)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--inspectors", type=int, default=3_000)
    args = parser.parse_args()

    rng = np.random.default_rng(20261101)
    november, december = Month.of(2026, 11), Month.of(2026, 12)
    inspectors = make_inspectors(args.inspectors, november, rng)
    old = [replace(v, visit_id=f"2026-11-{k:06d}") for k, v in
           enumerate(make_visits(args.carried, rng), start=1)]  # fmt: skip
    recusals = make_recusals(old, inspectors, november, rng)
    drawn = assign(old, inspectors, november, team_seed("nov", "0" * 64), recusals)
    carried = [as_carried(v, tuple(drawn.teams.get(v.visit_id, ()))) for v in old]

    # December: a quarter of the inspectors on leave for the first half of the month
    away = set(rng.choice(len(inspectors), size=len(inspectors) // 4, replace=False).tolist())
    half = DateRange(date(2026, 12, 1), date(2026, 12, 15))
    staff = [
        replace(ins, leave=(*ins.leave, half)) if k in away else ins
        for k, ins in enumerate(inspectors)
    ]
    seed = team_seed(hashlib.sha256(b"bench_carryover").hexdigest(), "1" * 64)
    print(f"{len(carried)} carried visits ({len(drawn.teams)} with a team), "
          f"{len(staff)} inspectors, {len(away)} on leave 1-15 December")  # fmt: skip

    started = time.perf_counter()
    checked = recheck(carried, staff, december, recusals, seed)
    recheck_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scratch = assign([c.spec() for c in carried], staff, december, seed, recusals)
    bare_seconds = time.perf_counter() - started
    kept = sum(len(set(c.team) & set(checked.teams.get(c.visit_id, ()))) for c in carried)
    members = sum(len(c.team) for c in carried)
    print(
        f"\nre-check: {recheck_seconds:.2f} s; {len(checked.replaced)} teams changed, "
        f"{len(checked.unstaffed)} without a team; {kept} of {members} members kept"
    )
    print(
        f"bare limit, the same visits drawn from scratch: {bare_seconds:.2f} s "
        f"({len(scratch.teams)} staffed)"
    )
    print(f"ratio re-check / from scratch: {recheck_seconds / bare_seconds:.2f}")  # fmt: skip

    own = make_visits(args.visits, rng)
    started = time.perf_counter()
    with_held = assign(own, staff, december, seed, recusals, held=checked.held)
    held_seconds = time.perf_counter() - started
    started = time.perf_counter()
    alone = assign(own, staff, december, seed, recusals)
    alone_seconds = time.perf_counter() - started
    print(f"\nDecember's {len(own)} own visits with the carried places held: {held_seconds:.2f} s "
          f"({len(with_held.teams)} staffed); without: {alone_seconds:.2f} s "
          f"({len(alone.teams)} staffed); ratio {held_seconds / alone_seconds:.2f}")  # fmt: skip

    by_id = {i.inspector_id: i for i in staff}
    specs = {**{v.visit_id: v for v in own}, **{c.visit_id: c.spec() for c in carried}}
    teams = {**with_held.teams, **checked.teams}
    barred = recusals.barred_pairs(december)
    bad = sum(
        bool(team_violations([by_id[m] for m in t], specs[v], december, barred))
        for v, t in teams.items()
    )
    over = over_capacity(([by_id[m] for m in t] for t in teams.values()), december)
    print(
        f"\nchecked {len(teams)} teams with the scalar rules: {bad} unlawful; "
        f"{len(over)} inspectors over capacity"
    )


if __name__ == "__main__":
    main()
