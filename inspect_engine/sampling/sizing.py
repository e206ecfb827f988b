"""Sizing the month's draw to the staff (issue 18, item 1): λ per task and risk class.

One mixed-integer program (OR-Tools SCIP; the only integers are the sample sizes n):

    maximise   Σ_k Σ_c problems[k, c] · λ[k, c]        expected problems found, per task
    subject to lower[k] ≤ λ[k, c] ≤ upper[k, c]          floor and min_ratio; the ratios
               λ[k, A] ≤ λ[k, B] ≤ λ[k, C] ≤ λ[k, D]
               Σ_c units[k, c] · λ[k, c] = n[k]           n[k] whole, ≥ 1
               expected inspector-visits ≤ utilisation × capacity, per department,
               office, district and qualification pool (below).

`problems[k, c]` is the sum of the risk model's probabilities over the frame's units of
class c, so λ·problems is what task k is expected to find there (π is calibrated to λ).
`upper` is the task's ratio (raised to the floor and min_ratio), scaled to a whole n ≥ 1
by the rule the freeze uses (`inclusion.whole_targets`), and raised further only when the
mandated minimum needs a larger whole n than the ratios give.

Visits, not selections, use the staff: units are aggregated into groups that share the
frames they sit in, risk class, office, district and what a visit to them needs (mode,
team size, each department's qualifications). A group in one frame is visited with
probability λ. A group in K ≥ 2 coordinated frames is visited once, with probability
P(any) that is *not* max λ: each frame's cut-off is random. The model bounds it by
`v ≥ λ_k (1 + e_K / √n_k)` for each of its frames, where e_K is the expected largest of K
standard normals (0.564 for K = 2) and 1/√n_k bounds the relative spread of frame k's
random cut-off (the realised count of keys below λ has sd ≤ √n_k). Two 10-unit frames at
0.2 sharing a unit: 0.2 · (1 + 0.564/√2) = 0.280, against the exact 0.266. n_k is taken
from the ratios first, then from the first solution (a second solve).

Capacity: a visit's team of T places needs at least one member per participating
department, the rest from any of them (`y[g, d]`, one per department of a joint group).
Members of department d hold every qualification d's items on the visit need. The
constraints are Hall's conditions of the team draw for the sets that matter: per
department and qualification set Q (the holders of Q serve every demand needing Q or
more), per office (a cross_office demand of office o is served by the others), per
district (a local demand by the district's staff), and per district less the office
(local_cross). For cross_office alone these are exactly the conditions of a fractional
assignment; otherwise they are necessary ones. Reserved load (last month's open visits)
enters as constants.

When the mandated minimums cannot fit, an elastic copy (slack on every capacity row,
minimised) names the rows that overflow and by how many inspector-visits; the caller
refuses the plan (`SizingRefused`). Nothing is cut silently.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray
from ortools.linear_solver import pywraplp
from scipy import sparse

from inspect_engine.sampling.inclusion import BELOW_ONE, FloorError, whole_targets

CLASSES = ("A", "B", "C", "D")
DEFAULT_UTILISATION = 0.9
EXPECTED_MAX_NORMAL = (0.0, 0.0, 0.5642, 0.8463, 1.0294, 1.1630)
"""E[max of K standard normals] for K = 0..5; beyond, the bound √(2 ln K)."""
TIE_BREAK = 1e-6  # among equal objectives, prefer the larger draw (use the staff)
SLACK_TOLERANCE = 1e-3  # inspector-visits
TOLERATED_SHORTFALL = 1.0  # inspector-visits per row: below, an overflow named, not a refusal
SHOWN = 10  # shortfalls named in the refusal's message (all are in `shortfalls`)


class SizingRefused(ValueError):
    """The mandated minimums do not fit the staff; `shortfalls` names where."""

    def __init__(self, message: str, shortfalls: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.shortfalls = tuple(dict(s) for s in shortfalls)


@dataclass(frozen=True)
class SizingTask:
    """One task's frame, counted per risk class A..D."""

    task_code: str
    units: tuple[int, int, int, int]
    problems: tuple[float, float, float, float]  # Σ probability of a problem, per class
    ratios: tuple[float, float, float, float]
    floor: float
    min_ratio: float | None = None
    may_be_certain: bool = False  # a key item: λ may reach 1

    @property
    def lower(self) -> float:
        return max(self.floor, self.min_ratio or 0.0)

    @property
    def cap(self) -> float:
        return 1.0 if self.may_be_certain else BELOW_ONE


