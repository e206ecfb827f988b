"""What the experiment measures: the monthly figures of each strategy, their summary over the
run, the coverage of estimates over redraws, and the issue's acceptance figures.

Pure functions of the figures; the loop that produces them is `simulations.experiment`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from inspect_engine.sampling.population import wilson_interval

LEVEL = 0.95
RANDOM_DESIGNS = ("uniform", "engine", "independent")


@dataclass(frozen=True)
class MonthMetrics:
    """One strategy in one month."""

    strategy: str
    month: str
    budget: int
    scale: float  # factor on the tasks' ratios (top-k: on their nominal sizes)
    drawn: int  # visits planned: distinct enterprises drawn by the month's tasks
    visited: int
    carried_over: int  # drawn, not visited within the month (non-response)
    selections: int  # Σ over tasks of enterprises selected
    problems: int  # visits that found a problem
    problems_per_visit: float
    expected_per_visit: float  # the truth's P(the visit finds a problem), mean over visits
    share_found: float  # of the city's problem enterprises (truth, expected), visited
    class_a_share: float  # of visits, to the world's class-A enterprises
    low_risk_share: float  # of visits, to truly low-risk enterprises
    population: int  # enterprises in the month's frames
    true_rate: float  # of the quantity the population estimate targets
    ht: float  # Horvitz–Thompson share; NaN for top-k
    ht_low: float
    ht_high: float
    naive: float  # unweighted share of visits with a problem
    naive_low: float
    naive_high: float
    auc_truth: float  # model score vs the truth's p over active enterprises
    auc_ceiling: float  # the truth's observable part vs p: what observables allow
    auc_visits: float  # model score vs what the month's visits found
    visits_if_independent: int  # engine only: the same frames drawn with one seed per task
    carried_in: int  # last month's carried-over visits done this month

    @property
    def ht_covered(self) -> bool:
        return self.ht_low <= self.true_rate <= self.ht_high

    @property
    def naive_covered(self) -> bool:
        return self.naive_low <= self.true_rate <= self.naive_high

    @property
    def selections_per_visit(self) -> float:
        return self.selections / self.drawn if self.drawn else math.nan


@dataclass(frozen=True)
class StrategySummary:
    strategy: str
    visits: int
    problems: int
    problems_per_visit: float
    lift_over_uniform: float
    lift_interval: tuple[float, float]  # 95%, from the binomial counts (delta method)
    expected_per_visit: float  # truth, visit-weighted over months
    expected_lift: float
    share_found: float  # mean over months
    selections_per_visit: float
    class_a_share: float
    low_risk_share: float
    ht_covered: int  # months whose HT interval covers the true rate (random designs)
    naive_covered: int
    months: int
    ht_mean_abs_error: float
    naive_mean_abs_error: float
    ht_mean_width: float
    auc_first: float
    auc_last: float


@dataclass(frozen=True)
class ReplicateCoverage:
    """The first month's design redrawn with many seeds (world state fixed)."""

    strategy: str
    estimator: str  # "ht" or "naive"
    replicates: int
    covered: int
    mean_estimate: float
    true_rate: float
    mean_width: float


@dataclass(frozen=True)
class DomainRow:
    """A published domain estimate of the engine's last month against its true rate."""

    dimension: str
    key: str
    population: int
    observed: int
    share: float
    ci_low: float
    ci_high: float
    true_rate: float


@dataclass(frozen=True)
class DoneWhen:
    """The issue's acceptance figures, stated as measured."""

    lift: float  # (2) problems per visit / (1)
    lift_met: bool  # ≥ 2
    engine_coverage: float  # share of months (2)'s interval covers
    engine_coverage_met: bool  # about 95%: at most one month missed in twelve
    topk_naive_coverage: float
    topk_not_covering: bool  # top-k's naive estimate misses in most months


@dataclass(frozen=True)
class ExperimentReport:
    months: int
    seed: int
    scale: str
    entities: int
    budget: int
    as_of: date
    rows: tuple[MonthMetrics, ...]
    summary: tuple[StrategySummary, ...]
    replicates: tuple[ReplicateCoverage, ...]
    domains: tuple[DomainRow, ...]
    done_when: DoneWhen
    seconds: float
    sensitivity: tuple[MonthMetrics, ...] = ()  # (1), (2), (3) without window and cap
    files: tuple[Path, ...] = field(default=())

    def of(self, strategy: str) -> list[MonthMetrics]:
        return [r for r in self.rows if r.strategy == strategy]

    def summary_of(self, strategy: str) -> StrategySummary:
        return next(s for s in self.summary if s.strategy == strategy)


# --------------------------------------------------------------------------- judging


def naive_estimate(found: NDArray[np.bool_]) -> tuple[float, float, float]:
    """The share of visits that found a problem, with its binomial (Wilson) interval: what
    one would publish without weights."""
    n = int(found.size)
    if n == 0:
        return math.nan, math.nan, math.nan
    share = float(found.mean())
    low, high = wilson_interval(share, share * (1 - share) / n, n, LEVEL)
    return share, low, high


