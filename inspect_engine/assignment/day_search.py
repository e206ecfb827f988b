"""The CP-SAT stage of the ie-teams-v2 calendar: the greedy's days improved per inspector.

The keyed greedy (`schedule.DayBook.choose`) gives every staffed visit a day. This stage
then takes the inspectors one by one in the order of `key(c="calendar", i)` (then index).
An inspector's neighbourhood is his visits on his "mixed" days (two or more districts or
offices); each of them may keep its day or take a lawful day on which one of its members
already holds its district by another visit (elsewhere a move cannot save a district
pair). Every other booking stays fixed. The model:

    x[v, d] in {0, 1}   for v in the neighbourhood and d among its allowed days
    sum_d x[v, d] = 1                                   (one day per visit)
    sum_{v on m} x[v, d] <= cap - fixed(m, d)           (every member's daily cap)
    minimise  W1 * #new (inspector, day, district) + W2 * #new (inspector, day, office)
              + sum x[v, d] * (day_key(v, d) >> 40)
    subject to the objective of the current days not being exceeded

"new" counts a (member, day, district) triple once if some visit of the model puts it
there and no fixed booking already has it. W2 exceeds any sum of the 20-bit day keys and
W1 any office count, so the objective is lexicographic and the day keys break the ties:
the optimum is unique unless two sums of keys tie (about 2^-20 per pair of rival
choices). The solver runs with one worker, a seed taken from the team seed and a
deterministic-time limit (never the wall clock), the current days as its hint; days move
only when the neighbourhood is solved to proven optimality, so the verifier, running the
same code, finds the same days. A neighbourhood whose visits have no other allowed day
is skipped without a solve.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from inspect_engine.assignment import keys

KEY_SHIFT = 40  # 60-bit day keys -> 20-bit tie-break costs
DETERMINISTIC_LIMIT = 0.2  # solver work units per neighbourhood (never the wall clock)
NEIGHBOURHOOD_LABEL = "calendar"

BoolArray = npt.NDArray[np.bool_]


@dataclass
class SearchStats:
    """What the stage did: neighbourhoods solved, visits moved, solver seconds."""

    solved: int = 0
    improved: int = 0
    moved: int = 0
    skipped: int = 0
    not_optimal: int = 0
    seconds: float = 0.0
    district_pairs: tuple[int, int] = (0, 0)  # (inspector, day, district) before, after


@dataclass
class Calendar:
    """Days of the staffed visits and the bookings per (inspector, day column)."""

    members: Mapping[int, Sequence[int]]  # visit row -> inspector indices
    days: dict[int, int]  # visit row -> day column
    district: Mapping[int, int]
    office: Mapping[int, int]
    booked: dict[tuple[int, int], list[int]] = field(default_factory=dict)
    pinned: frozenset[int] = frozenset()  # rows that hold their day (carried visits)

    def __post_init__(self) -> None:
        for row, col in sorted(self.days.items()):
            for m in self.members[row]:
                self.booked.setdefault((m, col), []).append(row)

    def move(self, row: int, col: int) -> None:
        old = self.days[row]
        for m in self.members[row]:
            self.booked[m, old].remove(row)
            self.booked.setdefault((m, col), []).append(row)
        self.days[row] = col

    def joins(self, row: int, col: int) -> bool:
        """Whether a member of the visit holds its district on that day by another visit
        (the only days a move can save a district pair on)."""
        district = self.district[row]
        return any(
            self.district[r] == district and r != row
            for m in self.members[row]
            for r in self.booked.get((m, col), [])
        )

    def district_pairs(self) -> int:
        return sum(len({self.district[r] for r in rows}) for rows in self.booked.values())

    def mixed(self, inspector: int, cols: Sequence[int]) -> list[int]:
        """The inspector's visits on his days of two or more districts or offices."""
        out: list[int] = []
        for col in cols:
            rows = self.booked.get((inspector, col), [])
            if len({self.district[r] for r in rows}) > 1 or len({self.office[r] for r in rows}) > 1:
                out += rows
        return sorted(out)


def solver_version() -> str:
    """The OR-Tools release in use, recorded in teams.json: a neighbourhood stopped at the
    deterministic limit keeps its days, which another release may prove otherwise."""
    return importlib.metadata.version("ortools")


