"""Monte Carlo: over many seeds, each group of equal λ is drawn as often as its exact π says."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from inspect_engine.sampling import protocol
from inspect_engine.sampling.inclusion import pareto_pi

# Mixed λ down to the 0.002 floor, summing to exactly 11 so that the rounding of n plays no
# part: with a fractional sum, n = round(Σλ) moves every inclusion probability by the same
# relative amount (e.g. Σλ = 10.71 draws 11 and lifts each π by about 2.7%).
LAMBDA_TEXTS = (
    ["0.002"] * 5
    + ["0.01"] * 5
    + ["0.03"] * 5
    + ["0.1"] * 5
    + ["0.29"]
    + ["0.3"] * 5
    + ["0.5"] * 5
    + ["0.8"] * 5
    + ["1"] * 2
)
DRAWS = 20_000


def inclusion_counts(codes: list[str], texts: list[str]) -> np.ndarray:
    """How often each unit is selected over DRAWS seeds, through the real PRN path."""
    lambdas = protocol.parse_lambdas(texts)
    counts = np.zeros(len(codes))
    for i in range(DRAWS):
        seed = hashlib.sha256(f"monte-carlo-{i}".encode()).hexdigest()
        counts += protocol.pareto_select(codes, lambdas, protocol.prn(seed, codes))
    return counts


def test_inclusion_frequencies_match_lambda(make_codes: Callable[[int, int], list[str]]) -> None:
    """Power, unit by unit over 20,000 draws: a bias b in one unit's π fails the check with
    probability ≥ 97.7 % once b exceeds the tolerance plus 2 binomial s.d., i.e. a relative
    bias of 6 % at λ = 0.5, 15 % at λ = 0.1, 27 % at λ = 0.03 and 98 % at the 0.002 floor.
    A false alarm needs a 4 s.d. excursion in one of 38 units (< 0.3 %). So this test catches
    a wrong ranking of the heavy units, not a few-percent bias at the floor; that needs the
    units of equal λ pooled (`test_wrong_keys_would_be_caught` shows the power it has)."""
    codes = make_codes(len(LAMBDA_TEXTS), 2026)
    lambdas = protocol.parse_lambdas(LAMBDA_TEXTS)
    assert protocol.sample_size(lambdas) == 11
    frequency = inclusion_counts(codes, LAMBDA_TEXTS) / DRAWS

    # Pooled per λ group against the exact π of this frame (`sampling.inclusion`), which
    # Pareto πps only approximates by λ (relative error of order 1/Σλ(1−λ), Rosén 1997).
    # A group of k units gives k·DRAWS trials; Pareto's fixed n makes them negatively
    # correlated, so the binomial SE is an upper bound. The power for a 3 % relative bias
    # at λ = 0.002 is in test_inclusion.py (a 5,000-unit frame); here the groups are small.
    values, group, sizes = np.unique(lambdas, return_inverse=True, return_counts=True)
    exact = pareto_pi(sizes.tolist(), values.tolist())
    pooled = np.bincount(group, weights=frequency) / sizes
    se = np.sqrt(exact * (1 - exact) / (sizes * DRAWS))
    assert (np.abs(pooled - exact) <= 4 * se + 1e-12).all(), np.c_[values, exact, pooled]
    assert (frequency[lambdas >= 1] == 1).all()


def test_every_unit_at_the_floor_is_drawn_sometimes(
    make_codes: Callable[[int, int], list[str]],
) -> None:
    # 200 units at the 0.002 floor with a few heavier ones: the chance that a given floor
    # unit is missed in all 20,000 draws is (1 − 0.002)^20000 ≈ e^−40.
    texts = ["0.002"] * 200 + ["0.3"] * 4 + ["1"]
    codes = make_codes(len(texts), 99)
    counts = inclusion_counts(codes, texts)
    assert (counts > 0).all(), f"{int((counts == 0).sum())} units never drawn"
    # No frequency check here: with n = 2 the sample is too small for π ≈ λ (d ≈ 0.8); the
    # floor's frequency is checked in the larger frame above.


def test_wrong_keys_would_be_caught(make_codes: Callable[[int, int], list[str]]) -> None:
    """The tolerance above is tight enough to catch simple random sampling (Q = u): with
    2,000 draws, equal π moves the λ = 0.8 units by 0.55, about 60 s.d., so it fails with
    certainty (the assertion is that the check *fails*)."""
    codes = make_codes(len(LAMBDA_TEXTS), 2026)
    lambdas = protocol.parse_lambdas(LAMBDA_TEXTS)
    equal = np.full(len(codes), 9 / 36)  # the 36 ranked units share 9 places equally
    equal[lambdas >= 1] = 1.0
    counts = np.zeros(len(codes))
    for i in range(2_000):
        seed = hashlib.sha256(f"monte-carlo-{i}".encode()).hexdigest()
        counts += protocol.pareto_select(codes, equal, protocol.prn(seed, codes))
    frequency = counts / 2_000
    tolerance = 4 * np.sqrt(lambdas * (1 - lambdas) / 2_000) + 0.03 * lambdas * (1 - lambdas)
    assert not (np.abs(frequency - lambdas) <= tolerance).all()
