"""Random lawful teams for a month's visits: a seeded min-cost flow (the second 随机).

Formulation (details and measurements in docs/assignment.md)::

    source ──(1 arc per unit of capacity, convex cost)──► inspector i
    inspector i ──(cap 1, random cost)──► slot (v, dept(i))        one arc per eligible pair
    slot (v, d)   demand 1 if department d's place on v is still to fill
    slot (v, d) ──(cap g_v)──► general (v)   demand g_v = places - required department places

Each inspector belongs to one department, so his only way into visit v is the single
capacity-1 arc to slot (v, dept(i)): nobody takes two places on one team, and every
department slot's demand of 1 is met by a qualified inspector of that department. The
network is an ordinary flow, so the solution is integral without side constraints.

A soft team lead (组长) is a lower bound "at least one lead" nested inside one department
of the visit (drawn at random among required departments with eligible leads, weighted by
their number): that department's non-leads enter through a node whose arc into the slot
costs a large penalty, while its leads enter the slot directly.

Randomness: every eligible arc gets an independent uniform integer cost from a generator
seeded by SHA-256(seed | purpose). Balance: the k-th unit of an inspector's capacity costs
R * K * k / capacity (K = largest capacity), a convex cost in his utilisation whose steps
outweigh any random cost, so loads end proportional to capacity (within one visit) and,
among the equally balanced solutions, the random costs pick the teams.
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
from ortools.graph.python import min_cost_flow

from inspect_engine.assignment.diagnostics import PoolState, explain, explain_missing_lead
from inspect_engine.assignment.eligibility import (
    BoolArray,
    CandidateTable,
    InspectorTable,
    IntArray,
    candidates,
)
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

RANDOM_COST_RANGE = 1 << 16
"""Random arc costs are uniform on [0, R): wide enough that ties between arcs are rare."""


def generator(seed: str, purpose: str) -> np.random.Generator:
    """The only source of randomness: SHA-256 of the plan's seed and what it is used for."""
    digest = hashlib.sha256(f"{seed}|{purpose}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest, "big"))


@dataclass(frozen=True, eq=False)
class _Problem:
    """Places to fill: one row per visit, in canonical (visit_id) order."""

    visits: tuple[Visit, ...]
    positions: IntArray  # index of each visit in the caller's list
    places: IntArray  # members still to find
    required: BoolArray  # (visits, departments): department place still empty
    participating: BoolArray  # (visits, departments)
    want_lead: BoolArray  # asked for a lead and has none yet
    cands: CandidateTable

    def subset(self, keep: BoolArray) -> _Problem:
        counts = np.diff(self.cands.ptr)
        ptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(counts[keep], out=ptr[1:])
        inspector = self.cands.inspector[np.repeat(keep, counts)]
        return _Problem(
            visits=tuple(v for v, k in zip(self.visits, keep, strict=True) if k),
            positions=self.positions[keep],
            places=self.places[keep],
            required=self.required[keep],
            participating=self.participating[keep],
            want_lead=self.want_lead[keep],
            cands=CandidateTable.from_ptr(ptr, inspector),
        )


@dataclass
class _Work:
    """Mutable state while staffing one problem."""

    load: IntArray  # places held per inspector, all visits of the month
    members: dict[int, list[int]] = field(default_factory=dict)  # problem row -> new members
    nodes: int = 0
    arcs: int = 0
    solves: int = 0
    status: str = "NOT_RUN"
    cost: int = 0
    greedy: int = 0
    swaps: int = 0
    solve_seconds: float = 0.0


def _department_counts(problem: _Problem, table: InspectorTable) -> IntArray:
    n_dept = len(table.departments)
    key = problem.cands.visit * n_dept
    key += table.department[problem.cands.inspector]
    counts = np.bincount(key, minlength=len(problem.visits) * n_dept)
    return counts.reshape(len(problem.visits), n_dept).astype(np.int64)


def _statically_feasible(problem: _Problem, table: InspectorTable) -> BoolArray:
    """Enough candidates overall and one per department place still to fill."""
    covered = (_department_counts(problem, table) > 0) | ~problem.required
    return np.asarray(covered.all(axis=1) & (np.diff(problem.cands.ptr) >= problem.places))


def _lead_departments(
    problem: _Problem, table: InspectorTable, rng: np.random.Generator
) -> IntArray:
    """Per visit, the department whose slot must hold the lead (-1: no lead structure).

    Drawn among required departments with eligible leads, weighted by their number of
    eligible leads, so every eligible lead has the same chance to be the one wanted.
    """
    n_visits, n_dept = problem.required.shape
    arc_visit = problem.cands.visit
    is_lead = table.lead[problem.cands.inspector]
    key = arc_visit[is_lead].astype(np.int64) * n_dept
    key += table.department[problem.cands.inspector[is_lead]]
    leads = np.bincount(key, minlength=n_visits * n_dept).reshape(n_visits, n_dept)
    leads[~problem.required | ~problem.want_lead[:, None]] = 0
    total = leads.sum(axis=1)
    target = rng.random(n_visits) * total
    choice = (np.cumsum(leads, axis=1) <= target[:, None]).sum(axis=1)
    return np.where(total > 0, choice, -1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class _Layout:
    """Node numbers of the flow network (source 0, inspector i at 1 + i, then the visits').

    A one-department visit needs a single node taking all its places; a joint visit has a
    slot per department plus a node for its general places (if any); a visit that wants a
    lead has a node for its lead department's non-leads.
    """

    slot: IntArray  # (visits, departments): node of each department slot, -1 if none
    general: IntArray  # (visits,): node taking the general places
    general_places: IntArray  # (visits,)
    nonlead: IntArray  # (visits,): node of the lead department's non-leads, -1 if none
    lead_dept: IntArray  # (visits,)
    nodes: int

    @classmethod
    def build(cls, problem: _Problem, n_insp: int, lead_dept: IntArray) -> _Layout:
        participating = problem.participating
        n_visits = len(problem.visits)
        slot = np.full(participating.shape, -1, dtype=np.int64)
        n_slots = int(participating.sum())
        slot[participating] = 1 + n_insp + np.arange(n_slots)
        general_places = problem.places - problem.required.sum(axis=1)
        general = slot.max(axis=1, initial=-1)  # one-department visits: the slot itself
        split = (participating.sum(axis=1) > 1) & (general_places > 0)
        nodes = 1 + n_insp + n_slots
        general[split] = nodes + np.arange(int(split.sum()))
        nodes += int(split.sum())
        nonlead = np.full(n_visits, -1, dtype=np.int64)
        led = lead_dept >= 0
        nonlead[led] = nodes + np.arange(int(led.sum()))
        nodes += int(led.sum())
        return cls(slot, general, general_places, nonlead, lead_dept, nodes)

    def demands(self, problem: _Problem) -> IntArray:
        demand = np.zeros(self.nodes, dtype=np.int64)
        np.add.at(demand, self.slot[problem.participating], problem.required[problem.participating])
        np.add.at(demand, self.general, self.general_places)
        return demand


def _network(
    problem: _Problem,
    table: InspectorTable,
    capacity: IntArray,
    load: IntArray,
    layout: _Layout,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], IntArray, IntArray]:
    """(tails, heads, capacities, costs); the first arcs are the candidate pairs, in order."""
    # Candidate pairs: inspector -> his department's slot (or the non-lead node).
    arc_visit = problem.cands.visit
    arc_insp = problem.cands.inspector
    arc_dept = table.department[arc_insp]
    pair_heads = layout.slot[arc_visit, arc_dept]
    via_penalty = (layout.lead_dept[arc_visit] == arc_dept) & ~table.lead[arc_insp]
    pair_heads[via_penalty] = layout.nonlead[arc_visit[via_penalty]]
    pair_costs = rng.integers(0, RANDOM_COST_RANGE, size=arc_insp.size, dtype=np.int64)

    # Capacity: one arc per free unit, the k-th costing R*K*k/capacity (convex in k/capacity).
    room = np.clip(capacity - load, 0, None)
    owner = np.repeat(np.arange(table.size, dtype=np.int64), room)
    unit = load[owner] + 1 + np.arange(owner.size, dtype=np.int64) - (np.cumsum(room) - room)[owner]
    scale = RANDOM_COST_RANGE * max(1, int(capacity.max(initial=1)))
    load_costs = (scale * unit) // capacity[owner]
    penalty = 8 * (scale + RANDOM_COST_RANGE)

    # Joint visits: department slots overflow into the general places.
    gen = layout.general_places
    sv, sd = np.nonzero(problem.participating & (gen > 0)[:, None])
    split = layout.slot[sv, sd] != layout.general[sv]
    sv, sd = sv[split], sd[split]
    # Lead department's non-leads: into the lead slot at a penalty, or into general places.
    led = np.flatnonzero(layout.nonlead >= 0)
    led_open = led[gen[led] > 0]

    # Five segments, in this order: pairs, capacity units, slot overflow, lead penalty, lead
    # department overflow.
    sizes = (arc_insp.size, owner.size, sv.size, led.size, led_open.size)
    tails = _segments(np.int32, sizes, 1 + arc_insp, 0, layout.slot[sv, sd],
                      layout.nonlead[led], layout.nonlead[led_open])  # fmt: skip
    lead_slot = layout.slot[led, layout.lead_dept[led]]
    heads = _segments(np.int32, sizes, pair_heads, 1 + owner, layout.general[sv], lead_slot,
                      layout.general[led_open])  # fmt: skip
    caps = _segments(np.int64, sizes, 1, 1, gen[sv], 1, gen[led_open])
    costs = _segments(np.int64, sizes, pair_costs, load_costs, 0, penalty, 0)
    return tails, heads, caps, costs


def _segments(
    dtype: type[np.integer[Any]], sizes: Sequence[int], *parts: npt.ArrayLike
) -> npt.NDArray[Any]:
    """One buffer made of consecutive segments, each an array or a constant (no temporaries)."""
    out = np.empty(sum(sizes), dtype=dtype)
    at = 0
    for part, size in zip(parts, sizes, strict=True):
        out[at : at + size] = part
        at += size
    return out


def _solve_flow(
    problem: _Problem,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
) -> IntArray:
    """Arc positions (into problem.cands) that carry flow in the min-cost max-flow."""
    layout = _Layout.build(problem, table.size, _lead_departments(problem, table, rng))
    tails, heads, caps, costs = _network(problem, table, capacity, work.load, layout, rng)
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    demand = layout.demands(problem)
    demand[0] = -int(problem.places.sum())
    nodes = np.flatnonzero(demand).astype(np.int32)
    flow.set_nodes_supplies(nodes, -demand[nodes])

    started = time.perf_counter()
    # Maximise the flow, then minimise its cost: as fast as solve() when every place can be
    # filled (measured), and it still answers when some cannot.
    status = flow.solve_max_flow_with_min_cost()
    work.solves += 1
    work.solve_seconds += time.perf_counter() - started
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status.name}")
    work.status, work.cost = status.name, int(flow.optimal_cost())
    work.nodes, work.arcs = layout.nodes, int(tails.size)
    used = np.asarray(flow.flows(np.arange(problem.cands.arcs, dtype=np.int32)))
    return np.flatnonzero(used > 0)


