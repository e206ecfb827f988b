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
from dataclasses import dataclass, field
from typing import Any

from ortools.linear_solver import pywraplp

from inspect_engine.sampling.inclusion import BELOW_ONE, FloorError, whole_targets

CLASSES = ("A", "B", "C", "D")
DEFAULT_UTILISATION = 0.9
EXPECTED_MAX_NORMAL = (0.0, 0.0, 0.5642, 0.8463, 1.0294, 1.1630)
"""E[max of K standard normals] for K = 0..5; beyond, the bound √(2 ln K)."""
TIE_BREAK = 1e-6  # among equal objectives, prefer the larger draw (use the staff)
SLACK_TOLERANCE = 1e-3  # inspector-visits
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
    k = tasks_in_group
    if k < 2 or n <= 0:
        return 0.0
    e = EXPECTED_MAX_NORMAL[k] if k < len(EXPECTED_MAX_NORMAL) else math.sqrt(2 * math.log(k))
    return e / math.sqrt(max(n, 1.0))


# --------------------------------------------------------------------------- rows


def capacity_rows(
    groups: Sequence[UnitGroup],
    staff: Sequence[StaffPool],
    reserved: Sequence[Reserved],
    utilisation: float,
) -> tuple[list[Row], list[list[Member]], list[float]]:
    """The capacity rows, with each row's (group, department) demands and reserved load."""
    keys: dict[tuple[Any, ...], int] = {}
    rows: list[Row] = []
    members: list[list[Member]] = []
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
            members.append([])
            fixed.append(0.0)
        return keys[key]

    need_sets: dict[str, set[frozenset[str]]] = {}
    for g in groups:
        for need in g.needs:
            found = need_sets.setdefault(need.department, set())
            found.update(q for _, q in need.own() if q)
    for position, g in enumerate(groups):
        for need in g.needs:
            dept = need.department
            # every place of the visit, counted once: the department's own staff
            for at in _rows_of(g.mode, dept, frozenset(), g.office, g.district, row):
                members[at].append(Member(position, dept, -1, 1.0))
            # holders of Q serve the visits of the frames whose items need Q: per frame,
            # its selections (a visit drawn by frames of different needs, which asks for
            # the union, is the rarer overlap and is not counted twice)
            places = float(g.team_size) if len(g.needs) == 1 else 1.0
            for quals in need_sets.get(dept, ()):
                for k, own in need.own():
                    if quals <= own:
                        for at in _rows_of(g.mode, dept, quals, g.office, g.district, row):
                            members[at].append(Member(position, dept, k, places))
    for r in reserved:
        for at in _rows_of(r.mode, r.department, frozenset(), r.office, r.district, row):
            fixed[at] += r.places
    rows = [
        Row(x.kind, x.department, x.qualifications, x.office, x.district, x.capacity, fixed[i])
        for i, x in enumerate(rows)
    ]
    return rows, members, fixed


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


@dataclass
class _Model:
    solver: pywraplp.Solver
    lam: list[list[Any]]
    n: list[Any]
    visit: list[Any]  # per group: a variable or a λ variable
    place: list[dict[str, Any]]  # per group: department → expression of places
    rows: list[Row]
    load: list[Any]  # per row: expression (reserved load aside)
    slack: list[Any]


def _build(
    tasks: Sequence[SizingTask],
    groups: Sequence[UnitGroup],
    rows: Sequence[Row],
    members: Sequence[Sequence[Member]],
    sizes: Sequence[float],
    *,
    elastic: bool,
    fixed: Sequence[Sequence[float]] | None = None,
) -> _Model:
    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:  # pragma: no cover - the OR-Tools wheels ship SCIP
        raise RuntimeError("OR-Tools was built without SCIP")
    inf = solver.infinity()
    lam: list[list[Any]] = []
    n: list[Any] = []
    for k, task in enumerate(tasks):
        upper, n_lo, n_hi = task_bounds(task)
        if fixed is not None:
            lam_k = [solver.NumVar(v, v, f"lam_{k}_{c}") for c, v in enumerate(fixed[k])]
            lam.append(lam_k)
            n.append(None)
            continue
        lam_k = [solver.NumVar(task.lower, upper[c], f"lam_{k}_{c}") for c in range(4)]
        for c in range(3):
            solver.Add(lam_k[c] <= lam_k[c + 1])
        if sum(task.units):
            n_k = solver.IntVar(n_lo, n_hi, f"n_{k}")
            solver.Add(sum(task.units[c] * lam_k[c] for c in range(4)) == n_k)
            n.append(n_k)
        else:
            n.append(None)
        lam.append(lam_k)
    visit: list[Any] = []
    place: list[dict[str, Any]] = []
    for g, group in enumerate(groups):
        own = [lam[k][group.risk_class] for k in group.tasks]
        if len(group.tasks) == 1:
            v = own[0]
        else:
            v = solver.NumVar(0.0, inf, f"v_{g}")
            for k, lam_kc in zip(group.tasks, own, strict=True):
                solver.Add(v >= (1.0 + _spread(len(group.tasks), sizes[k])) * lam_kc)
        visit.append(v)
        if len(group.needs) == 1:
            place.append({group.needs[0].department: group.team_size * v})
            continue
        split = {}
        for d, need in enumerate(group.needs):
            y = solver.NumVar(0.0, inf, f"y_{g}_{d}")
            for k in need.tasks:
                margin = 1.0 + _spread(len(group.tasks), sizes[k])
                solver.Add(y >= margin * lam[k][group.risk_class])
            split[need.department] = y
        solver.Add(sum(split.values()) == group.team_size * v)
        place.append(split)
    load: list[Any] = []
    slack: list[Any] = []
    for r, row in enumerate(rows):
        expr = sum((_demand(m, groups, place, lam) for m in members[r]), 0.0) + 0.0
        load.append(expr)
        if elastic:
            s = solver.NumVar(0.0, inf, f"s_{r}")
            slack.append(s)
            solver.Add(expr + row.reserved - s <= row.capacity)
        else:
            solver.Add(expr + row.reserved <= row.capacity)
    if elastic:
        solver.Minimize(sum(slack, 0.0))
    else:
        found = sum(
            (task.problems[c] * lam[k][c] for k, task in enumerate(tasks) for c in range(4)),
            0.0,
        )
        drawn = sum(
            (task.units[c] * lam[k][c] for k, task in enumerate(tasks) for c in range(4)), 0.0
        )
        # coordinated visits as small as their bounds allow (v is in no other objective)
        visits = sum((g.units * v for g, v in zip(groups, visit, strict=True)), 0.0)
        solver.Maximize(found + TIE_BREAK * drawn - TIE_BREAK / 10 * visits)
    return _Model(solver, lam, n, visit, place, list(rows), load, slack)


