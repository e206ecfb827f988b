"""The min-cost flow that draws the teams (OR-Tools SimpleMinCostFlow).

Formulation (details, fairness argument and measurements in docs/assignment.md)::

    source ──(one arc per free unit of capacity, convex cost)──► inspector i
    inspector i ──(cap 1, random cost)──► slot (v, dept(i))      one arc per candidate pair
    slot (v, d)    demand 1 if department d's place on v is still to fill
    slot (v, d) ──(cap g_v)──► general (v)    demand g_v = places - department places

Each inspector belongs to one department, so his only way into visit v is the single
capacity-1 arc to slot (v, dept(i)): nobody takes two places on one team, and each
department slot is filled by a qualified inspector of that department. It is an ordinary
flow network, so the optimum is integral without side constraints. A one-department visit
needs a single node (its slot takes all its places).

Soft team lead (组长): "at least one lead" is a lower bound nested inside one department of
the visit (drawn among the required departments with eligible leads, weighted by their
number of eligible leads). That department's leads enter its slot directly; its non-leads
enter through a node whose arc into the slot costs a large penalty, and whose other arc
goes to the general places free of charge.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from inspect_engine.assignment.eligibility import (
    BoolArray,
    CandidateTable,
    InspectorTable,
    IntArray,
)
from inspect_engine.assignment.types import Visit

RANDOM_COST_RANGE = 1 << 32
"""Random pair costs are uniform on [0, R) (the top 32 bits of the pair's 60-bit key, see
keys.py): equal costs have probability 2^-32 per pair of arcs."""

LOAD_SCALE = RANDOM_COST_RANGE * 256
"""The k-th place of an inspector with capacity c costs LOAD_SCALE * k // c. A fixed scale
(never derived from the directory, so that no row can shift every cost): for capacities
up to 256 one step of load is worth more than any difference of random costs."""


@dataclass(frozen=True, eq=False)
class StaffingProblem:
    """Places to fill: one row per visit, in canonical (visit_id) order."""

    visits: tuple[Visit, ...]
    positions: IntArray  # index of each visit in the caller's list
    places: IntArray  # members still to find
    required: BoolArray  # (visits, departments): department place still empty
    participating: BoolArray  # (visits, departments)
    want_lead: BoolArray  # asked for a lead and has none yet
    cands: CandidateTable

    def subset(self, keep: BoolArray) -> StaffingProblem:
        """The problem restricted to the visits where `keep` is true."""
        counts = np.diff(self.cands.ptr)
        ptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(counts[keep], out=ptr[1:])
        return StaffingProblem(
            visits=tuple(v for v, k in zip(self.visits, keep, strict=True) if k),
            positions=self.positions[keep],
            places=self.places[keep],
            required=self.required[keep],
            participating=self.participating[keep],
            want_lead=self.want_lead[keep],
            cands=CandidateTable.from_ptr(ptr, self.cands.inspector[np.repeat(keep, counts)]),
        )

    def with_pairs(self, keep: BoolArray) -> StaffingProblem:
        """The same visits with only the candidate pairs where `keep` is true."""
        ptr = np.zeros(len(self.visits) + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.cands.visit[keep], minlength=len(self.visits)), out=ptr[1:])
        cands = CandidateTable(ptr, self.cands.inspector[keep], self.cands.visit[keep])
        return StaffingProblem(
            self.visits, self.positions, self.places, self.required, self.participating,
            self.want_lead, cands,
        )  # fmt: skip

    def department_counts(self, table: InspectorTable) -> IntArray:
        """(visits, departments): candidates of each department."""
        n_dept = len(table.departments)
        key = self.cands.visit * n_dept + table.department[self.cands.inspector]
        counts = np.bincount(key, minlength=len(self.visits) * n_dept)
        return counts.reshape(len(self.visits), n_dept).astype(np.int64)

    def feasible(self, table: InspectorTable) -> BoolArray:
        """Enough candidates overall and one for each department place still to fill."""
        covered = (self.department_counts(table) > 0) | ~self.required
        return np.asarray(covered.all(axis=1) & (np.diff(self.cands.ptr) >= self.places))


@dataclass(frozen=True, slots=True)
class FlowOutcome:
    chosen: IntArray  # candidate pairs (positions in problem.cands) that carry flow
    status: str
    cost: int
    nodes: int
    arcs: int
    seconds: float


def lead_departments(
    problem: StaffingProblem, table: InspectorTable, pair_costs: IntArray
) -> IntArray:
    """Per visit, the department whose slot must hold the lead (-1: no lead wanted/possible).

    The department of the visit's eligible lead with the smallest key (among its required
    departments): every eligible lead is equally likely to be that one, and the choice
    depends on no count or position.
    """
    n_visits = len(problem.visits)
    dept = table.department[problem.cands.inspector]
    wanted = (
        table.lead[problem.cands.inspector]
        & problem.want_lead[problem.cands.visit]
        & problem.required[problem.cands.visit, dept]
    )
    choice = np.full(n_visits, -1, dtype=np.int64)
    idx = np.flatnonzero(wanted)
    if idx.size:
        # the smallest cost per visit: sort by (visit, cost), take each visit's first
        order = idx[np.lexsort((pair_costs[idx], problem.cands.visit[idx]))]
        visits = problem.cands.visit[order]
        first = np.r_[True, visits[1:] != visits[:-1]]
        choice[visits[first]] = dept[order[first]]
    return choice


@dataclass(frozen=True, eq=False)
class Layout:
    """Node numbers: source 0, inspector i at 1 + i, then each visit's nodes."""

    slot: IntArray  # (visits, departments): node of each department slot, -1 if none
    general: IntArray  # (visits,): node taking the general places (one department: the slot)
    general_places: IntArray  # (visits,)
    nonlead: IntArray  # (visits,): node of the lead department's non-leads, -1 if none
    lead_dept: IntArray  # (visits,)
    nodes: int

    @classmethod
    def build(cls, problem: StaffingProblem, n_insp: int, lead_dept: IntArray) -> Layout:
        participating = problem.participating
        slot = np.full(participating.shape, -1, dtype=np.int64)
        n_slots = int(participating.sum())
        slot[participating] = 1 + n_insp + np.arange(n_slots)
        general_places = problem.places - problem.required.sum(axis=1)
        general = slot.max(axis=1, initial=-1)
        split = (participating.sum(axis=1) > 1) & (general_places > 0)
        nodes = 1 + n_insp + n_slots
        general[split] = nodes + np.arange(int(split.sum()))
        nodes += int(split.sum())
        nonlead = np.full(len(problem.visits), -1, dtype=np.int64)
        led = lead_dept >= 0
        nonlead[led] = nodes + np.arange(int(led.sum()))
        nodes += int(led.sum())
        return cls(slot, general, general_places, nonlead, lead_dept, nodes)

    def demands(self, problem: StaffingProblem) -> IntArray:
        demand = np.zeros(self.nodes, dtype=np.int64)
        part = problem.participating
        np.add.at(demand, self.slot[part], problem.required[part].astype(np.int64))
        np.add.at(demand, self.general, self.general_places)
        return demand