@dataclass(frozen=True)
class Need:
    """A department's part in a group's visits: its qualifications and the group's tasks
    (positions) whose items bring it."""

    department: str
    qualifications: frozenset[str]  # the union: a visit that all the group's frames draw
    tasks: tuple[int, ...]
    # each of `tasks`' own qualifications for this department (empty: the union for all)
    task_qualifications: tuple[frozenset[str], ...] = ()

    def own(self) -> tuple[tuple[int, frozenset[str]], ...]:
        quals = self.task_qualifications or (self.qualifications,) * len(self.tasks)
        return tuple(zip(self.tasks, quals, strict=True))


@dataclass(frozen=True)
class UnitGroup:
    """Units visited alike: same frames, class, office, district and needs."""

    units: int
    risk_class: int  # position in CLASSES
    tasks: tuple[int, ...]
    office: str
    district: str
    mode: str  # cross_office | local | local_cross | any
    team_size: int
    needs: tuple[Need, ...]


@dataclass(frozen=True)
class StaffPool:
    """Inspectors alike for the rules: their capacity in the plan's window after leave."""

    department: str
    office: str
    district: str
    qualifications: frozenset[str]
    visits: float


@dataclass(frozen=True)
class Reserved:
    """Inspector-visits already promised (last month's open visits), one department."""

    department: str
    office: str
    district: str
    mode: str
    places: float


@dataclass(frozen=True)
class Member:
    """One demand of a capacity row: a group's places for a department, for the merged
    visit (task -1) or for one frame's selections (task k, `places` per selection)."""

    group: int
    department: str
    task: int
    places: float


@dataclass(frozen=True)
class Row:
    """One capacity row: a set of demands and the staff that can serve them."""

    kind: str  # department | office | district | district_office
    department: str
    qualifications: tuple[str, ...]
    office: str | None
    district: str | None
    capacity: float  # inspector-visits, utilisation applied
    reserved: float = 0.0

    def label(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "department": self.department,
            "qualifications": list(self.qualifications),
            "office": self.office,
            "district": self.district,
        }

    def describe(self) -> str:
        where = {
            "department": "all offices",
            "office": f"visits to enterprises of office {self.office} (staff of other offices)",
            "district": f"local visits in district {self.district}",
            "district_office": (
                f"local visits in district {self.district} to enterprises of office"
                f" {self.office} (staff of the district's other offices)"
            ),
        }[self.kind]
        quals = f", holders of {'+'.join(self.qualifications)}" if self.qualifications else ""
        return f"department {self.department}{quals}, {where}"


@dataclass(frozen=True)
class Sizing:
    """The chosen λ and what they use."""

    lambdas: dict[str, tuple[float, float, float, float]]
    sizes: dict[str, int]
    expected_problems: dict[str, float]
    expected_visits: float
    loads: tuple[dict[str, Any], ...]  # one per capacity row: label, load, capacity
    solver: str
    seconds: float
    utilisation: float
    overflows: tuple[dict[str, Any], ...] = field(default=())  # only from `check`

    def as_dict(self) -> dict[str, Any]:
        return {
            "lambdas": {k: dict(zip(CLASSES, v, strict=True)) for k, v in self.lambdas.items()},
            "sizes": dict(self.sizes),
            "expected_problems": dict(self.expected_problems),
            "expected_visits": self.expected_visits,
            "loads": [dict(r) for r in self.loads],
            "solver": self.solver,
            "seconds": self.seconds,
            "utilisation": self.utilisation,
            "overflows": [dict(r) for r in self.overflows],
        }


# --------------------------------------------------------------------------- bounds


def task_bounds(task: SizingTask) -> tuple[list[float], int, int]:
    """Upper λ per class, and the least and largest whole n the bounds allow.

    Raises SizingRefused when the frame cannot hold the mandated minimum."""
    units = [int(u) for u in task.units]
    total = sum(units)
    lower = task.lower
    wanted = [min(max(r, lower), task.cap) for r in task.ratios]
    if total == 0:
        return wanted, 0, 0
    try:
        upper = whole_targets(units, wanted, task.floor).tolist()
    except FloorError as error:
        raise SizingRefused(f"task {task.task_code}: {error}") from None
    # an empty class draws nobody: free, so that it never bends the monotone chain
    upper = [
        min(max(u, lower), task.cap) if c else task.cap for u, c in zip(upper, units, strict=True)
    ]
    n_lo = max(1, math.ceil(sum(c * lower for c in units) - 1e-9))
    n_hi = math.floor(sum(c * u for c, u in zip(units, upper, strict=True)) + 1e-9)
    if n_lo > n_hi:  # the mandated minimum needs a larger whole n than the ratios
        upper = _raised(units, upper, n_lo, task.cap)
        if upper is None:
            raise SizingRefused(
                f"task {task.task_code}: min_ratio {task.min_ratio} over {total} units asks"
                f" for a sample of {n_lo}, more than the frame can draw"
            )
        n_hi = n_lo
    return upper, n_lo, n_hi


