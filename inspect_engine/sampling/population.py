"""Population estimates for the public feed: what share of enterprises has problems.

The random component of 双随机 is what makes this possible. Every enterprise of the month's
frames had a known chance π > 0 of being drawn, so the month's results, each weighted by
1/π, estimate the share of *all* enterprises of the frames where an inspection finds a
problem, by industry section (GB/T 4754 门类) and by district, with a 95% confidence interval.
A top-k targeting scheme cannot do this: the enterprises it never visits had no chance, and
its visits say nothing about them.

Inputs, one row per enterprise drawn in the month (`MonthResults`):
- `visited`: the visit took place. A drawn enterprise not visited by the month's end (carried
  over) is non-response;
- `problem`: at least one result counts as a problem found;
- `observation`: at least one result is an observation (not `no_activity`, `closed`,
  `deregistered` only);
- `inclusion_probability`: π of the enterprise under the month's plan (see below);
- `industry_section`, `district`: the domains; `weight_class` (optional) for non-response.

And the number of enterprises in the frames per domain (`DomainSizes`), which the caller
counts over the union of the month's frames. The estimate is about those enterprises: the
ones the month's tasks could draw (active, in scope, not excluded as recently inspected,
capped or in their grace period), not the whole directory.

Choices, each documented where it is made:
- y = 1 if the visit found a problem, else 0. A visit that observed nothing (the enterprise
  has closed, left, or does not carry on the activity) counts as "no problem found" by
  default: that enterprise is part of the frame and has no problem to find. With
  `non_observation="non_response"` such visits are treated like missing ones instead, which
  estimates the share among enterprises that could be observed (same N, so only use it when
  non-observations are rare or missing at random).
- Non-response: weighting-class adjustment (`estimation.response_adjusted_lambdas`): within
  each class the weight of missing units is spread over the visited ones. A class without
  any visited unit is pooled with the other such classes, and if the pool has none either,
  the whole sample is one class.
- Domains: the HT total of y·[unit in domain] over the whole sample, divided by the known
  domain size N_d, with the Hájek–Rosén variance of `estimation.ht_share`. A domain where
  no unit was observed gets no estimate (NaN), and `enough` says whether the domain had at
  least `min_observed` observed units (a publication rule, configuration).
- Interval: by default the Wilson score interval with the effective sample size
  n* = min(m, p̂(1 − p̂) / V̂) (m observed units in the domain; a design effect below 1 is
  not believed), after Korn & Graubard (1998), "Confidence intervals for proportions with
  small expected number of positive counts estimated from survey data", Survey Methodology
  24(2), 193–201, who use the same n* with Clopper–Pearson. Why not p̂ ± 1.96·SE: a risk-
  weighted draw gives class-A visits weights in the hundreds, the few problems found there
  make the estimate's distribution skewed, and V̂ is small exactly when p̂ is low, so the
  symmetric interval misses low far more often than 2.5%. On the synthetic city's first
  month (600 redraws of the engine's design, `simulations/experiment.py`) the symmetric
  interval covered the true rate 84% of the time, this one 96.5%. `interval="wald"` gives
  the symmetric one.

π under a plan of several tasks. A task's inclusion probabilities are the exact Pareto πps
π its frame recorded (`pareto_inclusion` computes them from the λ, `sampling.inclusion`).
With one shared seed (coordinated PRNs) an enterprise in several frames is visited with a
probability that is *not* the largest of its π: each frame's cut-off is random (two 10-unit
frames at 0.2 sharing one unit visit it with probability 0.266, not 0.2). It is computed
for the frozen frames, for the enterprises a plan drew, by Rao–Blackwellised coordinated
draws (`visit_inclusion`: per replicate, the probability of a visit given every other
enterprise's PRN), pooling the enterprises that sit in the same frames with the same λ
(they are exchangeable), with its standard error; the workflow stores it once, at the draw.
`coordinated_inclusion` counts hits instead (slower, noisier: the tests' reference). An
enterprise in one frame only keeps that frame's exact π. With independent seeds
1 − Π(1 − π) is exact (`plan_inclusion`).
Estimates per task (`ht_share` over one task's selections with its recorded π) need none of
this and are preferred wherever a question is about one task.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from inspect_engine.sampling.estimation import ht_share
from inspect_engine.sampling.inclusion import pareto_pi
from inspect_engine.sampling.protocol import sample_size

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
NonObservation = Literal["no_problem", "non_response"]
Interval = Literal["wilson", "wald"]

METHOD = (
    "Horvitz-Thompson share of the frames' enterprises where a visit found a problem; "
    "weights 1/pi under the month's plan; Hajek-Rosen variance; non-response by "
    "weighting classes"
)
INTERVALS: Mapping[str, str] = {
    "wilson": "Wilson score interval, effective sample size min(m, p(1-p)/V) (Korn-Graubard)",
    "wald": "estimate +- z * standard error, clipped to [0, 1]",
}
DECIMALS = 6  # published shares are decimal strings (probabilities in published records)


# --------------------------------------------------------------------------- π of a plan


def pareto_inclusion(lambdas: npt.ArrayLike) -> FloatArray:
    """Exact inclusion probability of each unit of one frame drawn by Pareto πps
    (ie-draw-v1), computed once per distinct λ (`sampling.inclusion.pareto_pi`)."""
    lam = np.clip(np.asarray(lambdas, dtype=np.float64), 0.0, 1.0)
    if lam.ndim != 1 or np.isnan(lam).any():
        raise ValueError("λ must be a one-dimensional array of numbers")
    values, inverse, counts = np.unique(lam, return_inverse=True, return_counts=True)
    return np.asarray(pareto_pi(counts.tolist(), values.tolist())[inverse], dtype=np.float64)


@dataclass(frozen=True)
class PlanInclusion:
    """Each enterprise's probability of being visited by any task of a coordinated plan,
    with its standard error (0 where exact: enterprises of one frame only)."""

    pi: FloatArray
    std_error: FloatArray
    reps: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": "counted hits of simulated coordinated draws (one PRN per enterprise"
            " shared by every frame), enterprises pooled by their frames and λ; exact π for"
            " one frame",
            "reps": self.reps,
            "max_std_error": float(self.std_error.max(initial=0.0)),
        }


def coordinated_inclusion(
    frames: list[tuple[npt.NDArray[np.intp], FloatArray, FloatArray]],
    units: int,
    *,
    reps: int,
    rng: np.random.Generator,
) -> PlanInclusion:
    """P(visited by any frame) under one shared PRN per enterprise.

    `frames`: per frame, the enterprises' positions (0..units−1), their λ and their exact π.
    Enterprises holding the same λ in the same frames are exchangeable, so their hits are
    pooled: the standard error of a pattern held by k enterprises is that of k·reps
    (correlated) trials, estimated from the per-replicate pattern means."""
    pattern = np.zeros((units, len(frames)), dtype=np.float64)
    exact = np.zeros(units)
    holders = np.zeros(units, dtype=np.int64)
    for f, (rows, lam, pi) in enumerate(frames):
        pattern[rows, f] = lam
        exact[rows] = pi
        holders[rows] += 1
    shared = holders > 1
    result = exact.copy()
    error = np.zeros(units)
    if not shared.any():
        return PlanInclusion(result, error, 0)
    keys, group = np.unique(pattern[shared], axis=0, return_inverse=True)
    group = group.reshape(-1)
    size = np.bincount(group, minlength=keys.shape[0]).astype(np.float64)
    shared_rows = np.flatnonzero(shared)
    hits = np.zeros((reps, keys.shape[0]))
    for r in range(reps):
        u = rng.random(units)
        visited = np.zeros(units, dtype=bool)
        for rows, lam, _ in frames:
            visited[rows[_pareto_selected(lam, u[rows])]] = True
        hits[r] = np.bincount(group, weights=visited[shared_rows], minlength=keys.shape[0])
    share = hits / size
    result[shared_rows] = share.mean(axis=0)[group]
    error[shared_rows] = (share.std(axis=0, ddof=1) / math.sqrt(reps))[group]
    return PlanInclusion(result, error, reps)


@dataclass(frozen=True)
class VisitInclusion:
    """The plan-level π of chosen enterprises (the targets), aligned with them, with its
    standard error and how it was computed (`visit_inclusion`)."""

    pi: FloatArray
    std_error: FloatArray  # 0 for an enterprise of one frame (its π is exact)
    reps: int  # coordinated replicates drawn (0: no target sits in two frames)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": VISIT_INCLUSION_METHOD,
            "reps": self.reps,
            "max_std_error": float(self.std_error.max(initial=0.0)),
        }


VISIT_INCLUSION_METHOD = (
    "Rao-Blackwellised coordinated draws (one PRN per enterprise shared by every frame; per"
    " replicate the probability of a visit given the other enterprises' PRNs), enterprises"
    " pooled by their frames and λ; exact π for one frame"
)
# Replicates: at least MIN, then doubled until every pooled estimate's standard error is at
# most REL_SE of it, never beyond MAX nor beyond what ROW_BUDGET allows. Each replicate
# redraws every frame of the plan, and a tiny frame's cut-off moves a lot: one 10-unit task
# sharing enterprises with city-wide frames would otherwise take the whole city to a thousand
# replicates (minutes inside the draw). So the replicates × frame rows are bounded: a city's
# twelve frames (9.9 million rows) get at most 121 replicates, about 20 s, a small plan up to
# MAX; the standard error reached is stored beside each π. At Guangzhou scale the large
# frames' cut-offs hardly move and MIN is enough (largest SE 0.9 % of π; docs/benchmarks.md).
VISIT_INCLUSION_MIN_REPS = 32
VISIT_INCLUSION_MAX_REPS = 1024
VISIT_INCLUSION_ROW_BUDGET = 1_200_000_000
VISIT_INCLUSION_REL_SE = 0.01


def replicate_cap(frame_rows: int, row_budget: int = VISIT_INCLUSION_ROW_BUDGET) -> int:
    """The most replicates a plan of `frame_rows` frame rows may take (never below MIN)."""
    return max(
        VISIT_INCLUSION_MIN_REPS, min(VISIT_INCLUSION_MAX_REPS, row_budget // max(frame_rows, 1))
    )


def visit_inclusion(
    frames: list[tuple[npt.NDArray[np.intp], FloatArray, FloatArray]],
    units: int,
    targets: npt.ArrayLike,
    *,
    rng: np.random.Generator,
    min_reps: int = VISIT_INCLUSION_MIN_REPS,
    max_reps: int | None = None,
    rel_se: float = VISIT_INCLUSION_REL_SE,
) -> VisitInclusion:
    """P(visited by any frame) of the `targets` (distinct positions 0..units−1) under one
    shared PRN per enterprise, with its standard error; `frames` as `coordinated_inclusion`.

    Pareto πps selects ranked unit i of a frame iff its key q_i = u_i(1−λ_i)/(λ_i(1−u_i)) is
    below c, the m-th smallest key of the frame's *other* ranked units; in u that is u_i < τ
    = c·r/(1 + c·r), r = λ_i/(1−λ_i). With the frame's sorted keys s_1 < s_2 < …, c = s_{m+1}
    if q_i ≤ s_m, else s_m. Given every PRN but its own, i is visited iff u_i < max_k τ_k
    over its frames (one u_i serves them all), which has probability max_k τ_k: the mean of
    that over replicates estimates π without bias, with much less variance than counting
    hits (Rao–Blackwell). Targets holding the same λ in the same frames are exchangeable and
    pooled; the standard error is that of the pool's replicate means. A target in one frame
    only keeps that frame's exact π (error 0)."""
    target = np.asarray(targets, dtype=np.intp)
    if max_reps is None:  # bounded by the plan's size: see VISIT_INCLUSION_ROW_BUDGET
        max_reps = replicate_cap(sum(len(rows) for rows, _, _ in frames))
    if target.ndim != 1 or ((target < 0) | (target >= units)).any():
        raise ValueError("targets must be positions of enterprises of the frames")
    if min_reps < 2 or max_reps < min_reps:
        raise ValueError("need 2 <= min_reps <= max_reps")
    count = target.size
    at = np.full(units, -1, dtype=np.intp)
    at[target] = np.arange(count)
    if np.unique(target).size != count:
        raise ValueError("a target enterprise is given twice")
    holders = np.zeros(count, dtype=np.int64)
    exact = np.zeros(count)
    pattern = np.zeros((count, len(frames)))
    for f, (rows, lam, pi) in enumerate(frames):
        mine = at[rows]
        held = mine >= 0
        holders[mine[held]] += 1
        exact[mine[held]] = pi[held]
        pattern[mine[held], f] = lam[held]
    if (holders == 0).any():
        raise ValueError("a target enterprise is in none of the frames")
    shared = np.flatnonzero(holders > 1)
    pi_out, error = exact.copy(), np.zeros(count)
    if shared.size == 0:
        return VisitInclusion(pi_out, error, 0)
    keys, group = np.unique(pattern[shared], axis=0, return_inverse=True)
    group = group.reshape(-1)
    size = np.bincount(group, minlength=keys.shape[0]).astype(np.float64)
    slot_of = np.full(units, -1, dtype=np.intp)  # unit → its row among the shared targets
    slot_of[target[shared]] = np.arange(shared.size)
    cutoffs = [c for rows, lam, _ in frames if (c := _Cutoffs.of(rows, lam, slot_of))]
    means: list[FloatArray] = []
    while True:
        goal = min(max_reps, max(min_reps, 2 * len(means)))
        for _ in range(goal - len(means)):
            u = rng.random(units)
            odds = u / (1.0 - u)  # q = odds / r, in the order of the spec's key
            best = np.zeros(shared.size)
            for cut in cutoffs:
                best[cut.slots] = np.maximum(best[cut.slots], cut.tau(odds))
            means.append(np.bincount(group, weights=best, minlength=keys.shape[0]) / size)
        replicates = np.array(means)
        estimate = replicates.mean(axis=0)
        se = replicates.std(axis=0, ddof=1) / math.sqrt(len(means))
        if len(means) >= max_reps or (se <= rel_se * estimate).all():
            break
    pi_out[shared] = estimate[group]
    error[shared] = se[group]
    return VisitInclusion(pi_out, error, len(means))