def _take_full_teams(
    problem: _Problem, table: InspectorTable, chosen: IntArray, work: _Work
) -> None:
    """Keep the flow's teams for fully staffed visits; free the partial ones' places."""
    arc_visit = problem.cands.visit[chosen]
    arc_insp = problem.cands.inspector[chosen]
    got = np.bincount(arc_visit, minlength=len(problem.visits))
    full = got == problem.places
    keep = full[arc_visit]
    np.add.at(work.load, arc_insp[keep], 1)
    order = np.argsort(arc_visit[keep], kind="stable")
    visits_kept, insp_kept = arc_visit[keep][order], arc_insp[keep][order]
    bounds = np.searchsorted(visits_kept, np.flatnonzero(full))
    ends = np.searchsorted(visits_kept, np.flatnonzero(full), side="right")
    for row, lo, hi in zip(np.flatnonzero(full), bounds, ends, strict=True):
        work.members[int(row)] = [int(i) for i in insp_kept[lo:hi]]


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
    problem: _Problem,
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
) -> None:
    """Staff the visits the flow left partial, one by one in random order, if still possible.

    After this, no unstaffed visit could be staffed with the capacity left: the plan is
    maximal (not necessarily maximum).
    """
    open_rows = [row for row in range(len(problem.visits)) if row not in work.members]
    for row in rng.permutation(np.array(open_rows, dtype=np.int64)):
        cands = problem.cands.of(int(row))
        pool = cands[capacity[cands] > work.load[cands]]
        required = np.flatnonzero(problem.required[row]).tolist()
        team = _greedy_team(
            pool, int(problem.places[row]), required, bool(problem.want_lead[row]), table, rng
        )
        if team is not None:
            work.members[int(row)] = team
            np.add.at(work.load, np.array(team, dtype=np.int64), 1)
            work.greedy += 1


