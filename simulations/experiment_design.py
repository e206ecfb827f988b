"""The four sampling strategies of the experiment, sized to one monthly budget of visits,
and the truth each design's population estimate should recover.

Every strategy starts from the same frames: the month's tasks of the city (tasks.csv), built
by the engine's `build_frame` with the world's risk classes and exclusions. They differ in
how the frames are drawn:
- `uniform` — plain 双随机: one λ per task for every enterprise, proportional to the task's
  nominal rate (its ratios averaged over the nominal class mix), one shared seed;
- `engine` — the engine: λ by risk class (the task's ratios, all scaled by one factor so the
  plan fits the budget), floor kept, one shared seed (coordinated PRNs, merged visits);
- `topk` — pure targeting: each task takes its k highest model scores, k proportional to
  the task's nominal size; no randomness, so π = 1 for the chosen and 0 for the others;
- `independent` — the engine's λ design drawn with one seed per task (no coordination).

The budget is a number of visits (enterprises knocked on) per month. For the random designs
the scale factor is solved so that the expected number of visits, Σ over enterprises of the
plan's inclusion probability (max λ with a shared seed, 1 − Π(1 − λ) with independent seeds),
equals the budget; top-k takes the smallest scale whose merged visits reach it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from numpy.typing import NDArray

from inspect_engine.sampling.frames import (
    RISK_CLASSES,
    EnterpriseColumns,
    ExclusionPolicy,
    Frame,
    TaskSpec,
    build_frame,
    class_lambdas,
    item_applies,
)
from inspect_engine.sampling.population import pareto_inclusion, plan_inclusion
from simulations import catalogue as cat

STRATEGIES: tuple[str, ...] = ("uniform", "engine", "topk", "independent")
LABELS: Mapping[str, str] = {
    "uniform": "(1) uniform random (plain 双随机)",
    "engine": "(2) engine: risk-weighted πps with floor",
    "topk": "(3) top-k targeting by model score",
    "independent": "(4) engine, independent seeds per task",
}
GENERAL_CAP = 0.99  # a general-items task never draws with certainty (frames.TaskSpec)
NO_ACTIVITY = 0.02  # truth: share of non-information items whose activity is not carried on


def nominal_rate(task: TaskSpec) -> float:
    """The task's ratios averaged over the nominal class mix: its plain random rate."""
    shares = cat.NOMINAL_CLASS_SHARES
    return float(sum(s * task.ratios[k] for s, k in zip(shares, RISK_CLASSES, strict=True)))


def _decimal(value: float) -> str:
    """A ratio as the engine accepts it: at most 9 decimals, never 0."""
    return f"{max(value, 1e-9):.9f}"


def scaled_task(task: TaskSpec, scale: float, *, uniform: bool) -> TaskSpec:
    """The task with every ratio (and the floor) multiplied by `scale`; `uniform` gives every
    class the task's nominal rate instead of its own ratio."""
    cap = 1.0 if task.has_key_item else GENERAL_CAP
    if uniform:
        rate = _decimal(min(cap, scale * nominal_rate(task)))
        return replace(task, ratios=dict.fromkeys(RISK_CLASSES, rate), floor=rate)  # type: ignore[arg-type]
    ratios = {k: _decimal(min(cap, scale * task.ratios[k])) for k in RISK_CLASSES}
    lowest = min(float(v) for v in ratios.values())
    floor = _decimal(min(scale * task.floor, lowest))
    return replace(task, ratios=ratios, floor=floor)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the month's plan