@dataclass(frozen=True)
class _Cutoffs:
    """One frame's part of a replicate: its ranked units with r = λ/(1−λ), and the τ of
    the shared targets it holds."""

    ranked: npt.NDArray[np.intp]  # positions 0..units−1 of the ranked units (0 < λ < 1)
    r: FloatArray
    m: int  # ranked units to select; the τ of ranked targets is computed only for 0<m<len
    slots: npt.NDArray[np.intp]  # the targets' rows among the shared targets
    rank: npt.NDArray[np.intp]  # their index in `ranked`, −1 when τ is fixed
    fixed: FloatArray  # τ of the others: 1 (λ ≥ 1, or every ranked unit selected), else 0

    @classmethod
    def of(
        cls, rows: npt.NDArray[np.intp], lam: FloatArray, slot_of: npt.NDArray[np.intp]
    ) -> _Cutoffs | None:
        mine = np.flatnonzero(slot_of[rows] >= 0)  # frame positions of shared targets
        if mine.size == 0:
            return None  # this frame cannot raise any target's max
        certain = lam >= 1.0
        is_ranked = (lam > 0.0) & ~certain
        ranked = np.flatnonzero(is_ranked)
        m = sample_size(lam) - int(certain.sum())
        rank_in = np.cumsum(is_ranked) - 1
        fixed = np.where(certain[mine] | (is_ranked[mine] & (m >= ranked.size)), 1.0, 0.0)
        live = is_ranked[mine] & (0 < m < ranked.size)
        lam_r = lam[ranked]
        return cls(
            ranked=rows[ranked],
            r=lam_r / (1.0 - lam_r),
            m=m,
            slots=slot_of[rows[mine]],
            rank=np.where(live, rank_in[mine], -1),
            fixed=fixed,
        )

    def tau(self, odds: FloatArray) -> FloatArray:
        """Each target's cut-off in u given the other units' odds u/(1−u)."""
        live = self.rank >= 0
        if not live.any():
            return self.fixed
        q = odds[self.ranked] / self.r
        s = np.partition(q, (self.m - 1, self.m))
        s_m, s_next = s[self.m - 1], s[self.m]
        mine = self.rank[live]
        c = np.where(q[mine] <= s_m, s_next, s_m)
        cr = c * self.r[mine]
        tau = self.fixed.copy()
        tau[live] = cr / (1.0 + cr)
        return tau