def _repair_leads(
    problem: _Problem,
    kept: Mapping[int, Sequence[int]],
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
) -> list[int]:
    """Swap a lead in where the flow could not place one; return rows still without a lead.

    Only new members are swapped out (kept members stay), and only when every participating
    department stays on the team.
    """
    missing: list[int] = []
    rows = [r for r in work.members if problem.want_lead[r]]
    for row in rng.permutation(np.array(sorted(rows), dtype=np.int64)).tolist():
        team = [*kept.get(row, ()), *work.members[row]]
        if table.lead[team].any():
            continue
        cands = problem.cands.of(row)
        leads = cands[table.lead[cands] & (capacity[cands] > work.load[cands])]
        leads = rng.permutation(leads[~np.isin(leads, team)])
        if not _swap_in_lead(row, leads, team, work, table, rng):
            missing.append(row)
    return missing


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
    problem: _Problem,
    kept: Mapping[int, Sequence[int]],
    table: InspectorTable,
    capacity: IntArray,
    work: _Work,
    rng: np.random.Generator,
) -> list[int]:
    """Fill every place it lawfully can; returns rows that still lack a wanted lead."""
    feasible = _statically_feasible(problem, table)
    rows = np.flatnonzero(feasible)
    sub = problem if feasible.all() else problem.subset(feasible)
    sub_work = _Work(load=work.load)
    if rows.size:
        chosen = _solve_flow(sub, table, capacity, sub_work, rng)
        _take_full_teams(sub, table, chosen, sub_work)
        _complete_greedily(sub, table, capacity, sub_work, rng)
    sub_kept = {int(k): kept[int(r)] for k, r in enumerate(rows) if int(r) in kept}
    missing = _repair_leads(sub, sub_kept, table, capacity, sub_work, rng)
    work.members = {int(rows[k]): team for k, team in sub_work.members.items()}
    for name in ("nodes", "arcs", "solves", "status", "cost", "greedy", "swaps", "solve_seconds"):
        setattr(work, name, getattr(sub_work, name))
    return [int(rows[k]) for k in missing]


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
) -> _Problem:
    n_dept = len(table.departments)
    participating = np.zeros((len(visits), n_dept), dtype=np.bool_)
    required = np.zeros_like(participating)
    for pos, visit in enumerate(visits):
        for dept in visit.departments:
            participating[pos, table.departments[dept]] = True
            required[pos, table.departments[dept]] = dept not in covered[pos]
    pairs = [(pos, i) for pos, members in barred.items() for i in members]
    return _Problem(
        visits=tuple(visits),
        positions=positions,
        places=places,
        required=required,
        participating=participating,
        want_lead=want_lead,
        cands=candidates(visits, table, pairs, usable),
    )