@dataclass(frozen=True, eq=False)
class Plan:
    """The union of a month's frames: every enterprise some task may draw.

    `rows` are directory rows (sorted); `member[t]` the positions in `rows` of task t's
    frame, in the frame's order; task order is `task_codes`."""

    task_codes: tuple[str, ...]
    frames: Mapping[str, Frame]
    rows: NDArray[np.int64]
    member: tuple[NDArray[np.int64], ...]

    @classmethod
    def of(cls, frames: Mapping[str, Frame]) -> Plan:
        codes = tuple(sorted(frames))
        parts = [frames[c].rows for c in codes]
        rows = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        member = tuple(np.searchsorted(rows, p).astype(np.int64) for p in parts)
        return cls(codes, frames, rows.astype(np.int64), member)

    def task_matrix(self, per_task: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
        """(units × tasks) matrix of a per-frame value (0 where a frame lacks the unit)."""
        out = np.zeros((self.rows.size, len(self.task_codes)))
        for j, code in enumerate(self.task_codes):
            out[self.member[j], j] = per_task[code]
        return out

    def task_inclusion(self) -> NDArray[np.float64]:
        """Each task's π (Pareto, n = round Σλ) as a matrix, see `task_matrix`."""
        return self.task_matrix({c: pareto_inclusion(f.lam) for c, f in self.frames.items()})


def base_frames(
    columns: EnterpriseColumns,
    tasks: Mapping[str, TaskSpec],
    policy: ExclusionPolicy,
    month_first: date,
) -> dict[str, Frame]:
    """The tasks' frames with the ratios as written: who may be drawn, and in which class."""
    return {code: build_frame(columns, task, policy, month_first) for code, task in tasks.items()}


def _lambda_matrix(plan: Plan, tasks: Mapping[str, TaskSpec]) -> NDArray[np.float64]:
    """λ of every unit in every task, as build_frame would set it for these tasks."""
    per_task = {}
    for code in plan.task_codes:
        values = {k: float(v) for k, v in class_lambdas(tasks[code]).items()}
        lookup = np.array([values[k] for k in RISK_CLASSES])
        frame_class = plan.frames[code].risk_class
        per_task[code] = lookup[np.searchsorted(np.array(RISK_CLASSES), frame_class)]
    return plan.task_matrix(per_task)


def expected_visits(lam: NDArray[np.float64], *, coordinated: bool) -> float:
    return float(plan_inclusion(lam, coordinated=coordinated).sum())


def solve_scale(visits_at: Callable[[float], float], budget: float) -> float:
    """The scale whose expected visits equal the budget (bisection on log scale); the
    largest tried when even that falls short."""
    lo, hi = 1e-3, 1e3
    if visits_at(hi) <= budget:
        return hi
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if visits_at(mid) < budget:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-6:
            break
    return hi


def scaled_tasks(
    plan: Plan, tasks: Mapping[str, TaskSpec], budget: float, *, uniform: bool, coordinated: bool
) -> tuple[dict[str, TaskSpec], float]:
    """The tasks with ratios scaled so the plan's expected visits meet the budget."""

    def tasks_at(scale: float) -> dict[str, TaskSpec]:
        return {c: scaled_task(tasks[c], scale, uniform=uniform) for c in plan.task_codes}

    def visits_at(scale: float) -> float:
        return expected_visits(_lambda_matrix(plan, tasks_at(scale)), coordinated=coordinated)

    scale = solve_scale(visits_at, budget)
    return tasks_at(scale), scale


def top_k(
    plan: Plan, tasks: Mapping[str, TaskSpec], score: NDArray[np.float64], budget: int
) -> tuple[dict[str, tuple[str, ...]], float]:
    """Each task's k highest scores in its frame (ties by credit code), k proportional to the
    task's nominal size, scaled to the smallest factor whose merged visits reach the budget."""
    ranked: dict[str, NDArray[np.int64]] = {}
    nominal: dict[str, float] = {}
    for code in plan.task_codes:
        frame = plan.frames[code]
        order = np.lexsort((frame.credit_code, -score[frame.rows]))  # best first
        ranked[code] = frame.rows[order]
        nominal[code] = len(frame) * nominal_rate(tasks[code])

    def chosen(scale: float) -> dict[str, NDArray[np.int64]]:
        return {c: ranked[c][: round(scale * nominal[c])] for c in plan.task_codes}

    def visits_at(scale: float) -> float:
        parts = list(chosen(scale).values())
        return float(np.unique(np.concatenate(parts)).size) if parts else 0.0

    scale = solve_scale(visits_at, budget - 0.5)
    selections = {}
    for c, rows in chosen(scale).items():
        frame = plan.frames[c]
        position = np.searchsorted(frame.rows, rows)
        selections[c] = tuple(sorted(frame.credit_code[position].tolist()))
    return selections, scale


# --------------------------------------------------------------------------- the truth


@dataclass(frozen=True, eq=False)
class VisitTruth:
    """What the truth needs to say how likely a visit is to find a problem (per unit)."""

    p: NDArray[np.float64]
    shell: NDArray[np.bool_]
    dormant: NDArray[np.bool_]
    active: NDArray[np.bool_]
    report_missing: NDArray[np.bool_]
    item_weight: NDArray[np.float64]  # per item column
    item_is_info: NDArray[np.bool_]
    strictness: NDArray[np.float64]  # team strictness values to average over

    def found_probability(
        self, cover: NDArray[np.bool_], rows: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """P(a visit carrying the items in `cover` finds a problem), for the given units
        (rows into these arrays), averaged over the team strictness values. The truth's
        rules (`simulations.truth.draw_results`): a unit that has left finds nothing, a shell
        is unreachable (a problem), a dormant one closed; an information check finds the
        missing report; any other item finds a problem with 1 − (1 − p)^(w·m), unless its
        activity is not carried on (2%)."""
        p = self.p[rows][:, None]
        info = self.item_is_info[None, :]
        total = np.zeros(rows.size)
        for m in self.strictness:
            kept = np.power(1.0 - p, self.item_weight[None, :] * m)  # P(item finds nothing)
            nothing = np.where(info, kept, NO_ACTIVITY + (1.0 - NO_ACTIVITY) * kept)
            log_nothing = np.log(np.maximum(nothing, 1e-300))
            total += 1.0 - np.exp((cover * log_nothing).sum(axis=1))
        found = total / self.strictness.size
        missing = (cover & info).any(axis=1) & self.report_missing[rows]
        found = np.where(missing, 1.0, found)
        found = np.where(self.dormant[rows], 0.0, found)
        found = np.where(self.shell[rows], 1.0, found)
        return np.asarray(np.where(self.active[rows], found, 0.0))


def item_cover(
    plan: Plan,
    tasks: Mapping[str, TaskSpec],
    columns: EnterpriseColumns,
    item_codes: tuple[str, ...],
) -> NDArray[np.bool_]:
    """(tasks × units × items): the items task t would carry to unit u (its items that apply
    there), all False where t's frame lacks u."""
    cover = np.zeros((len(plan.task_codes), plan.rows.size, len(item_codes)), dtype=bool)
    for j, code in enumerate(plan.task_codes):
        rows = plan.rows[plan.member[j]]
        for item in tasks[code].items:
            applies = item_applies(columns, item, rows)
            cover[j, plan.member[j], item_codes.index(item.item_code)] = applies
    return cover


def expected_findings(
    task_pi: NDArray[np.float64],
    cover: NDArray[np.bool_],
    truth: VisitTruth,
    *,
    coordinated: bool,
) -> NDArray[np.float64]:
    """E[y | the unit is visited] for every unit of the plan, y = the visit finds a problem.

    The visit carries the items of the tasks that drew the unit. With a shared seed the tasks
    drawing it are nested: given inclusion, the tasks whose π is at least the k-th largest
    come together with probability (π_(k) − π_(k+1)) / π_(1). With independent seeds every
    subset S of its tasks has probability Π_S π · Π_not S (1 − π), over 1 − Π(1 − π)."""
    if coordinated:
        return _nested_findings(task_pi, cover, truth)
    return _subset_findings(task_pi, cover, truth)


def _nested_findings(
    task_pi: NDArray[np.float64], cover: NDArray[np.bool_], truth: VisitTruth
) -> NDArray[np.float64]:
    units, tasks = task_pi.shape
    order = np.argsort(-task_pi, axis=1, kind="stable")
    pi_sorted = np.take_along_axis(task_pi, order, axis=1)
    top = pi_sorted[:, 0]
    nxt = np.concatenate([pi_sorted[:, 1:], np.zeros((units, 1))], axis=1)
    weight = np.where(top[:, None] > 0, (pi_sorted - nxt) / np.maximum(top, 1e-300)[:, None], 0.0)
    carried = np.zeros((units, cover.shape[2]), dtype=bool)
    everyone = np.arange(units)
    out = np.zeros(units)
    for k in range(tasks):
        carried |= cover[order[:, k], everyone, :]
        rows = np.flatnonzero(weight[:, k] > 0)
        if rows.size:
            out[rows] += weight[rows, k] * truth.found_probability(carried[rows], rows)
    return out


def _subset_findings(
    task_pi: NDArray[np.float64], cover: NDArray[np.bool_], truth: VisitTruth
) -> NDArray[np.float64]:
    units, tasks = task_pi.shape
    holds = task_pi > 0
    pattern = (holds.astype(np.int64) << np.arange(tasks)).sum(axis=1)
    union = 1.0 - np.prod(1.0 - task_pi, axis=1)
    out = np.zeros(units)
    for key in np.unique(pattern):
        rows = np.flatnonzero(pattern == key)
        mine = np.flatnonzero(holds[rows[0]])
        pi = task_pi[np.ix_(rows, mine)]
        for subset in range(1, 1 << mine.size):
            chosen = ((subset >> np.arange(mine.size)) & 1).astype(bool)
            prob = np.prod(np.where(chosen, pi, 1.0 - pi), axis=1)
            carried = cover[mine[chosen]][:, rows, :].any(axis=0)
            out[rows] += prob * truth.found_probability(carried, rows)
    return np.asarray(np.where(union > 0, out / np.maximum(union, 1e-300), 0.0))