def _pareto_selected(lam: FloatArray, u: FloatArray) -> npt.NDArray[np.intp]:
    """Positions selected by Pareto πps (ties of Q have probability 0 with these u)."""
    n = sample_size(lam)
    certain = np.flatnonzero(lam >= 1.0)
    ranked = np.flatnonzero((lam > 0.0) & (lam < 1.0))
    m = n - certain.size
    if m <= 0:
        return certain
    if m >= ranked.size:
        return np.concatenate([certain, ranked])
    q = (u[ranked] * (1.0 - lam[ranked])) / (lam[ranked] * (1.0 - u[ranked]))
    return np.concatenate([certain, ranked[np.argpartition(q, m - 1)[:m]]])


def plan_inclusion(task_pi: npt.ArrayLike, *, coordinated: bool = True) -> FloatArray:
    """π of each enterprise under the plan, from its π in every task (units × tasks, 0 where
    a frame does not hold it): 1 − Π(1 − π) with independent seeds. With one shared seed
    the max over tasks is only a lower bound (each frame's cut-off is random): use
    `coordinated_inclusion` for the frozen frames."""
    pi = np.asarray(task_pi, dtype=np.float64)
    if pi.ndim != 2:
        raise ValueError("task_pi must be a 2-d array: one row per enterprise, one column per task")
    if ((pi < 0.0) | (pi > 1.0)).any():
        raise ValueError("inclusion probabilities must lie in [0, 1]")
    if pi.shape[1] == 0:
        return np.zeros(pi.shape[0])
    if coordinated:
        return np.asarray(pi.max(axis=1), dtype=np.float64)
    return np.asarray(1.0 - np.prod(1.0 - pi, axis=1), dtype=np.float64)