def weighted_auc(score: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    """AUC of `score` against outcomes drawn from the truth: each enterprise is a positive
    with weight p and a negative with weight 1 − p (ties count a half)."""
    order = np.argsort(score, kind="stable")
    s, pos = score[order], p[order]
    neg = 1.0 - pos
    _, start = np.unique(s, return_index=True)
    group_pos = np.add.reduceat(pos, start)
    group_neg = np.add.reduceat(neg, start)
    below = np.cumsum(group_neg) - group_neg
    pairs = (group_pos * (below + 0.5 * group_neg)).sum()
    total = pos.sum() * neg.sum()
    return float(pairs / total) if total > 0 else math.nan


def visit_auc(score: NDArray[np.float64], found: NDArray[np.bool_]) -> float:
    if found.all() or not found.any():
        return math.nan
    return weighted_auc(score, found.astype(np.float64))


def replicate_coverage(
    strategy: str, estimator: str, runs: list[tuple[float, float, float]], true_rate: float
) -> ReplicateCoverage:
    values = np.array(runs, dtype=float)
    ok = ~np.isnan(values[:, 0])
    v = values[ok]
    covered = int(((v[:, 1] <= true_rate) & (true_rate <= v[:, 2])).sum())
    return ReplicateCoverage(
        strategy=strategy,
        estimator=estimator,
        replicates=int(ok.sum()),
        covered=covered,
        mean_estimate=float(v[:, 0].mean()) if v.size else math.nan,
        true_rate=true_rate,
        mean_width=float((v[:, 2] - v[:, 1]).mean()) if v.size else math.nan,
    )


def summarise(strategy: str, rows: Sequence[MonthMetrics]) -> StrategySummary:
    mine = [r for r in rows if r.strategy == strategy]
    uniform = [r for r in rows if r.strategy == "uniform"]
    visits = sum(r.visited for r in mine)
    problems = sum(r.problems for r in mine)
    rate = problems / visits if visits else math.nan
    base_visits = sum(r.visited for r in uniform)
    base = sum(r.problems for r in uniform) / base_visits if base_visits else math.nan
    random = strategy in RANDOM_DESIGNS
    expected = _visit_weighted(mine, "expected_per_visit")
    base_problems = sum(r.problems for r in uniform)
    return StrategySummary(
        strategy=strategy,
        visits=visits,
        problems=problems,
        problems_per_visit=rate,
        lift_over_uniform=rate / base if base else math.nan,
        lift_interval=_ratio_interval(problems, visits, base_problems, base_visits),
        expected_per_visit=expected,
        expected_lift=expected / _visit_weighted(uniform, "expected_per_visit"),
        share_found=float(np.mean([r.share_found for r in mine])),
        selections_per_visit=sum(r.selections for r in mine) / max(sum(r.drawn for r in mine), 1),
        class_a_share=float(np.mean([r.class_a_share for r in mine])),
        low_risk_share=float(np.mean([r.low_risk_share for r in mine])),
        ht_covered=sum(r.ht_covered for r in mine) if random else 0,
        naive_covered=sum(r.naive_covered for r in mine),
        months=len(mine),
        ht_mean_abs_error=(
            float(np.mean([abs(r.ht - r.true_rate) for r in mine])) if random else math.nan
        ),
        naive_mean_abs_error=float(np.mean([abs(r.naive - r.true_rate) for r in mine])),
        ht_mean_width=float(np.mean([r.ht_high - r.ht_low for r in mine])) if random else math.nan,
        auc_first=mine[0].auc_truth,
        auc_last=mine[-1].auc_truth,
    )


def _visit_weighted(rows: Sequence[MonthMetrics], name: str) -> float:
    visits = sum(r.visited for r in rows)
    return sum(getattr(r, name) * r.visited for r in rows) / visits if visits else math.nan


def _ratio_interval(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    """95% interval of (x1/n1) / (x0/n0) for two binomial counts, on the log scale."""
    if min(x1, x0) == 0:
        return math.nan, math.nan
    ratio = (x1 / n1) / (x0 / n0)
    se = math.sqrt((1 - x1 / n1) / x1 + (1 - x0 / n0) / x0)
    return ratio * math.exp(-1.96 * se), ratio * math.exp(1.96 * se)


def done_when(summary: Sequence[StrategySummary]) -> DoneWhen:
    by = {s.strategy: s for s in summary}
    engine, topk = by["engine"], by.get("topk")
    lift = engine.lift_over_uniform
    coverage = engine.ht_covered / engine.months
    misses_allowed = max(1, round(0.05 * engine.months))  # "about 95%": one in twelve at most
    topk_coverage = topk.naive_covered / topk.months if topk else math.nan
    return DoneWhen(
        lift=lift,
        lift_met=bool(lift >= 2.0),
        engine_coverage=coverage,
        engine_coverage_met=engine.months - engine.ht_covered <= misses_allowed,
        topk_naive_coverage=topk_coverage,
        topk_not_covering=bool(topk_coverage < 0.5),
    )