def _raised(units: list[int], upper: list[float], n: int, cap: float) -> list[float] | None:
    """`upper` scaled (capped) until the classes hold n; None if even the caps do not."""
    if sum(c * cap for c in units) < n - 1e-9:
        return None
    lo, hi = 1.0, 2.0

    def mass(scale: float) -> float:
        return sum(c * min(cap, u * scale) for c, u in zip(units, upper, strict=True))

    while mass(hi) < n:
        hi *= 2.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mass(mid) < n else (lo, mid)
    return [min(cap, u * hi) for u in upper]


def _spread(tasks_in_group: int, n: float) -> float:
    """Relative excess of P(visited by any of K coordinated frames) over the largest λ."""
    if tasks_in_group < 2 or n <= 0:
        return 0.0
    return _expected_max(tasks_in_group) / math.sqrt(max(n, 1.0))


# --------------------------------------------------------------------------- rows


def capacity_rows(
    groups: Sequence[UnitGroup],
    staff: Sequence[StaffPool],
    reserved: Sequence[Reserved],
    utilisation: float,
) -> tuple[list[Row], list[tuple[Member, list[int]]], list[float]]:
    """The capacity rows; each demand with the rows it loads; the reserved load."""
    keys: dict[tuple[Any, ...], int] = {}
    rows: list[Row] = []
    members: list[tuple[Member, list[int]]] = []
    fixed: list[float] = []
    pools = _pool_index(staff)

    def row(
        kind: str, dept: str, quals: frozenset[str], office: str | None, district: str | None
    ) -> int:
        key = (kind, dept, quals, office, district)
        if key not in keys:
            keys[key] = len(rows)
            rows.append(
                Row(kind, dept, tuple(sorted(quals)), office, district,
                    utilisation * _capacity(pools, kind, dept, quals, office, district))
            )  # fmt: skip
            fixed.append(0.0)
        return keys[key]

    need_sets: dict[str, set[frozenset[str]]] = {}
    for g in groups:
        for need in g.needs:
            found = need_sets.setdefault(need.department, set())
            found.update(q for _, q in need.own() if q)
    cached: dict[tuple[str, str, frozenset[str], str, str], list[int]] = {}

    def rows_of(
        mode: str, dept: str, quals: frozenset[str], office: str, district: str
    ) -> list[int]:
        key = (mode, dept, quals, office, district)
        if key not in cached:
            cached[key] = _rows_of(mode, dept, quals, office, district, row)
        return cached[key]

    # groups of one kind of visit at one place differ only in class and count: their
    # demands load the same rows
    pattern: dict[tuple[int, str, str, str], list[tuple[str, int, float, list[int]]]] = {}
    for position, g in enumerate(groups):
        key = (id(g.needs), g.mode, g.office, g.district)
        if key not in pattern:
            pattern[key] = _pattern(g, need_sets, rows_of)
        for dept, k, places, loaded in pattern[key]:
            members.append((Member(position, dept, k, places), loaded))
    for r in reserved:
        for at in _rows_of(r.mode, r.department, frozenset(), r.office, r.district, row):
            fixed[at] += r.places
    rows = [
        Row(x.kind, x.department, x.qualifications, x.office, x.district, x.capacity, fixed[i])
        for i, x in enumerate(rows)
    ]
    return rows, members, fixed


