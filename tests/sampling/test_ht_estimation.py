"""Horvitz–Thompson from Pareto πps draws: hand-computed cases, then Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inspect_engine.sampling.estimation import (
    ht_share,
    ht_total,
    response_adjusted_lambdas,
)
from inspect_engine.sampling.protocol import pareto_select

# A known population: 10,000 enterprises in four risk classes with rising λ and rising problem
# rates. Σλ = 120 + 120 + 80 + 60 = 380 exactly, so n = round(Σλ) does not move π away from λ.
SIZES = {"A": 6000, "B": 3000, "C": 800, "D": 200}
LAMBDA = {"A": 0.02, "B": 0.04, "C": 0.1, "D": 0.3}
PROBLEM_RATE = {"A": 0.08, "B": 0.15, "C": 0.3, "D": 0.5}
RESPONSE_RATE = {"A": 0.9, "B": 0.8, "C": 0.7, "D": 0.5}
REPEATS = 2_000


class Population:
    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.risk_class = np.concatenate([[k] * v for k, v in SIZES.items()])
        self.lambdas = np.array([LAMBDA[k] for k in self.risk_class])
        rate = np.array([PROBLEM_RATE[k] for k in self.risk_class])
        self.y = (rng.random(self.lambdas.size) < rate).astype(float)
        self.codes = [f"91440106{i:09d}X" for i in range(self.lambdas.size)]

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        u = (rng.integers(0, 2**52, self.lambdas.size) + 0.5) / 2**52  # the spec's PRN grid
        return pareto_select(self.codes, self.lambdas, u)


def test_total_and_variance_by_hand() -> None:
    estimate = ht_total([1.0, 0.0, 1.0], [0.5, 0.25, 1.0])
    assert estimate.value == 3.0  # 1/0.5 + 0 + 1/1
    # Units with λ < 1: y/λ = (2, 0), 1 − λ = (0.5, 0.75); Â = 1 / 1.25 = 0.8;
    # V̂ = 2/1 · (0.5 · 1.2² + 0.75 · 0.8²) = 2.4
    assert estimate.variance == pytest.approx(2.4)
    assert estimate.ci_high - estimate.value == pytest.approx(1.959964 * math.sqrt(2.4))
    assert (estimate.drawn, estimate.observed) == (3, 3)


def test_a_census_has_no_sampling_error() -> None:
    estimate = ht_total([1.0, 0.0, 1.0], [1.0, 1.0, 1.0])
    assert (estimate.value, estimate.variance, estimate.ci_low, estimate.ci_high) == (2, 0, 2, 2)


def test_one_random_unit_gives_no_variance_estimate() -> None:
    assert math.isnan(ht_total([1.0, 1.0], [1.0, 0.5]).variance)
    share = ht_share([1.0, 1.0], [1.0, 0.5], 4)
    assert share.value == 0.75 and math.isnan(share.ci_low)


def test_response_adjustment_by_hand() -> None:
    adjusted = response_adjusted_lambdas([0.5, 0.5, 0.25], [True, False, True])
    # weights 2, 2, 4: 6 of 8 responded, r = 0.75
    assert adjusted[0] == pytest.approx(0.375) and adjusted[2] == pytest.approx(0.1875)
    assert math.isnan(adjusted[1])
    by_class = response_adjusted_lambdas([0.5, 0.5, 0.25], [True, False, True], ["x", "x", "y"])
    assert by_class[0] == pytest.approx(0.25) and by_class[2] == pytest.approx(0.25)


def test_a_class_without_response_is_refused() -> None:
    with pytest.raises(ValueError, match="no observed unit"):
        response_adjusted_lambdas([0.5, 0.5], [True, False], ["x", "y"])
    with pytest.raises(ValueError, match="missing"):
        ht_total([1.0, float("nan")], [0.5, 0.5])


def test_unbiased_with_honest_variance_and_coverage() -> None:
    """Power with 2,000 draws (n = 380, the total's s.d. is 14 % of it): 4 Monte Carlo s.e.
    are 1.3 % of the total, so a bias of 1.9 % fails with probability ≥ 97.7 % and a false
    alarm has probability < 10⁻⁴. The variance check (±15 %, the ratio's own s.e. ≈ 3.5 %)
    fails a variance estimator off by 25 % with probability > 99 %; the coverage check
    (s.e. 0.5 points) fails an interval that covers 90 % or 98.5 % with probability > 99 %."""
    population = Population(seed=5)
    truth = population.y.sum()
    rng = np.random.default_rng(11)
    values, variances, covered, shares = [], [], 0, []
    for _ in range(REPEATS):
        s = population.draw(rng)
        estimate = ht_total(population.y[s], population.lambdas[s])
        values.append(estimate.value)
        variances.append(estimate.variance)
        covered += estimate.ci_low <= truth <= estimate.ci_high
        shares.append(ht_share(population.y[s], population.lambdas[s], 10_000).value)
    mc_sd = float(np.std(values))
    assert abs(np.mean(values) - truth) < 4 * mc_sd / math.sqrt(REPEATS)
    assert abs(np.mean(shares) - truth / 10_000) < 4 * mc_sd / 10_000 / math.sqrt(REPEATS)
    # The Hájek–Rosén estimator should match the true sampling variance closely.
    assert 0.85 < np.mean(variances) / mc_sd**2 < 1.15
    # Coverage: Monte Carlo SE is √(.95·.05/2000) ≈ 0.005; a normal interval on 0/1 data with
    # n = 380 runs about one point short of 95%, so accept 92%–97%.
    assert 0.92 <= covered / REPEATS <= 0.97


def test_non_response_is_corrected_within_classes() -> None:
    """Visits fail more often in high-risk classes, where problems are commoner.

    Power with 1,000 draws: 4 s.e. of the mean are 1.9 % of the total, so an adjustment
    biased by 2.9 % fails with probability ≥ 97.7 %; the wrong estimators below are off by
    far more (the naive one by over 15 %) and must fail the same 4 s.e. bound."""
    population = Population(seed=6)
    truth = population.y.sum()
    rng = np.random.default_rng(12)
    response = np.array([RESPONSE_RATE[k] for k in population.risk_class])
    adjusted, pooled, naive = [], [], []
    for _ in range(REPEATS // 2):
        s = population.draw(rng)
        visited = rng.random(int(s.sum())) < response[s]
        y, lam, cls = population.y[s], population.lambdas[s], population.risk_class[s]
        adjusted.append(ht_total(y, lam, observed=visited, weight_class=cls).value)
        pooled.append(ht_total(y, lam, observed=visited).value)
        naive.append(ht_total(np.where(visited, y, 0.0), lam).value)  # "no visit, no problem"
    se = float(np.std(adjusted)) / math.sqrt(len(adjusted))
    assert abs(np.mean(adjusted) - truth) < 4 * se
    # Without classes the low-response, high-problem class is under-weighted; without any
    # adjustment a fifth of the problems disappear. Both must be visibly wrong.
    assert np.mean(pooled) < truth - 4 * se
    assert np.mean(naive) < 0.85 * truth