def network(
    problem: StaffingProblem,
    pair_costs: IntArray,
    table: InspectorTable,
    capacity: IntArray,
    load: IntArray,
    layout: Layout,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any], IntArray, IntArray]:
    """(tails, heads, capacities, costs); the first arcs are the candidate pairs, in order."""
    # Candidate pairs: inspector -> his department's slot (or the non-lead node).
    arc_visit, arc_insp = problem.cands.visit, problem.cands.inspector
    arc_dept = table.department[arc_insp]
    pair_heads = layout.slot[arc_visit, arc_dept]
    via_penalty = (layout.lead_dept[arc_visit] == arc_dept) & ~table.lead[arc_insp]
    pair_heads[via_penalty] = layout.nonlead[arc_visit[via_penalty]]

    # Capacity: one arc per free unit, the k-th costing LOAD_SCALE*k/capacity: convex in
    # utilisation, and each step outweighs any random cost.
    room = np.clip(capacity - load, 0, None)
    owner = np.repeat(np.arange(table.size, dtype=np.int64), room)
    first_unit = (np.cumsum(room) - room)[owner]
    unit = load[owner] + 1 + np.arange(owner.size, dtype=np.int64) - first_unit
    load_costs = (LOAD_SCALE * unit) // capacity[owner]
    penalty = 8 * (LOAD_SCALE + RANDOM_COST_RANGE)  # more than any exchange of pairs and loads

    # Joint visits: department slots overflow into the general places.
    gen = layout.general_places
    sv, sd = np.nonzero(problem.participating & (gen > 0)[:, None])
    split = layout.slot[sv, sd] != layout.general[sv]
    sv, sd = sv[split], sd[split]
    # The lead department's non-leads: into the lead slot at a penalty, or to general places.
    led = np.flatnonzero(layout.nonlead >= 0)
    led_open = led[gen[led] > 0]

    # Five segments: pairs, capacity units, slot overflow, lead penalty, non-lead overflow.
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


def solve(
    problem: StaffingProblem,
    pair_costs: IntArray,
    table: InspectorTable,
    capacity: IntArray,
    load: IntArray,
) -> FlowOutcome:
    """Maximum flow of least cost; which candidate pairs carry flow. Arcs are added in
    the canonical order (visits by id, inspectors by id), so that the solver, which is
    deterministic, breaks any tie of costs the same way in every replay."""
    layout = Layout.build(problem, table.size, lead_departments(problem, table, pair_costs))
    tails, heads, caps, costs = network(problem, pair_costs, table, capacity, load, layout)
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
    seconds = time.perf_counter() - started
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status.name}")
    used = np.asarray(flow.flows(np.arange(problem.cands.arcs, dtype=np.int32)))
    return FlowOutcome(
        chosen=np.flatnonzero(used > 0),
        status=status.name,
        cost=int(flow.optimal_cost()),
        nodes=layout.nodes,
        arcs=int(tails.size),
        seconds=seconds,
    )