def _pattern(
    g: UnitGroup, need_sets: Mapping[str, set[frozenset[str]]], rows_of: Any
) -> list[tuple[str, int, float, list[int]]]:
    """A group's demands: (department, frame or -1 for the merged visit, places, rows)."""
    out = []
    for need in g.needs:
        dept = need.department
        # every place of the visit, counted once: the department's own staff
        out.append((dept, -1, 1.0, rows_of(g.mode, dept, frozenset(), g.office, g.district)))
        # holders of Q serve the visits of the frames whose items need Q: per frame, its
        # selections (a visit drawn by frames of different needs, which asks for the
        # union, is the rarer overlap and is not counted twice)
        places = float(g.team_size) if len(g.needs) == 1 else 1.0
        for k, own in need.own():
            loaded = [
                at
                for quals in need_sets.get(dept, ())
                if own and quals <= own
                for at in rows_of(g.mode, dept, quals, g.office, g.district)
            ]
            if loaded:
                out.append((dept, k, places, loaded))
    return out


def _rows_of(
    mode: str, dept: str, quals: frozenset[str], office: str, district: str, row: Any
) -> list[int]:
    out = [row("department", dept, quals, None, None)]
    if mode in ("cross_office", "local_cross"):
        out.append(row("office", dept, quals, office, None))
    if mode in ("local", "local_cross"):
        out.append(row("district", dept, quals, None, district))
    if mode == "local_cross":
        out.append(row("district_office", dept, quals, office, district))
    return out


def _pool_index(staff: Sequence[StaffPool]) -> dict[str, list[StaffPool]]:
    by_department: dict[str, list[StaffPool]] = {}
    for pool in staff:
        by_department.setdefault(pool.department, []).append(pool)
    return by_department


def _capacity(
    pools: Mapping[str, list[StaffPool]],
    kind: str,
    dept: str,
    quals: frozenset[str],
    office: str | None,
    district: str | None,
) -> float:
    total = 0.0
    for pool in pools.get(dept, ()):
        if not quals <= pool.qualifications:
            continue
        if kind == "office" and pool.office == office:
            continue
        if kind == "district" and pool.district != district:
            continue
        if kind == "district_office" and (pool.district != district or pool.office == office):
            continue
        total += pool.visits
    return total


# --------------------------------------------------------------------------- model


# --------------------------------------------------------------------------- loads


@dataclass(frozen=True)
class _Demands:
    """Every capacity row's load as a sum of demand items, each u · max_k(coef_k · λ[var_k])
    over its candidates (a frame, or the frames that bring a department to a visit)."""

    var: NDArray[np.int64]  # items × K: position of λ[k, c] in the flat vector (-1: none)
    coef: NDArray[np.float64]  # items × K
    rows: sparse.csr_matrix  # rows × items, 0/1
    visit_var: NDArray[np.int64]  # groups × K: every frame of the group
    visit_coef: NDArray[np.float64]


@dataclass(frozen=True)
class _Structure:
    """The demand items without the coordinated-visit margin (which depends on n)."""

    var: NDArray[np.int64]
    base: NDArray[np.float64]
    frames: NDArray[np.int64]  # per item: how many frames its group sits in
    rows: sparse.csr_matrix
    visit_var: NDArray[np.int64]
    visit_base: NDArray[np.float64]
    visit_frames: NDArray[np.int64]


def _structure(
    groups: Sequence[UnitGroup], rows: Sequence[Row], members: Sequence[tuple[Member, list[int]]]
) -> _Structure:
    cands: list[list[tuple[int, float]]] = []
    frames: list[int] = []
    shapes: dict[tuple[int, str, int, float], list[tuple[int, float]]] = {}
    for m, _ in members:
        group = groups[m.group]
        key = (id(group.needs), m.department, m.task, m.places)
        if key not in shapes:  # per unit, class left out: the same for the kind's groups
            shapes[key] = _candidates(group, m)
        c, units = group.risk_class, group.units
        cands.append([(var + c, units * a) for var, a in shapes[key]])
        frames.append(len(group.tasks))
    var, base = _padded(cands)
    r_at = np.fromiter((r for _, loaded in members for r in loaded), np.int64)
    i_at = np.repeat(np.arange(len(members)), [len(loaded) for _, loaded in members])
    matrix = sparse.csr_matrix((np.ones(r_at.size), (r_at, i_at)), shape=(len(rows), len(cands)))
    visit_var, visit_base = _padded(
        [[(4 * k + g.risk_class, float(g.units)) for k in g.tasks] for g in groups]
    )
    visit_frames = np.array([len(g.tasks) for g in groups], np.int64)
    return _Structure(
        var, base, np.array(frames, np.int64), matrix, visit_var, visit_base, visit_frames
    )


