"""Random lawful teams for a month's visits (the second 随机): `assign` and `reassign`.

The draw itself is the min-cost flow of `flow.py`. Around it:

1. eligibility (`eligibility.py`): every lawful (visit, inspector) pair; visits whose pool
   cannot form a team whatever the others do are set aside with their reason;
2. one random cost per pair from SHA-256(seed | purpose); a first solve uses, per visit and
   department, each pair with probability min(1, THINNING / pool size) - the pairs kept are
   those with the lowest random costs, which the optimum prefers anyway, so the teams keep
   the same distribution and the solve is several times faster;
3. visits the first solve left short get a second solve over all their pairs with the
   capacity left; visits still short are completed one by one where possible (greedy, in
   random order), so that no unstaffed visit could still be staffed: the plan is maximal;
4. teams that wanted a lead and got none get one swapped in where a department allows it;
5. every visit left without a team gets a reason (`diagnostics.py`).
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from inspect_engine.assignment import flow
from inspect_engine.assignment.diagnostics import PoolState, explain, explain_missing_lead
from inspect_engine.assignment.eligibility import BoolArray, InspectorTable, IntArray, candidates
from inspect_engine.assignment.flow import RANDOM_COST_RANGE, StaffingProblem
from inspect_engine.assignment.types import (
    AssignmentResult,
    FairnessReport,
    Inspector,
    Month,
    Recusals,
    SolverStats,
    Unstaffed,
    Visit,
)

THINNING = 64
"""Candidates per department slot kept (on average) for the first solve; None: keep all."""


def generator(seed: str, purpose: str) -> np.random.Generator:
    """The only source of randomness: SHA-256 of the plan's seed and what it is used for."""
    digest = hashlib.sha256(f"{seed}|{purpose}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


@dataclass
class _Work:
    """Mutable state while staffing one problem; `members` is keyed by problem row."""

    load: IntArray  # places held per inspector, all visits of the month
    members: dict[int, list[int]] = field(default_factory=dict)
    nodes: int = 0
    arcs: int = 0
    solver_pairs: int = 0
    solves: int = 0
    status: str = "NOT_RUN"
    cost: int = 0
    greedy: int = 0
    swaps: int = 0
    solve_seconds: float = 0.0


def _thin(
    problem: StaffingProblem, table: InspectorTable, pair_costs: IntArray, thinning: int
) -> BoolArray:
    """Keep each pair with probability min(1, thinning / its slot's pool), by its random cost.

    A pair is kept when its uniform cost is below R * thinning / pool, so every candidate of
    a slot is equally likely to be kept, and the kept ones are the cheapest.
    """
    n_dept = len(table.departments)
    key = problem.cands.visit * n_dept + table.department[problem.cands.inspector]
    pool = np.bincount(key, minlength=len(problem.visits) * n_dept)
    return np.asarray(pair_costs < (RANDOM_COST_RANGE * thinning) // pool[key])


def _flow_pass(
    part: StaffingProblem,
    pair_costs: IntArray,
    rows: IntArray,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
) -> None:
    """Solve `part` (its row k is problem row rows[k]) and keep its fully staffed teams."""
    outcome = flow.solve(part, pair_costs, table, capacity, work.load, rng)
    if work.solves == 0:
        work.nodes, work.arcs, work.solver_pairs = outcome.nodes, outcome.arcs, part.cands.arcs
    work.solves += 1
    work.status, work.cost = outcome.status, work.cost + outcome.cost
    work.solve_seconds += outcome.seconds

    arc_visit = part.cands.visit[outcome.chosen]
    arc_insp = part.cands.inspector[outcome.chosen]
    full = np.bincount(arc_visit, minlength=len(part.visits)) == part.places
    keep = full[arc_visit]
    np.add.at(work.load, arc_insp[keep], 1)
    order = np.argsort(arc_visit[keep], kind="stable")
    visit_sorted, insp_sorted = arc_visit[keep][order], arc_insp[keep][order]
    full_rows = np.flatnonzero(full)
    starts = np.searchsorted(visit_sorted, full_rows)
    ends = np.searchsorted(visit_sorted, full_rows, side="right")
    for row, lo, hi in zip(full_rows.tolist(), starts.tolist(), ends.tolist(), strict=True):
        work.members[int(rows[row])] = insp_sorted[lo:hi].tolist()


def _greedy_team(
    pool: IntArray,
    places: int,
    required: Collection[int],
    want_lead: bool,
    table: InspectorTable,
    rng: np.random.Generator,
) -> list[int] | None:
    """A random lawful team from `pool` (candidates with capacity left), or None."""
    pool = rng.permutation(pool)
    depts = table.department[pool]
    if pool.size < places or any(not (depts == d).any() for d in required):
        return None
    team: list[int] = []
    if want_lead:
        for pos in np.flatnonzero(table.lead[pool]):
            still = [d for d in required if d != depts[pos]]
            others = np.arange(pool.size) != pos
            if places - 1 >= len(still) and all((depts[others] == d).any() for d in still):
                team.append(int(pool[pos]))
                break
    for d in required:
        if not any(table.department[m] == d for m in team):
            team.append(int(pool[np.flatnonzero(depts == d)[0]]))
    rest = [int(i) for i in pool if int(i) not in team]
    return team + rest[: places - len(team)]


def _complete_greedily(
    problem: StaffingProblem,
    rows: IntArray,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
) -> None:
    """Staff the `rows` still open one by one, in random order, if the capacity left allows.

    Afterwards no unstaffed visit could be staffed: the plan is maximal (not maximum).
    """
    open_rows = np.array([r for r in rows.tolist() if r not in work.members], dtype=np.int64)
    for row in rng.permutation(open_rows).tolist():
        cands = problem.cands.of(row)
        pool = cands[capacity[cands] > work.load[cands]]
        required = np.flatnonzero(problem.required[row]).tolist()
        team = _greedy_team(
            pool, int(problem.places[row]), required, bool(problem.want_lead[row]), table, rng
        )
        if team is not None:
            work.members[row] = team
            np.add.at(work.load, np.array(team, dtype=np.int64), 1)
            work.greedy += 1


def _repair_leads(
    problem: StaffingProblem,
    kept: Mapping[int, Sequence[int]],
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
) -> None:
    """Swap a lead in where the flow could not place one.

    Only new members are swapped out (kept members stay), and only when every participating
    department stays on the team.
    """
    rows = sorted(r for r in work.members if problem.want_lead[r])
    for row in rng.permutation(np.array(rows, dtype=np.int64)).tolist():
        team = [*kept.get(row, ()), *work.members[row]]
        if table.lead[team].any():
            continue
        cands = problem.cands.of(row)
        leads = cands[table.lead[cands] & (capacity[cands] > work.load[cands])]
        leads = rng.permutation(leads[~np.isin(leads, team)])
        _swap_in_lead(row, leads, team, work, table, rng)


def _swap_in_lead(
    row: int,
    leads: IntArray,
    team: list[int],
    work: _Work,
    table: InspectorTable,
    rng: np.random.Generator,
) -> bool:
    new = work.members[row]
    for lead in leads.tolist():
        for member in rng.permutation(np.array(new, dtype=np.int64)).tolist():
            dept = table.department[member]
            if dept != table.department[lead] and (table.department[team] == dept).sum() < 2:
                continue  # the member is his department's only one on the team
            new[new.index(member)] = lead
            work.load[member] -= 1
            work.load[lead] += 1
            work.swaps += 1
            return True
    return False


def _staff(
    problem: StaffingProblem,
    kept: Mapping[int, Sequence[int]],
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
    thinning: int | None,
) -> list[int]:
    """Fill every place it lawfully can; returns the rows that still lack a wanted lead."""
    feasible = problem.feasible(table)
    rows = np.flatnonzero(feasible)
    if not rows.size:
        return []
    part = problem if feasible.all() else problem.subset(feasible)
    costs = rng.integers(0, RANDOM_COST_RANGE, size=part.cands.arcs, dtype=np.int64)
    keep = _thin(part, table, costs, thinning) if thinning else np.ones(costs.size, np.bool_)
    thinned = part if keep.all() else part.with_pairs(keep)
    _flow_pass(thinned, costs[keep], rows, table, capacity, work, rng)
    short = np.array([int(r) not in work.members for r in rows], dtype=np.bool_)
    if short.any() and not keep.all():  # second chance with every pair of those visits
        all_pairs = np.repeat(short, np.diff(part.cands.ptr))
        _flow_pass(part.subset(short), costs[all_pairs], rows[short], table, capacity, work, rng)
    # Swaps move load from one inspector to another, so they come before the greedy
    # completion, which must see the final capacity left for the plan to be maximal.
    _repair_leads(problem, kept, table, capacity, work, rng)
    _complete_greedily(problem, rows, table, capacity, work, rng)
    return [
        row
        for row, team in sorted(work.members.items())
        if problem.want_lead[row] and not table.lead[[*kept.get(row, ()), *team]].any()
    ]


def _barred_index(
    visits: Sequence[Visit], table: InspectorTable, pairs: Collection[tuple[str, str]]
) -> dict[int, list[int]]:
    """Recusal pairs as visit position -> inspector indices."""
    by_credit: dict[str, list[int]] = defaultdict(list)
    for pos, visit in enumerate(visits):
        by_credit[visit.credit_code].append(pos)
    barred: dict[int, list[int]] = defaultdict(list)
    for inspector_id, credit_code in pairs:
        inspector = table.index.get(inspector_id)
        if inspector is None:
            continue
        for pos in by_credit.get(credit_code, ()):
            barred[pos].append(inspector)
    return barred


def _problem(
    visits: Sequence[Visit],
    table: InspectorTable,
    places: IntArray,
    covered: Sequence[Collection[str]],
    want_lead: BoolArray,
    barred: Mapping[int, Sequence[int]],
    usable: BoolArray,
    positions: IntArray,
) -> StaffingProblem:
    n_dept = len(table.departments)
    participating = np.zeros((len(visits), n_dept), dtype=np.bool_)
    required = np.zeros_like(participating)
    for pos, visit in enumerate(visits):
        for dept in visit.departments:
            participating[pos, table.departments[dept]] = True
            required[pos, table.departments[dept]] = dept not in covered[pos]
    pairs = [(pos, i) for pos, members in barred.items() for i in members]
    return StaffingProblem(
        visits=tuple(visits),
        positions=positions,
        places=places,
        required=required,
        participating=participating,
        want_lead=want_lead,
        cands=candidates(visits, table, pairs, usable),
    )


def _spread(values: npt.NDArray[np.floating[Any]] | IntArray) -> tuple[float, float, float]:
    """(min, median, max), zeros for an empty array."""
    if values.size == 0:
        return 0.0, 0.0, 0.0
    return float(values.min()), float(np.median(values)), float(values.max())


def _fairness(
    table: InspectorTable, capacity: IntArray, load: IntArray, problem: StaffingProblem, work: _Work
) -> FairnessReport:
    """Loads over inspectors with capacity; share of eligible inspectors used by `problem`."""
    available = capacity > 0
    loads, caps = load[available], capacity[available]
    staffed = np.zeros(len(problem.visits), dtype=np.bool_)
    staffed[list(work.members)] = True
    eligible = np.zeros(table.size, dtype=np.bool_)
    eligible[problem.cands.inspector[np.repeat(staffed, np.diff(problem.cands.ptr))]] = True
    used = np.zeros(table.size, dtype=np.bool_)
    for team in work.members.values():
        used[team] = True
    n_eligible, n_used = int(eligible.sum()), int(used.sum())
    load_min, load_median, load_max = _spread(loads)
    cap_min, cap_median, cap_max = _spread(caps)
    util_min, util_median, util_max = _spread(loads / np.maximum(caps, 1))
    return FairnessReport(
        inspectors_available=int(available.sum()),
        places=int(load.sum()),
        load_min=int(load_min),
        load_median=load_median,
        load_max=int(load_max),
        capacity_min=int(cap_min),
        capacity_median=cap_median,
        capacity_max=int(cap_max),
        utilisation_min=util_min,
        utilisation_median=util_median,
        utilisation_max=util_max,
        eligible_inspectors=n_eligible,
        inspectors_used=n_used,
        share_used=n_used / n_eligible if n_eligible else 0.0,
    )


@dataclass(frozen=True, eq=False)
class _Context:
    visits: tuple[Visit, ...]
    table: InspectorTable
    month: Month
    recusals: Recusals
    barred: dict[int, list[int]]
    seed: str


def _context(
    visits: Sequence[Visit],
    inspectors: Sequence[Inspector],
    month: Month,
    recusals: Recusals,
    seed: str,
) -> _Context:
    ordered = tuple(sorted(visits, key=lambda v: v.visit_id))
    if len({v.visit_id for v in ordered}) != len(ordered):
        raise ValueError("a visit_id appears twice")
    departments = {d for v in ordered for d in v.departments}
    table = InspectorTable.build(inspectors, month, extra_departments=departments)
    barred = _barred_index(ordered, table, recusals.barred_pairs(month))
    return _Context(ordered, table, month, recusals, barred, seed)


def _reasons(
    ctx: _Context,
    problem: StaffingProblem,
    work: _Work,
    excluded: Mapping[int, Sequence[int]],
    start_load: IntArray,
    prefix: str = "",
) -> tuple[Unstaffed, ...]:
    """A reason for every visit of the problem left without a team.

    A visit that no rule-abiding team could staff even before any place was given is
    explained with the capacity at the start (the root cause is then a rule or the team
    size, not the other visits); any other one with the capacity left at the end.
    """
    capacity = ctx.table.capacity
    if len(work.members) == len(problem.visits):
        return ()
    hopeless = ~problem.feasible(ctx.table)
    out = []
    departments = {code: name for name, code in ctx.table.departments.items()}
    for row, visit in enumerate(problem.visits):
        if row in work.members:
            continue
        pos = int(problem.positions[row])
        recused = np.zeros(ctx.table.size, dtype=np.bool_)
        recused[ctx.barred.get(pos, [])] = True
        skip = np.zeros(ctx.table.size, dtype=np.bool_)
        skip[list(excluded.get(row, ()))] = True
        left = capacity - (start_load if hopeless[row] else work.load)
        pool = PoolState(recused, left, skip, ctx.recusals.window_days)
        required = [departments[int(d)] for d in np.flatnonzero(problem.required[row])]
        reason = explain(visit, int(problem.places[row]), required, ctx.table, ctx.month, pool)
        out.append(Unstaffed(visit.visit_id, prefix + reason))
    return tuple(out)


def _result(
    ctx: _Context,
    label: str,
    teams: dict[str, tuple[str, ...]],
    problem: StaffingProblem,
    work: _Work,
    unstaffed: tuple[Unstaffed, ...],
    missing_lead: Sequence[int],
    seconds: tuple[float, float],
) -> AssignmentResult:
    """Package the outcome; `seconds` = (eligibility, start of extraction)."""
    capacity = ctx.table.capacity
    lead_missing = tuple(
        Unstaffed(
            problem.visits[row].visit_id,
            explain_missing_lead(problem.cands.of(row), capacity - work.load, ctx.table),
        )
        for row in sorted(missing_lead)
    )
    fairness = _fairness(ctx.table, capacity, work.load, problem, work)
    loads = {
        ins.inspector_id: int(n)
        for ins, n in zip(ctx.table.inspectors, work.load, strict=True)
        if n > 0
    }
    stats = SolverStats(
        status=work.status,
        nodes=work.nodes,
        arcs=work.arcs,
        eligible_pairs=problem.cands.arcs,
        solver_pairs=work.solver_pairs,
        solves=work.solves,
        optimal_cost=work.cost,
        greedy_completions=work.greedy,
        lead_swaps=work.swaps,
        eligibility_seconds=seconds[0],
        solve_seconds=work.solve_seconds,
        extraction_seconds=time.perf_counter() - seconds[1],
    )
    return AssignmentResult(
        seed=ctx.seed,
        label=label,
        teams=dict(sorted(teams.items())),
        unstaffed=unstaffed,
        lead_missing=lead_missing,
        fairness=fairness,
        stats=stats,
        loads=loads,
    )


def assign(
    visits: Sequence[Visit],
    inspectors: Sequence[Inspector],
    month: Month,
    seed: str,
    recusals: Recusals | None = None,
    thinning: int | None = THINNING,
) -> AssignmentResult:
    """Draw a lawful random team for every visit of the month that can have one.

    Same visits, inspectors, month, recusals, seed and `thinning` give the same teams,
    whatever the order of the input sequences. Visits that cannot be fully staffed are left
    out of `teams` and listed in `unstaffed` with the rule that emptied their pool.
    `thinning=None` gives every lawful pair to the first solve (slower, same distribution).
    """
    started = time.perf_counter()
    ctx = _context(visits, inspectors, month, recusals or Recusals(), seed)
    table, capacity = ctx.table, ctx.table.capacity
    problem = _problem(
        ctx.visits,
        table,
        places=np.array([v.team_size for v in ctx.visits], dtype=np.int64),
        covered=[()] * len(ctx.visits),
        want_lead=np.array([v.want_lead for v in ctx.visits], dtype=np.bool_),
        barred=ctx.barred,
        usable=table.lawful_on_duty() & (capacity > 0),
        positions=np.arange(len(ctx.visits), dtype=np.int64),
    )
    eligibility_done = time.perf_counter()
    work = _Work(load=np.zeros(table.size, dtype=np.int64))
    rng = generator(seed, "assign")
    missing_lead = _staff(problem, {}, table, capacity, work, rng, thinning)
    extracting = time.perf_counter()
    ids = [ins.inspector_id for ins in table.inspectors]
    teams = {
        problem.visits[row].visit_id: tuple(sorted(ids[i] for i in team))
        for row, team in work.members.items()
    }
    unstaffed = _reasons(ctx, problem, work, {}, np.zeros(table.size, dtype=np.int64))
    return _result(
        ctx, "assign", teams, problem, work, unstaffed, missing_lead,
        (eligibility_done - started, extracting),
    )  # fmt: skip


def reassign(
    teams: Mapping[str, Sequence[str]],
    visits: Sequence[Visit],
    inspectors: Sequence[Inspector],
    month: Month,
    seed: str,
    withdrawn: Collection[str],
    label: str,
    recusals: Recusals | None = None,
    thinning: int | None = THINNING,
) -> AssignmentResult:
    """Replace the places of `withdrawn` inspectors after publication, keeping everyone else.

    Every other member keeps his place; replacements obey every rule and the capacity left
    by the whole published plan (`teams`). Randomness comes from SHA-256(seed|reassign|label),
    so record `label` (e.g. "2026-12-07 sick leave 44010600123") to reproduce the draw.
    A visit that cannot be completed leaves `teams` whole and is listed in `unstaffed`;
    other visits are returned as they were. `lead_missing`, `unstaffed` and the share of
    eligible inspectors used concern the re-assigned visits; loads cover the whole plan.
    """
    started = time.perf_counter()
    ctx = _context(visits, inspectors, month, recusals or Recusals(), seed)
    table, capacity = ctx.table, ctx.table.capacity
    gone = sorted({table.index[i] for i in withdrawn if i in table.index})
    load, kept = _published_loads(ctx, teams, gone)
    start_load = load.copy()
    affected = sorted(kept)
    kept_rows = {row: kept[pos] for row, pos in enumerate(affected)}
    usable = table.lawful_on_duty() & (capacity > load)
    usable[gone] = False
    problem = _problem(
        [ctx.visits[pos] for pos in affected],
        table,
        places=np.array([ctx.visits[p].team_size - len(kept[p]) for p in affected], np.int64),
        covered=[{table.inspectors[i].department for i in kept[p]} for p in affected],
        want_lead=np.array(
            [ctx.visits[p].want_lead and not table.lead[kept[p]].any() for p in affected],
            dtype=np.bool_,
        ),
        # members already on the team cannot take a second place on it
        barred={row: [*ctx.barred.get(p, []), *kept[p]] for row, p in enumerate(affected)},
        usable=usable,
        positions=np.array(affected, dtype=np.int64),
    )
    eligibility_done = time.perf_counter()
    work = _Work(load=load)
    rng = generator(seed, f"reassign|{label}")
    missing_lead = _staff(problem, kept_rows, table, capacity, work, rng, thinning)
    extracting = time.perf_counter()
    ids = [ins.inspector_id for ins in table.inspectors]
    new_teams = {visit_id: tuple(sorted(members)) for visit_id, members in teams.items()}
    for row, visit in enumerate(problem.visits):
        if row in work.members:
            members = [*kept_rows[row], *work.members[row]]
            new_teams[visit.visit_id] = tuple(sorted(ids[i] for i in members))
        else:
            del new_teams[visit.visit_id]
            work.load[kept_rows[row]] -= 1  # the visit is dropped whole: free its members
    excluded = {row: [*kept_rows[row], *gone] for row in range(len(problem.visits))}
    unstaffed = _reasons(
        ctx, problem, work, excluded, start_load, prefix="re-assignment impossible: "
    )
    return _result(
        ctx, f"reassign|{label}", new_teams, problem, work, unstaffed, missing_lead,
        (eligibility_done - started, extracting),
    )  # fmt: skip


def _published_loads(
    ctx: _Context, teams: Mapping[str, Sequence[str]], gone: Sequence[int]
) -> tuple[IntArray, dict[int, list[int]]]:
    """Places held by everyone who stays, and the staying members of the affected visits."""
    by_id = {visit.visit_id: pos for pos, visit in enumerate(ctx.visits)}
    load = np.zeros(ctx.table.size, dtype=np.int64)
    kept: dict[int, list[int]] = {}
    for visit_id, members in teams.items():
        if visit_id not in by_id:
            raise ValueError(f"team for unknown visit {visit_id}")
        unknown = [m for m in members if m not in ctx.table.index]
        if unknown:
            raise ValueError(f"team of {visit_id} names unknown inspectors {unknown}")
        indices = [ctx.table.index[m] for m in members]
        stay = [i for i in indices if i not in gone]
        np.add.at(load, np.array(stay, dtype=np.int64), 1)
        if len(stay) < len(indices):
            kept[by_id[visit_id]] = stay
    return load, kept