def _fairness(
    table: InspectorTable, capacity: IntArray, load: IntArray, problem: _Problem, work: _Work
) -> FairnessReport:
    available = capacity > 0
    loads, caps = load[available], capacity[available]
    util = loads / np.maximum(caps, 1)
    staffed = np.zeros(len(problem.visits), dtype=np.bool_)
    staffed[list(work.members)] = True
    eligible = np.zeros(table.size, dtype=np.bool_)
    eligible[problem.cands.inspector[np.repeat(staffed, np.diff(problem.cands.ptr))]] = True
    used = np.zeros(table.size, dtype=np.bool_)
    for team in work.members.values():
        used[team] = True
    n_eligible, n_used = int(eligible.sum()), int(used.sum())

    def stat(values: np.ndarray, how: str) -> float:
        return float(getattr(np, how)(values)) if values.size else 0.0

    return FairnessReport(
        inspectors_available=int(available.sum()),
        places=int(load.sum()),
        load_min=int(stat(loads, "min")),
        load_median=stat(loads, "median"),
        load_max=int(stat(loads, "max")),
        capacity_min=int(stat(caps, "min")),
        capacity_median=stat(caps, "median"),
        capacity_max=int(stat(caps, "max")),
        utilisation_min=stat(util, "min"),
        utilisation_median=stat(util, "median"),
        utilisation_max=stat(util, "max"),
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
    problem: _Problem,
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
    hopeless = ~_statically_feasible(problem, ctx.table)
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
    problem: _Problem,
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
        eligible_arcs=problem.cands.arcs,
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
) -> AssignmentResult:
    """Draw a lawful random team for every visit of the month that can have one.

    Same visits, inspectors, month, recusals and seed give the same teams, whatever the
    order of the input sequences. Visits that cannot be fully staffed are left out of
    `teams` and listed in `unstaffed` with the rule that emptied their pool.
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
    missing_lead = _staff(problem, {}, table, capacity, work, generator(seed, "assign"))
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
    missing_lead = _staff(problem, kept_rows, table, capacity, work, rng)
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