def industry_section(industry: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """GB/T 4754 section (门类, 'A'..'T') of division codes written like 'H62'."""
    first_letter = np.asarray(industry, dtype=str).astype("<U1")  # truncates to 1 character
    return np.asarray(np.char.upper(first_letter), dtype=str)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True, eq=False)
class MonthResults:
    """The month's drawn enterprises and what their visits found, as aligned columns."""

    credit_code: npt.NDArray[np.str_]
    visited: BoolArray
    problem: BoolArray
    observation: BoolArray
    inclusion_probability: FloatArray
    industry_section: npt.NDArray[np.str_]  # 'H' (a division such as 'H62' is reduced to it)
    district: npt.NDArray[np.str_]
    weight_class: npt.NDArray[np.str_] | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "credit_code", np.asarray(self.credit_code, dtype=str))
        for name in ("visited", "problem", "observation"):
            set_(self, name, np.asarray(getattr(self, name), dtype=bool))
        set_(self, "inclusion_probability", np.asarray(self.inclusion_probability, dtype=float))
        set_(self, "industry_section", industry_section(self.industry_section))
        set_(self, "district", np.asarray(self.district, dtype=str))
        if self.weight_class is not None:
            set_(self, "weight_class", np.asarray(self.weight_class, dtype=str))
        size = self.credit_code.shape[0]
        columns = {
            "visited": self.visited,
            "problem": self.problem,
            "observation": self.observation,
            "inclusion_probability": self.inclusion_probability,
            "industry_section": self.industry_section,
            "district": self.district,
        }
        if self.weight_class is not None:
            columns["weight_class"] = self.weight_class
        wrong = [name for name, column in columns.items() if column.shape != (size,)]
        if self.credit_code.ndim != 1 or wrong:
            raise ValueError(f"columns {wrong} do not have one entry per drawn enterprise")
        if np.unique(self.credit_code).size != size:
            raise ValueError("an enterprise appears twice: give one row per drawn enterprise")
        pi = self.inclusion_probability
        if not ((pi > 0.0) & (pi <= 1.0)).all():
            raise ValueError("inclusion probabilities of drawn enterprises must lie in (0, 1]")
        if (self.problem & ~self.observation).any() or (self.observation & ~self.visited).any():
            raise ValueError("a problem needs an observation, and an observation needs a visit")

    def __len__(self) -> int:
        return int(self.credit_code.shape[0])

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> MonthResults:
        """One mapping per drawn enterprise: credit_code, visited, result ('problem',
        'no_problem', 'non_observation'; ignored when not visited), inclusion_probability,
        industry (division like 'H62', or its section) and district; optional weight_class.
        """
        rows = list(records)
        result = [str(r.get("result") or "") if r["visited"] else "" for r in rows]
        for row, outcome in zip(rows, result, strict=True):
            if row["visited"] and outcome not in ("problem", "no_problem", "non_observation"):
                raise ValueError(
                    f"{row['credit_code']}: a visited enterprise needs a result of problem,"
                    f" no_problem or non_observation, got {outcome!r}"
                )
        classes = [r.get("weight_class") for r in rows]
        return cls(
            credit_code=np.array([r["credit_code"] for r in rows], dtype=str),
            visited=np.array([bool(r["visited"]) for r in rows], dtype=bool),
            problem=np.array([res == "problem" for res in result], dtype=bool),
            observation=np.array([res in ("problem", "no_problem") for res in result], bool),
            inclusion_probability=np.array(
                [float(r["inclusion_probability"]) for r in rows], dtype=float
            ),
            industry_section=industry_section([str(r["industry"]) for r in rows]),
            district=np.array([str(r["district"]) for r in rows], dtype=str),
            weight_class=(
                None if all(c is None for c in classes) else np.array(classes, dtype=str)
            ),
        )