def solver_seed(team_seed: str) -> int:
    """The CP-SAT random seed: the first 31 bits of SHA256(team_seed + "|calendar")."""
    digest = hashlib.sha256(f"{team_seed}|{NEIGHBOURHOOD_LABEL}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def inspector_order(team_seed: str, inspector_ids: Sequence[str]) -> list[int]:
    """Inspector indices by key(team_seed, "calendar", id), then index."""
    ranks = [keys.pair_key(team_seed, NEIGHBOURHOOD_LABEL, i) for i in inspector_ids]
    return sorted(range(len(inspector_ids)), key=lambda k: (ranks[k], k))


def improve(
    cal: Calendar,
    duty: BoolArray,
    day_keys: Mapping[int, npt.NDArray[np.uint64]],
    cap: int,
    order: Sequence[int],
    team_seed: str,
) -> SearchStats:
    """Re-solve each mixed inspector's visits in `order`; moves days in `cal` in place."""
    stats = SearchStats()
    started = time.perf_counter()
    on: dict[int, list[int]] = {}
    for row in sorted(cal.days):
        for m in cal.members[row]:
            on.setdefault(m, []).append(row)
    seed = solver_seed(team_seed)
    before = cal.district_pairs()
    for inspector in order:
        rows = [
            r
            for r in cal.mixed(inspector, sorted({cal.days[r] for r in on.get(inspector, [])}))
            if r not in cal.pinned
        ]
        choices = day_choices(cal, rows, duty)
        if all(len(cols) == 1 for cols in choices.values()):
            stats.skipped += 1
            continue
        stats.solved += 1
        found = solve_neighbourhood(cal, choices, duty, day_keys, cap, seed)
        if found is None:
            stats.not_optimal += 1
            continue
        changed = {r: c for r, c in found.items() if cal.days[r] != c}
        stats.improved += bool(changed)
        stats.moved += len(changed)
        for row, new_col in sorted(changed.items()):
            cal.move(row, new_col)
    stats.district_pairs = (before, cal.district_pairs())
    stats.seconds = time.perf_counter() - started
    return stats


def day_choices(cal: Calendar, rows: Sequence[int], duty: BoolArray) -> dict[int, list[int]]:
    """Each visit's days in the model: its own, and the lawful days on which a member holds
    its district by another visit."""
    out = {}
    for row in rows:
        lawful = np.flatnonzero(duty[list(cal.members[row])].all(axis=0)).tolist()
        out[row] = [c for c in lawful if c == cal.days[row] or cal.joins(row, c)]
    return out


def solve_neighbourhood(
    cal: Calendar,
    choices: Mapping[int, Sequence[int]],
    duty: BoolArray,
    day_keys: Mapping[int, npt.NDArray[np.uint64]],
    cap: int,
    seed: int,
) -> dict[int, int] | None:
    """The optimal days of the visits of `choices` among their day columns, the other
    bookings fixed; None unless proved optimal."""
    model = cp_model.CpModel()
    inside = set(choices)
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    use: dict[tuple[int, int], list[cp_model.IntVar]] = {}  # (member, col) -> x of rows on m
    district_pairs: dict[tuple[int, int, int], list[cp_model.IntVar]] = {}
    office_pairs: dict[tuple[int, int, int], list[cp_model.IntVar]] = {}
    tie_terms = []
    hinted: dict[int, bool] = {}
    for row, cols in choices.items():
        team = list(cal.members[row])
        own = []
        for col in cols:
            var = model.new_bool_var(f"x{row}_{col}")
            x[row, col] = var
            own.append(var)
            tie_terms.append((var, int(day_keys[row][col]) >> KEY_SHIFT))
            hinted[var.index] = col == cal.days[row]
            for m in team:
                use.setdefault((m, col), []).append(var)
                district_pairs.setdefault((m, col, cal.district[row]), []).append(var)
                office_pairs.setdefault((m, col, cal.office[row]), []).append(var)
            if col == cal.days[row]:
                model.add_hint(var, True)
        model.add_exactly_one(own)
    fixed: dict[tuple[int, int], list[int]] = {
        mc: [r for r in cal.booked.get(mc, []) if r not in inside] for mc in use
    }
    for mc, vars_ in use.items():
        room = cap - len(fixed[mc])
        if room < len(vars_):
            model.add(sum(vars_) <= room)
    tie_bound = len(choices) << (60 - KEY_SHIFT)
    office_terms, office_now = _new_pairs(model, office_pairs, fixed, cal.office, hinted)
    district_terms, district_now = _new_pairs(model, district_pairs, fixed, cal.district, hinted)
    w2 = tie_bound
    w1 = w2 * (len(office_terms) + 1)
    tie_now = sum(c for v, c in tie_terms if hinted[v.index])
    objective = w1 * sum(district_terms) + w2 * sum(office_terms) + sum(c * v for v, c in tie_terms)
    model.add(objective <= w1 * district_now + w2 * office_now + tie_now)  # never worse
    model.minimize(objective)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = DETERMINISTIC_LIMIT
    solver.parameters.symmetry_level = 0
    solver.parameters.cp_model_probing_level = 0
    if solver.solve(model) != cp_model.OPTIMAL:
        return None
    return {r: c for (r, c), var in x.items() if solver.boolean_value(var)}


def _new_pairs(
    model: cp_model.CpModel,
    pairs: Mapping[tuple[int, int, int], list[cp_model.IntVar]],
    fixed: Mapping[tuple[int, int], list[int]],
    label: Mapping[int, int],
    hinted: Mapping[int, bool],
) -> tuple[list[cp_model.IntVar], int]:
    """One indicator per (member, day, label) not already held by a fixed booking, at least
    every x that puts the label there; and how many the current days use."""
    terms, now = [], 0
    for (m, col, value), vars_ in pairs.items():
        if any(label[r] == value for r in fixed[m, col]):
            continue
        y = model.new_bool_var("")
        for var in vars_:
            model.add_implication(var, y)
        terms.append(y)
        now += any(hinted[v.index] for v in vars_)
    return terms, now