def _demand(m: Member, groups: Sequence[UnitGroup], place: list[dict[str, Any]], lam: Any) -> Any:
    group = groups[m.group]
    if m.task < 0:
        return group.units * place[m.group][m.department]
    return group.units * m.places * lam[m.task][group.risk_class]


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
    sizes = _initial_sizes(tasks)
    chosen: list[list[float]] | None = None
    for _ in range(2):  # second pass: the spread of coordinated frames at the chosen n
        model = _build(tasks, groups, rows, members, sizes, elastic=False)
        model.solver.SetTimeLimit(int(time_limit_s * 1000))
        status = model.solver.Solve()
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            _refuse(tasks, groups, rows, members, sizes)
        chosen = [
            _filled(task, [lam.solution_value() for lam in lam_k])
            for task, lam_k in zip(tasks, model.lam, strict=True)
        ]
        new_sizes = [sum(t.units[c] * chosen[k][c] for c in range(4)) for k, t in enumerate(tasks)]
        if all(new >= old - 0.5 for new, old in zip(new_sizes, sizes, strict=True)):
            break  # the margins used were no smaller than the chosen sizes give
        sizes = new_sizes
    assert chosen is not None
    return _result(tasks, groups, model, chosen, utilisation, time.perf_counter() - started)


def _filled(task: SizingTask, lam: list[float]) -> list[float]:
    """An empty class takes the λ of the class below it (the floor or min_ratio for A):
    monotone still, and no arbitrary value of a free variable shown to the public."""
    out = list(lam)
    for c in range(4):
        if not task.units[c]:
            out[c] = out[c - 1] if c else min(task.lower, *(out[1:] or [1.0]))
    return out


def _refuse(
    tasks: Sequence[SizingTask],
    groups: Sequence[UnitGroup],
    rows: Sequence[Row],
    members: Sequence[Sequence[Member]],
    sizes: Sequence[float],
) -> None:
    short = _shortfalls(_build(tasks, groups, rows, members, sizes, elastic=True))
    shown = "; ".join(
        f"{s['where']}: short by {s['shortfall']:.1f} inspector-visits" for s in short[:SHOWN]
    )
    more = f"; and {len(short) - SHOWN} more" if len(short) > SHOWN else ""
    lines = shown + more
    raise SizingRefused(
        "the mandated minimums (floor, min_ratio, a whole sample of at least one per frame)"
        f" do not fit the staff: {lines or 'no feasible sizing'}",
        short,
    )


def _shortfalls(model: _Model) -> list[dict[str, Any]]:
    status = model.solver.Solve()
    if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        return []
    out = []
    for row, s in zip(model.rows, model.slack, strict=True):
        if s.solution_value() > SLACK_TOLERANCE:
            out.append(
                {
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
    model = _build(tasks, groups, rows, members, sizes, elastic=True, fixed=lambdas)
    return _shortfalls(model)


def _result(
    tasks: Sequence[SizingTask],
    groups: Sequence[UnitGroup],
    model: _Model,
    chosen: list[list[float]],
    utilisation: float,
    seconds: float,
) -> Sizing:
    loads = []
    for row, expr in zip(model.rows, model.load, strict=True):
        value = expr.solution_value() if hasattr(expr, "solution_value") else float(expr)
        loads.append(
            {**row.label(), "where": row.describe(), "load": round(value + row.reserved, 3),
             "reserved": round(row.reserved, 3), "capacity": round(row.capacity, 3)}
        )  # fmt: skip
    visits = sum(
        group.units * (v.solution_value() if hasattr(v, "solution_value") else float(v))
        for group, v in zip(groups, model.visit, strict=True)
    )
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
        expected_visits=visits,
        loads=tuple(loads),
        solver="SCIP",
        seconds=seconds,
        utilisation=utilisation,
    )


def build_model(
    tasks: Sequence[SizingTask],
    groups: Sequence[UnitGroup],
    staff: Sequence[StaffPool],
    reserved: Sequence[Reserved] = (),
    *,
    utilisation: float = DEFAULT_UTILISATION,
) -> pywraplp.Solver:
    """The first pass's model, built and not solved (the benchmark times `Solve` alone)."""
    rows, members, _ = capacity_rows(groups, staff, reserved, utilisation)
    return _build(tasks, groups, rows, members, _initial_sizes(tasks), elastic=False).solver