@dataclass(frozen=True)
class DomainSizes:
    """Enterprises in the union of the month's frames: in all and per domain."""

    total: int
    by_section: Mapping[str, int] = field(default_factory=dict)
    by_district: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("by_section", "by_district"):
            sizes = {str(k): int(v) for k, v in getattr(self, name).items()}
            if any(v <= 0 for v in sizes.values()):
                raise ValueError(f"{name}: every domain size must be positive")
            if sizes and sum(sizes.values()) != self.total:
                raise ValueError(
                    f"{name}: domain sizes add up to {sum(sizes.values())}, not {self.total}"
                )
            object.__setattr__(self, name, MappingProxyType(dict(sorted(sizes.items()))))
        if self.total <= 0:
            raise ValueError("the frames hold no enterprise")

    @classmethod
    def from_units(cls, industry: npt.ArrayLike, district: npt.ArrayLike) -> DomainSizes:
        """Count the frames' enterprises (one entry per enterprise of the union)."""
        sections = industry_section(industry)
        districts = np.asarray(district, dtype=str)
        if sections.shape != districts.shape:
            raise ValueError("one industry and one district per enterprise")
        keys, counts = np.unique(sections, return_counts=True)
        d_keys, d_counts = np.unique(districts, return_counts=True)
        return cls(
            total=int(sections.shape[0]),
            by_section=dict(zip(keys.tolist(), counts.tolist(), strict=True)),
            by_district=dict(zip(d_keys.tolist(), d_counts.tolist(), strict=True)),
        )


