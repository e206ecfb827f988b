"""A coordinated plan's visit probabilities (`population.coordinated_inclusion`) and the
estimates made with them, checked against the draw over many seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inspect_engine.sampling import protocol
from inspect_engine.sampling.population import (
    DomainSizes,
    MonthResults,
    coordinated_inclusion,
    estimate_population,
    pareto_inclusion,
)


def _codes(count: int) -> list[str]:
    return [f"91440106{i:09d}X" for i in range(count)]


def _plan(
    members: list[np.ndarray], lambdas: list[np.ndarray]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [(m, lam, pareto_inclusion(lam)) for m, lam in zip(members, lambdas, strict=True)]


def test_two_small_frames_sharing_a_unit_visit_it_more_often_than_its_lambda() -> None:
    """Two 10-unit frames at 0.2 sharing unit 0 (19 enterprises): DRAW-SPEC's 0.266, not
    the max of λ (0.2); checked against real ie-draw-v1 draws with one seed per plan."""
    members = [np.arange(10), np.r_[0, np.arange(10, 19)]]
    plan = _plan(members, [np.full(10, 0.2), np.full(10, 0.2)])
    made = coordinated_inclusion(plan, 19, reps=20_000, rng=np.random.default_rng(2))
    assert made.pi[0] == pytest.approx(0.266, abs=4 * made.std_error[0] + 0.002)
    assert made.pi[0] - 0.2 > 10 * made.std_error[0]
    assert made.pi[1:].tolist() == pytest.approx([0.2] * 18)  # one frame: exact π, no error
    assert made.std_error[1:].max() == 0.0

    codes = _codes(19)
    seeds = 4000
    visited = 0
    for s in range(seeds):
        u = protocol.prn(protocol.sha256_hex(f"plan|{s}"), codes)
        hit = False
        for rows, lam, _ in plan:
            chosen = protocol.pareto_select([codes[i] for i in rows], lam, u[rows])
            hit |= bool(chosen[0])  # unit 0 comes first in both frames
        visited += hit
    share = visited / seeds
    se = math.sqrt(share * (1 - share) / seeds)
    assert abs(share - made.pi[0]) <= 4 * math.hypot(se, made.std_error[0])


def test_ht_over_a_multi_frame_plan_is_unbiased_and_covers_about_95_percent() -> None:
    """Three small overlapping frames with unequal λ, one shared PRN per enterprise: the
    Horvitz–Thompson share with the simulated plan π is unbiased (within 3 SE of the
    redraws' mean) and its 95 % interval covers the true share in 92–98 % of 500 redraws
    (a binomial 500 at 0.95 has SD 1 %, so a coverage of 90 % or less fails with
    probability above 97 %)."""
    rng = np.random.default_rng(23)
    units = 900
    members = [
        np.arange(0, 500),
        np.arange(300, 800),
        np.r_[np.arange(700, 900), np.arange(0, 100)],
    ]
    lambdas = []
    for rows in members:
        lam = np.where(rows % 7 == 0, 0.3, np.where(rows % 3 == 0, 0.08, 0.03))
        lambdas.append(lam * (round(float(lam.sum())) / float(lam.sum())))
    plan = _plan(members, lambdas)
    made = coordinated_inclusion(plan, units, reps=4000, rng=np.random.default_rng(7))
    risk = np.where(np.arange(units) % 7 == 0, 0.4, 0.08)
    y = rng.random(units) < risk
    truth = float(y.mean())
    sizes = DomainSizes(units, {"H": units})
    codes = np.array(_codes(units))
    redraws, covered, estimates = 500, 0, []
    for _ in range(redraws):
        u = rng.random(units)
        visited = np.zeros(units, dtype=bool)
        for rows, lam, _ in plan:
            m = protocol.sample_size(lam)
            q = protocol.pareto_key(lam, u[rows])
            visited[rows[np.argpartition(q, m - 1)[:m]]] = True
        drawn = np.flatnonzero(visited)
        results = MonthResults(
            codes[drawn],
            np.ones(drawn.size, bool),
            y[drawn],
            np.ones(drawn.size, bool),
            made.pi[drawn],
            np.full(drawn.size, "H"),
            np.full(drawn.size, "440106"),
        )
        out = estimate_population(results, sizes, month="m").overall
        covered += out.ci_low <= truth <= out.ci_high
        estimates.append(out.share)
    spread = float(np.std(estimates)) / math.sqrt(redraws)
    assert abs(float(np.mean(estimates)) - truth) <= 3 * spread
    assert 0.92 <= covered / redraws <= 0.98
    # units in two frames are visited more often than the larger of their π
    shared = np.bincount(np.concatenate(members), minlength=units) > 1
    largest = np.zeros(units)
    for rows, _, pi in plan:
        np.maximum.at(largest, rows, pi)
    excess = made.pi[shared] - largest[shared]
    assert (excess > -3 * made.std_error[shared]).all()
    assert excess.mean() > 10 * made.std_error[shared].max() / math.sqrt(shared.sum())