def _demands(structure: _Structure, sizes: Sequence[float]) -> _Demands:
    """The items with each frame's margin for the spread of coordinated cut-offs."""
    n = np.maximum(np.asarray(sizes, dtype=np.float64), 1.0)

    def margin(var: NDArray[np.int64], frames: NDArray[np.int64]) -> NDArray[np.float64]:
        e = np.array([_expected_max(k) for k in range(int(frames.max(initial=1)) + 1)])
        task = np.maximum(var, 0) // 4
        spread = e[frames][:, None] / np.sqrt(n[task])
        return np.where((frames[:, None] >= 2) & (var >= 0), 1.0 + spread, 1.0)

    s = structure
    return _Demands(
        s.var,
        s.base * margin(s.var, s.frames),
        s.rows,
        s.visit_var,
        s.visit_base * margin(s.visit_var, s.visit_frames),
    )


def _expected_max(k: int) -> float:
    if k < 2:
        return 0.0
    return EXPECTED_MAX_NORMAL[k] if k < len(EXPECTED_MAX_NORMAL) else math.sqrt(2 * math.log(k))


def _candidates(group: UnitGroup, m: Member) -> list[tuple[int, float]]:
    """Per unit of class A (add the class to the position): (λ position, places)."""
    if m.task >= 0:  # one frame's selections: places per selection, no overlap
        return [(4 * m.task, m.places)]
    need = next(n for n in group.needs if n.department == m.department)
    always = [n for n in group.needs if set(n.tasks) == set(group.tasks)]
    # While the department takes part (one of the frames that bring it draws the unit),
    # it holds at most the places the departments every frame brings leave: each of
    # those takes one place of its own. One department alone: all T places.
    places = group.team_size - len(always) + (1 if need in always else 0)
    return [(4 * k, float(places)) for k in need.tasks]


