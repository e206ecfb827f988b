"""Benchmark: one Guangzhou month of team assignment, end to end.

20,000 visits (about a third joint), 3,000 inspectors in 4 departments across 11 districts
x 5 offices, declared conflicts and recent inspections, some leave and mid-month
certificates, cross-office mode (所所交叉). Times `assign` (ie-teams-v1: keyed pair costs,
eligibility + solve + repairs + extraction) and, in the same run, a bare min-cost flow on
the same eligible pairs with the same keyed costs (source -> inspector -> visit, no
department slots, no balancing, no common day), and prints the ratio. Then times one
post-freeze `withdraw` event. Target: under 15 s end to end on the 2-core reference machine.

    .venv/bin/python benchmarks/bench_assign.py [--visits 20000] [--inspectors 3000]
"""

from __future__ import annotations

import argparse
import hashlib
import time
from datetime import date, timedelta

import numpy as np
from ortools.graph.python import min_cost_flow

from inspect_engine.assignment import (
    DateRange,
    DepartmentNeed,
    Inspector,
    Month,
    OfficeMode,
    PastInspection,
    Recusals,
    Visit,
    assign,
    keys,
    over_capacity,
    team_seed,
    team_violations,
)
from inspect_engine.assignment.eligibility import InspectorTable, candidates
from inspect_engine.assignment.events import Change, Staffing, apply_change
from inspect_engine.assignment.optimiser import _barred_index

DISTRICTS = [
    "440103", "440104", "440105", "440106", "440111", "440112",
    "440113", "440114", "440115", "440117", "440118",
]  # fmt: skip
UNITS = [f"{d}-{k:02d}" for d in DISTRICTS for k in range(1, 6)]
SAMR_QUALS = [
    "food_business", "food_production", "catering", "special_equipment", "drug",
    "medical_device", "cosmetics", "metrology", "industrial_product", "product_quality",
    "advertising", "pricing",
]  # fmt: skip
"""SAMR inspectors hold 1 + Poisson(0.5) of these; a SAMR visit needs one of them."""
# department -> (share of inspectors, {qualification: share holding it}) outside SAMR
DEPARTMENTS = {
    "SAMR": (0.70, {}),
    "HEALTH": (0.11, {"public_health": 0.6}),
    "FIRE": (0.10, {"fire_safety": 0.6}),
    "ECOENV": (0.09, {"pollution": 0.6}),
}
JOINT = {
    "HEALTH": ("public_health", 0.14),
    "FIRE": ("fire_safety", 0.12),
    "ECOENV": ("pollution", 0.06),
}
"""Each visit has a SAMR need (one SAMR qualification, or none for 4%); joint partners are
added with these probabilities, so about a third of visits are joint."""


def make_inspectors(n: int, month: Month, rng: np.random.Generator) -> list[Inspector]:
    names = list(DEPARTMENTS)
    dept = rng.choice(len(names), size=n, p=[DEPARTMENTS[d][0] for d in names])
    out = []
    for k in range(n):
        name = names[dept[k]]
        if name == "SAMR":
            held = min(len(SAMR_QUALS), 1 + int(rng.poisson(0.5)))
            quals = frozenset(rng.choice(SAMR_QUALS, size=held, replace=False).tolist())
        else:
            quals = frozenset(q for q, p in DEPARTMENTS[name][1].items() if rng.random() < p)
        unit = UNITS[rng.integers(len(UNITS))]
        leave: tuple[DateRange, ...] = ()
        if rng.random() < 0.12:  # some leave, a few for the whole month
            length = int(rng.integers(2, 12)) if rng.random() < 0.9 else 40
            start = month.first_day + timedelta(days=int(rng.integers(0, 25)))
            leave = (DateRange(start, start + timedelta(days=length)),)
        out.append(
            Inspector(
                inspector_id=f"44{k:08d}",
                department=name,
                unit=unit,
                district=unit[:6],
                qualifications=quals,
                certificate_expires=date(2027, 6, 30)
                if rng.random() > 0.02
                else date(2026, 12, 15),
                monthly_capacity=int(rng.integers(15, 31)),
                lead=bool(rng.random() < 0.15),
                active=bool(rng.random() > 0.02),
                leave=leave,
            )
        )
    return out