# --------------------------------------------------------------------------- outputs


@dataclass(frozen=True)
class DomainEstimate:
    """The estimated share of a domain's enterprises where a visit finds a problem."""

    dimension: str  # "all", "industry_section" or "district"
    key: str  # "" for all, else the section letter or the district code
    population: int  # enterprises of the frames in the domain (N_d)
    drawn: int
    visited: int
    observed: int  # visits that count in the estimate
    problems: int
    share: float  # NaN when nothing was observed in the domain
    std_error: float
    ci_low: float
    ci_high: float
    enough: bool  # at least `min_observed` observed units: fit to publish

    def as_dict(self) -> dict[str, Any]:
        return {
            "dimension": self.dimension,
            "key": self.key,
            "population": self.population,
            "drawn": self.drawn,
            "visited": self.visited,
            "observed": self.observed,
            "problems": self.problems,
            "share": _decimal(self.share),
            "std_error": _decimal(self.std_error),
            "ci_low": _decimal(self.ci_low),
            "ci_high": _decimal(self.ci_high),
            "enough": self.enough,
        }


@dataclass(frozen=True)
class PopulationEstimates:
    """A month's published estimates: overall, by industry section and by district."""

    month: str
    level: float
    interval: Interval
    non_observation: NonObservation
    min_observed: int
    overall: DomainEstimate
    by_section: tuple[DomainEstimate, ...]
    by_district: tuple[DomainEstimate, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "method": METHOD,
            "level": _decimal(self.level),
            "interval": INTERVALS[self.interval],
            "non_observation": self.non_observation,
            "min_observed": self.min_observed,
            "overall": self.overall.as_dict(),
            "by_industry_section": [e.as_dict() for e in self.by_section],
            "by_district": [e.as_dict() for e in self.by_district],
        }

    def to_json(self) -> str:
        """The public feed's JSON (UTF-8 text; shares as decimal strings, null if none)."""
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=2)


def _decimal(value: float) -> str | None:
    if math.isnan(value):
        return None
    return f"{value:.{DECIMALS}f}"


# --------------------------------------------------------------------------- estimation