def _padded(
    cands: Sequence[Sequence[tuple[int, float]]],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    width = max((len(c) for c in cands), default=1) or 1
    var = np.full((len(cands), width), -1, np.int64)
    coef = np.zeros((len(cands), width))
    for i, row in enumerate(cands):
        for j, (v, a) in enumerate(row):
            var[i, j], coef[i, j] = v, a
    return var, coef


def _item_values(
    var: NDArray[np.int64], coef: NDArray[np.float64], lam: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Each item's value and the candidate that attains it."""
    values = np.where(var >= 0, coef * lam[np.maximum(var, 0)], -np.inf)
    best = np.argmax(values, axis=1)
    return values[np.arange(var.shape[0]), best], best


def _loads(d: _Demands, lam: NDArray[np.float64]) -> NDArray[np.float64]:
    values, _ = _item_values(d.var, d.coef, lam)
    return np.asarray(d.rows @ values, dtype=np.float64)


def _tangents(d: _Demands, lam: NDArray[np.float64], wanted: NDArray[np.int64]) -> Any:
    """The rows' loads are convex in λ (sums of maxima of linear terms); the tangent at λ
    (each item's attaining candidate) is below the load everywhere and equal at λ."""
    _, best = _item_values(d.var, d.coef, lam)
    at = np.arange(d.var.shape[0])
    picks = sparse.csr_matrix(
        (d.coef[at, best], (at, d.var[at, best])), shape=(d.var.shape[0], lam.shape[0])
    )
    return (d.rows[wanted] @ picks).toarray()


# --------------------------------------------------------------------------- model


@dataclass
class _Model:
    solver: pywraplp.Solver
    lam: list[Any]  # flat: 4·k + c
    slack: list[Any]  # elastic: one per row
    cuts: dict[int, list[NDArray[np.float64]]]


def _model(
    tasks: Sequence[SizingTask],
    rows: Sequence[Row],
    *,
    elastic: bool,
    whole: bool = True,
) -> _Model:
    """λ, n and the objective; `whole`: n integer (SCIP), else its relaxation (GLOP)."""
    solver = pywraplp.Solver.CreateSolver("SCIP" if whole else "GLOP")
    if solver is None:  # pragma: no cover - the OR-Tools wheels ship both
        raise RuntimeError("OR-Tools was built without SCIP or GLOP")
    lam: list[Any] = []
    for k, task in enumerate(tasks):
        upper, n_lo, n_hi = task_bounds(task)
        own = [solver.NumVar(task.lower, upper[c], f"lam_{k}_{c}") for c in range(4)]
        for c in range(3):
            solver.Add(own[c] <= own[c + 1])
        if sum(task.units):
            n = (solver.IntVar if whole else solver.NumVar)(n_lo, n_hi, f"n_{k}")
            solver.Add(sum(task.units[c] * own[c] for c in range(4)) == n)
        lam.extend(own)
    slack = (
        [solver.NumVar(0.0, solver.infinity(), f"s_{r}") for r in range(len(rows))]
        if elastic
        else []
    )
    if elastic:
        solver.Minimize(sum(slack, 0.0))
    else:
        found = sum(
            (task.problems[c] * lam[4 * k + c] for k, task in enumerate(tasks) for c in range(4)),
            0.0,
        )
        drawn = sum(
            (task.units[c] * lam[4 * k + c] for k, task in enumerate(tasks) for c in range(4)),
            0.0,
        )
        solver.Maximize(found + TIE_BREAK * drawn)
    return _Model(solver, lam, slack, {})


def _add_cut(model: _Model, row: int, coef: NDArray[np.float64], room: float) -> None:
    terms = [a * model.lam[j] for j in np.flatnonzero(coef).tolist() for a in (float(coef[j]),)]
    expr = sum(terms, 0.0) - (model.slack[row] if model.slack else 0.0)
    model.solver.Add(expr <= room)
    model.cuts.setdefault(row, []).append(coef)


def _kelley(
    tasks: Sequence[SizingTask],
    rows: Sequence[Row],
    d: _Demands,
    *,
    elastic: bool,
    time_limit_s: float,
    model: _Model | None = None,
) -> tuple[_Model, NDArray[np.float64] | None]:
    """Outer approximation: solve, add the tangent of every row the answer overflows (and
    of those within 5 % of their room, to save rounds), solve again, until none overflows
    (finite: each load is a maximum of finitely many linear pieces). None: infeasible
    (the relaxation already is). A `model` of an earlier pass keeps its tangents: they
    stay below the loads, which only grow with the margins."""
    room = np.array([row.capacity - row.reserved for row in rows])
    # the rounds on the relaxation (GLOP, a millisecond each), then the whole n (SCIP)
    # from every tangent found
    relaxed = _seeded(_model(tasks, rows, elastic=elastic, whole=False), model, room)
    relaxed, lam = _rounds(tasks, rows, d, room, relaxed, elastic)
    whole = _seeded(_model(tasks, rows, elastic=elastic), relaxed, room)
    if lam is None:
        return whole, None
    return _rounds(tasks, rows, d, room, whole, elastic, time_limit_s)


def _seeded(model: _Model, earlier: _Model | None, room: NDArray[np.float64]) -> _Model:
    for row, coefs in (earlier.cuts if earlier else {}).items():
        for coef in coefs:
            _add_cut(model, row, coef, float(room[row]))
    return model


def _rounds(
    tasks: Sequence[SizingTask],
    rows: Sequence[Row],
    d: _Demands,
    room: NDArray[np.float64],
    model: _Model,
    elastic: bool,
    time_limit_s: float = 60.0,
) -> tuple[_Model, NDArray[np.float64] | None]:
    model.solver.SetTimeLimit(int(time_limit_s * 1000))
    lam = np.array([v.ub() for v in model.lam])  # start from the largest draw allowed
    solved = False
    for _ in range(MAX_CUT_ROUNDS):
        loads = _loads(d, lam)
        slack = np.array([s.solution_value() for s in model.slack]) if elastic and solved else 0.0
        over = loads - slack > room + _tolerance(room)
        if solved and not over.any():
            return model, lam
        near = np.flatnonzero(over | (loads > NEAR * room))
        for row, coef in zip(near.tolist(), _tangents(d, lam, near), strict=True):
            _add_cut(model, row, coef, float(room[row]))
        if model.solver.Solve() not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            return model, None
        solved = True
        lam = np.array([v.solution_value() for v in model.lam])
    return model, lam


def _tolerance(room: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1e-6 * np.maximum(np.abs(room), 1.0)


MAX_CUT_ROUNDS = 200
NEAR = 0.95


def _initial_sizes(tasks: Sequence[SizingTask]) -> list[float]:
    """The largest n each frame may get: the smallest spread of its random cut-off."""
    return [float(task_bounds(task)[2]) for task in tasks]


def size_draw(
    tasks: Sequence[SizingTask],
    groups: Sequence[UnitGroup],
    staff: Sequence[StaffPool],
    reserved: Sequence[Reserved] = (),
    *,
    utilisation: float = DEFAULT_UTILISATION,
    time_limit_s: float = 60.0,
) -> Sizing:
    """λ per task and class maximising the expected problems found within the staff.

    Raises SizingRefused (with the shortfalls) when the mandated minimums cannot fit."""
    if not 0 < utilisation <= 1:
        raise ValueError(f"utilisation must be in (0, 1], got {utilisation}")
    started = time.perf_counter()
    rows, members, _ = capacity_rows(groups, staff, reserved, utilisation)
    capacities = [row.capacity for row in rows]
    sizes = _initial_sizes(tasks)
    overflows: list[dict[str, Any]] = []
    lam: NDArray[np.float64] | None = None
    model: _Model | None = None
    structure = _structure(groups, rows, members)
    for _ in range(2):  # second pass: the spread of coordinated frames at the chosen n
        d = _demands(structure, sizes)
        model, found = _kelley(tasks, rows, d, elastic=False, time_limit_s=time_limit_s,
                               model=model)  # fmt: skip
        if found is None and lam is not None:
            # the second pass's margins leave no room the first pass's did: keep its λ
            # (the loads below are those of the new margins, so any overflow is shown)
            break
        if found is None:
            rows, overflows = _tolerated(tasks, rows, d, time_limit_s)
            model, found = _kelley(tasks, rows, d, elastic=False, time_limit_s=time_limit_s)
            if found is None:  # pragma: no cover - the widened rows hold the elastic answer
                _refuse(overflows)
        lam = found
        new_sizes = [
            sum(t.units[c] * lam[4 * k + c] for c in range(4)) for k, t in enumerate(tasks)
        ]
        if all(new >= old - 0.5 for new, old in zip(new_sizes, sizes, strict=True)):
            break  # the margins used were no smaller than the chosen sizes give
        sizes = new_sizes
    assert lam is not None
    chosen = [_filled(task, lam[4 * k : 4 * k + 4].tolist()) for k, task in enumerate(tasks)]
    loads = _loads(d, lam)
    overflows += _still_over(rows, loads, capacities, {o["row"] for o in overflows})
    return Sizing(
        lambdas={t.task_code: tuple(chosen[k]) for k, t in enumerate(tasks)},  # type: ignore[misc]
        sizes={
            t.task_code: round(sum(t.units[c] * chosen[k][c] for c in range(4)))
            for k, t in enumerate(tasks)
        },
        expected_problems={
            t.task_code: sum(t.problems[c] * chosen[k][c] for c in range(4))
            for k, t in enumerate(tasks)
        },
        expected_visits=float(_item_values(d.visit_var, d.visit_coef, lam)[0].sum()),
        loads=tuple(
            {
                **row.label(),
                "where": row.describe(),
                "load": round(float(load) + row.reserved, 3),
                "reserved": round(row.reserved, 3),
                "capacity": round(capacity, 3),
            }
            for row, load, capacity in zip(rows, loads, capacities, strict=True)
        ),
        solver="SCIP (outer approximation)",
        seconds=time.perf_counter() - started,
        utilisation=utilisation,
        overflows=tuple(overflows),
    )


def _still_over(
    rows: Sequence[Row], loads: NDArray[np.float64], capacities: Sequence[float], named: set[int]
) -> list[dict[str, Any]]:
    """Rows the chosen λ still overflow (the cutting rounds ran out, the solver stopped at
    its time limit, or the second pass was kept from the first): named, never hidden."""
    out = []
    for at, (row, load, capacity) in enumerate(zip(rows, loads.tolist(), capacities, strict=True)):
        over = load + row.reserved - capacity
        if at not in named and over > SLACK_TOLERANCE + 1e-6 * max(abs(capacity), 1.0):
            out.append({"row": at, **row.label(), "where": row.describe(),
                        "shortfall": round(over, 3), "capacity": round(capacity, 3),
                        "reserved": round(row.reserved, 3)})  # fmt: skip
    return out


def _tolerated(
    tasks: Sequence[SizingTask], rows: Sequence[Row], d: _Demands, time_limit_s: float
) -> tuple[list[Row], list[dict[str, Any]]]:
    """When the minimums overflow some rows by less than one inspector-visit each (a few
    units whose only lawful staff is missing, each drawn with a small probability), the
    plan goes on with those rows named as overflows: a fraction of an expected visit is
    below what any sizing can plan. A larger shortfall refuses the plan."""
    short = _shortfalls(tasks, rows, d, time_limit_s)
    if not short or any(s["shortfall"] >= TOLERATED_SHORTFALL for s in short):
        _refuse(short)
    extra = {s["row"]: s["shortfall"] + SLACK_TOLERANCE for s in short}
    widened = [
        replace(row, capacity=row.capacity + extra.get(i, 0.0)) for i, row in enumerate(rows)
    ]
    return widened, short


def _filled(task: SizingTask, lam: list[float]) -> list[float]:
    """An empty class takes the λ of the class below it (the floor or min_ratio for A):
    monotone still, and no arbitrary value of a free variable shown to the public."""
    out = list(lam)
    for c in range(4):
        if not task.units[c]:
            out[c] = out[c - 1] if c else min(task.lower, *(out[1:] or [1.0]))
    return out


def _refuse(short: Sequence[Mapping[str, Any]]) -> NoReturn:
    shown = "; ".join(
        f"{s['where']}: short by {s['shortfall']:.2f} inspector-visits" for s in short[:SHOWN]
    )
    more = f"; and {len(short) - SHOWN} more" if len(short) > SHOWN else ""
    lines = shown + more
    raise SizingRefused(
        "the mandated minimums (floor, min_ratio, a whole sample of at least one per frame)"
        f" do not fit the staff: {lines or 'no feasible sizing'}",
        short,
    )


def _shortfalls(
    tasks: Sequence[SizingTask], rows: Sequence[Row], d: _Demands, time_limit_s: float
) -> list[dict[str, Any]]:
    """The least overflow the minimums force, per row (an elastic copy: slack on every
    capacity row, their sum minimised)."""
    model, lam = _kelley(tasks, rows, d, elastic=True, time_limit_s=time_limit_s)
    if lam is None:
        return []
    out = []
    for at, (row, s) in enumerate(zip(rows, model.slack, strict=True)):
        if s.solution_value() > SLACK_TOLERANCE:
            out.append(
                {
                    "row": at,
                    **row.label(),
                    "where": row.describe(),
                    "shortfall": round(s.solution_value(), 3),
                    "capacity": round(row.capacity, 3),
                    "reserved": round(row.reserved, 3),
                }
            )
    return sorted(out, key=lambda s: -s["shortfall"])


def check(
    tasks: Sequence[SizingTask],
    groups: Sequence[UnitGroup],
    staff: Sequence[StaffPool],
    lambdas: Sequence[Sequence[float]],
    reserved: Sequence[Reserved] = (),
    *,
    utilisation: float = DEFAULT_UTILISATION,
) -> list[dict[str, Any]]:
    """Where given λ (e.g. the tasks' own) overflow the staff: the rows and by how much."""
    rows, members, _ = capacity_rows(groups, staff, reserved, utilisation)
    sizes = [sum(t.units[c] * lambdas[k][c] for c in range(4)) for k, t in enumerate(tasks)]
    lam = np.array([float(v) for own in lambdas for v in own])
    loads = _loads(_demands(_structure(groups, rows, members), sizes), lam)
    out = []
    for at, (row, load) in enumerate(zip(rows, loads.tolist(), strict=True)):
        over = load + row.reserved - row.capacity
        if over > SLACK_TOLERANCE:
            out.append({"row": at, **row.label(), "where": row.describe(),
                        "shortfall": round(over, 3), "capacity": round(row.capacity, 3),
                        "reserved": round(row.reserved, 3)})  # fmt: skip
    return sorted(out, key=lambda s: -s["shortfall"])


def build_model(
    tasks: Sequence[SizingTask],
    groups: Sequence[UnitGroup],
    staff: Sequence[StaffPool],
    reserved: Sequence[Reserved] = (),
    *,
    utilisation: float = DEFAULT_UTILISATION,
) -> pywraplp.Solver:
    """The final model of the first pass (every tangent the outer approximation added),
    built and not solved again: the benchmark times `Solve` alone on it."""
    rows, members, _ = capacity_rows(groups, staff, reserved, utilisation)
    d = _demands(_structure(groups, rows, members), _initial_sizes(tasks))
    model, _ = _kelley(tasks, rows, d, elastic=False, time_limit_s=60.0)
    final = _model(tasks, rows, elastic=False)
    room = [row.capacity - row.reserved for row in rows]
    for row, coefs in model.cuts.items():
        for coef in coefs:
            _add_cut(final, row, coef, room[row])
    return final.solver