def make_visits(n: int, rng: np.random.Generator) -> list[Visit]:
    out = []
    for k in range(n):
        unit = UNITS[rng.integers(len(UNITS))]
        samr = SAMR_QUALS[rng.integers(len(SAMR_QUALS))] if rng.random() > 0.04 else None
        needs = [DepartmentNeed("SAMR", frozenset({samr}) if samr else frozenset())]
        needs += [
            DepartmentNeed(dept, frozenset({qual}))
            for dept, (qual, share) in JOINT.items()
            if rng.random() < share
        ]
        size = max(len(needs), 2) + int(rng.random() < 0.15)
        out.append(
            Visit(
                visit_id=f"2026-12-{k:06d}",
                credit_code=f"91{unit[:6]}{k:010d}",
                unit=unit,
                district=unit[:6],
                needs=tuple(needs),
                mode=OfficeMode.CROSS_OFFICE,
                team_size=size,
                want_lead=bool(rng.random() < 0.2),
            )
        )
    return out


def make_recusals(
    visits: list[Visit], inspectors: list[Inspector], month: Month, rng: np.random.Generator
) -> Recusals:
    def pairs(m: int) -> list[tuple[str, str]]:
        vs = rng.integers(len(visits), size=m)
        ins = rng.integers(len(inspectors), size=m)
        return [
            (inspectors[i].inspector_id, visits[v].credit_code)
            for v, i in zip(vs, ins, strict=True)
        ]

    recent = [
        PastInspection(i, c, month.first_day - timedelta(days=int(rng.integers(1, 730))))
        for i, c in pairs(40_000)
    ]
    return Recusals.build(conflicts=pairs(20_000), recent=recent, window_days=365)