def estimate_population(
    results: MonthResults,
    sizes: DomainSizes,
    *,
    month: str,
    level: float = 0.95,
    interval: Interval = "wilson",
    non_observation: NonObservation = "no_problem",
    min_observed: int = 10,
) -> PopulationEstimates:
    """Horvitz–Thompson shares of enterprises with problems, overall and per domain."""
    if non_observation not in ("no_problem", "non_response"):
        raise ValueError("non_observation is 'no_problem' or 'non_response'")
    if interval not in INTERVALS:
        raise ValueError(f"interval is one of {', '.join(INTERVALS)}")
    if len(results) == 0:
        raise ValueError("no enterprise was drawn this month")
    observed = results.visited.copy()
    if non_observation == "non_response":
        observed &= results.observation
    if not observed.any():
        raise ValueError("no drawn enterprise was observed: nothing to estimate from")
    y = results.problem.astype(np.float64)
    lam = results.inclusion_probability
    classes = _pooled_classes(results.weight_class, observed)
    everyone = np.ones(len(results), dtype=bool)

    def domain(dimension: str, key: str, members: BoolArray, size: int) -> DomainEstimate:
        counts = {
            "drawn": int(members.sum()),
            "visited": int((members & results.visited).sum()),
            "observed": int((members & observed).sum()),
            "problems": int((members & observed & results.problem).sum()),
        }
        if counts["observed"] == 0:
            nan = math.nan
            return DomainEstimate(
                dimension,
                key,
                size,
                **counts,
                share=nan,
                std_error=nan,
                ci_low=nan,
                ci_high=nan,
                enough=False,
            )
        # y·[in domain] over the whole sample: the domain's sample size is itself random.
        estimate = ht_share(
            np.where(members, y, 0.0),
            lam,
            size,
            observed=observed,
            weight_class=classes,
            level=level,
        )
        low, high = estimate.ci_low, estimate.ci_high
        if interval == "wilson":
            low, high = wilson_interval(
                estimate.value, estimate.variance, counts["observed"], level
            )
        return DomainEstimate(
            dimension,
            key,
            size,
            **counts,
            share=estimate.value,
            std_error=estimate.std_error,
            ci_low=low,
            ci_high=high,
            enough=counts["observed"] >= min_observed,
        )

    _check_domains(results.industry_section, sizes.by_section, "industry section")
    _check_domains(results.district, sizes.by_district, "district")
    return PopulationEstimates(
        month=month,
        level=level,
        non_observation=non_observation,
        interval=interval,
        min_observed=min_observed,
        overall=domain("all", "", everyone, sizes.total),
        by_section=tuple(
            domain("industry_section", key, results.industry_section == key, size)
            for key, size in sizes.by_section.items()
        ),
        by_district=tuple(
            domain("district", key, results.district == key, size)
            for key, size in sizes.by_district.items()
        ),
    )


def wilson_interval(
    share: float, variance: float, observed: int, level: float
) -> tuple[float, float]:
    """Wilson score interval for a share estimated from a complex sample, with the effective
    sample size n* = min(observed, p(1 − p) / variance) (see the module docstring).

    p is clipped to [0, 1] first (an HT share of a small domain can leave it); with p at 0
    or 1 the variance is 0 and n* is the observed count, so the interval still has width.
    NaN variance (fewer than two random units) gives a NaN interval."""
    if math.isnan(variance) or observed < 1:
        return math.nan, math.nan
    p = min(1.0, max(0.0, share))
    spread = p * (1.0 - p)
    n = float(observed) if variance <= 0.0 else min(float(observed), spread / variance)
    if n <= 0.0:  # p at 0 or 1 with positive variance: nothing is effectively known
        n = 1.0
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(spread / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _check_domains(values: npt.NDArray[np.str_], sizes: Mapping[str, int], what: str) -> None:
    if not sizes:
        return
    stray = sorted(set(values.tolist()) - set(sizes))
    if stray:
        raise ValueError(f"drawn enterprises in a {what} the frames do not hold: {stray[:5]}")


def _pooled_classes(
    weight_class: npt.NDArray[np.str_] | None, observed: BoolArray
) -> npt.NDArray[np.str_] | None:
    """Weighting classes where every class has an observed unit: classes without one are
    pooled together; if the pool has none either, everything is one class."""
    if weight_class is None or observed.all():
        return weight_class
    keys, index = np.unique(weight_class, return_inverse=True)
    seen = np.bincount(index, weights=observed.astype(float), minlength=keys.size) > 0
    if seen.all():
        return weight_class
    pooled = np.where(seen[index], np.char.add("c:", weight_class), "pooled")
    if not observed[pooled == "pooled"].any():
        return None
    return np.asarray(pooled, dtype=str)