def bare_flow(visits: list[Visit], inspectors: list[Inspector], month: Month,
              recusals: Recusals, seed: str) -> tuple[float, int]:  # fmt: skip
    """Plain source -> inspector -> visit min-cost flow on the same eligible pairs, with the
    same keyed random costs. Only building and solving the network is timed: the keys,
    which `assign` computes too, are part of what the ratio to this bare limit measures."""
    table = InspectorTable.build(inspectors, month)
    ordered = sorted(visits, key=lambda v: v.visit_id)
    barred = _barred_index(ordered, table, recusals.barred_pairs(month))
    usable = table.lawful_on_duty() & (table.capacity > 0)
    cands = candidates(ordered, table, [(v, i) for v, ii in barred.items() for i in ii], usable)
    n_insp, n_visits = table.size, len(ordered)
    arc_visit = cands.visit
    codes = [v.credit_code for v in ordered]
    ids = [i.inspector_id for i in table.inspectors]
    pair_costs = keys.cost_of(keys.pair_keys(seed, codes, ids, cands.visit, cands.inspector))
    started = time.perf_counter()
    tails = np.concatenate([np.zeros(n_insp, np.int64), 1 + cands.inspector])
    heads = np.concatenate([1 + np.arange(n_insp), 1 + n_insp + arc_visit])
    caps = np.concatenate([table.capacity, np.ones(cands.arcs, np.int64)])
    costs = np.concatenate([np.zeros(n_insp, np.int64), pair_costs])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    sizes = np.array([v.team_size for v in ordered], dtype=np.int64)
    nodes = np.concatenate([[0], 1 + n_insp + np.arange(n_visits)]).astype(np.int32)
    flow.set_nodes_supplies(nodes, np.concatenate([[sizes.sum()], -sizes]))
    status = flow.solve_max_flow_with_min_cost()
    return time.perf_counter() - started, int(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=20_000)
    parser.add_argument("--inspectors", type=int, default=3_000)
    parser.add_argument(
        "--seed",
        default=hashlib.sha256(b"bench_assign").hexdigest(),
        help="the plan seed; the team seed is team_seed(seed, a stand-in staffing hash)",
    )
    parser.add_argument(
        "--samr-quals",
        type=int,
        default=len(SAMR_QUALS),
        help="number of SAMR qualification kinds in use (fewer kinds: larger pools, more arcs)",
    )
    args = parser.parse_args()

    del SAMR_QUALS[args.samr_quals :]
    month = Month.of(2026, 12)
    rng = np.random.default_rng(20261201)
    inspectors = make_inspectors(args.inspectors, month, rng)
    visits = make_visits(args.visits, rng)
    recusals = make_recusals(visits, inspectors, month, rng)
    joint = sum(len(v.needs) > 1 for v in visits)
    print(f"month {month.label} ({len(month.working_days)} working days, {month.calendar_source})")
    print(f"{len(visits)} visits ({joint} joint), {len(inspectors)} inspectors, "
          f"{sum(v.team_size for v in visits)} places, "
          f"{len(recusals.barred_pairs(month))} barred pairs")  # fmt: skip

    seed = team_seed(args.seed, hashlib.sha256(b"bench_assign staffing").hexdigest())
    started = time.perf_counter()
    result = assign(visits, inspectors, month, seed, recusals)
    total = time.perf_counter() - started
    st, fair = result.stats, result.fairness
    print(f"\nassign end to end: {total:.2f} s")
    print(f"  eligibility {st.eligibility_seconds:.2f} s, solve {st.solve_seconds:.2f} s "
          f"({st.solves} solve(s), {st.status}), "
          f"extraction {st.extraction_seconds:.2f} s")  # fmt: skip
    print(f"  eligible pairs {st.eligible_pairs}, of which {st.solver_pairs} in the solve; "
          f"network {st.nodes} nodes, {st.arcs} arcs")  # fmt: skip
    print(f"  staffed {len(result.teams)}, unstaffed {len(result.unstaffed)}, "
          f"lead missing {len(result.lead_missing)}, greedy completions "
          f"{st.greedy_completions}, lead swaps {st.lead_swaps}")  # fmt: skip
    print(f"  load min/median/max {fair.load_min}/{fair.load_median:.1f}/{fair.load_max}, "
          f"capacity {fair.capacity_min}/{fair.capacity_median:.1f}/{fair.capacity_max}, "
          f"utilisation {fair.utilisation_min:.2f}/{fair.utilisation_median:.2f}/"
          f"{fair.utilisation_max:.2f}")  # fmt: skip
    print(f"  inspectors used {fair.inspectors_used} of {fair.eligible_inspectors} eligible "
          f"({fair.share_used:.1%})")  # fmt: skip
    for item in result.unstaffed[:3]:
        print(f"  unstaffed {item.visit_id}: {item.reason}")

    busiest = max(result.loads, key=lambda i: (result.loads[i], i))
    staffing = Staffing(tuple(visits), tuple(inspectors), month, recusals)
    redoing = time.perf_counter()
    _, again, outcome = apply_change(staffing, result.teams, seed, Change("withdraw", busiest))
    changed = sum(again.get(v) != t for v, t in result.teams.items())
    print(f"  withdraw event for {busiest} ({result.loads[busiest]} places): "
          f"{time.perf_counter() - redoing:.2f} s, {changed} teams changed, "
          f"{len(outcome.unstaffed)} dropped")  # fmt: skip

    bare_seconds, bare_status = bare_flow(visits, inspectors, month, recusals, seed)
    print(f"\nbare min-cost flow on the same pairs: {bare_seconds:.2f} s (status {bare_status})")
    print(f"ratio end-to-end / bare: {total / bare_seconds:.2f}")

    checking = time.perf_counter()
    by_id = {i.inspector_id: i for i in inspectors}
    by_visit = {v.visit_id: v for v in visits}
    barred = recusals.barred_pairs(month)
    sample = list(result.teams.items())[:: max(1, len(result.teams) // 500)]
    bad = [
        (vid, problems)
        for vid, team in sample
        if (problems := team_violations([by_id[m] for m in team], by_visit[vid], month, barred))
    ]
    over = over_capacity(([by_id[m] for m in t] for t in result.teams.values()), month)
    seconds = time.perf_counter() - checking
    print(f"\nchecked {len(sample)} teams with the scalar rules: {len(bad)} unlawful; "
          f"{len(over)} inspectors over capacity ({seconds:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
