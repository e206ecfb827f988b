"""A coordinated plan's visit probabilities (`population.coordinated_inclusion`, counting
hits, and `visit_inclusion`, Rao–Blackwellised) and the estimates made with them, checked
against the draw over many seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from inspect_engine.sampling import protocol
from inspect_engine.sampling.population import (
    VISIT_INCLUSION_MAX_REPS,
    DomainSizes,
    MonthResults,
    coordinated_inclusion,
    estimate_population,
    pareto_inclusion,
    replicate_cap,
    visit_inclusion,
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


# --------------------------------------------------------------------------- Rao–Blackwell


Plan = list[tuple[np.ndarray, np.ndarray, np.ndarray]]


def _hit_rate(plan: Plan, units: int, reps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """P(visited) of every unit by counting hits over `reps` coordinated draws, vectorised
    over the draws (the reference: it only replays the selection rule)."""
    rng = np.random.default_rng(seed)
    hits = np.zeros(units)
    done = 0
    while done < reps:
        batch = min(100_000, reps - done)
        u = rng.random((batch, units))
        visited = np.zeros((batch, units), dtype=bool)
        for rows, lam, _ in plan:
            n = protocol.sample_size(lam)
            if n == 0:
                continue
            ranked = (lam > 0.0) & (lam < 1.0)
            safe = np.where(ranked, lam, 0.5)
            q = np.where(ranked, protocol.pareto_key(safe, u[:, rows]), np.inf)
            q = np.where(lam >= 1.0, -np.inf, q)  # certain units first
            chosen = np.argpartition(q, n - 1, axis=1)[:, :n]
            visited[np.arange(batch)[:, None], rows[chosen]] = True
        hits += visited.sum(axis=0)
        done += batch
    share = hits / reps
    return share, np.sqrt(share * (1.0 - share) / reps)


def _overlapping_plan() -> tuple[Plan, int]:
    """Three frames over 24 units, unequal λ, a certain unit (λ = 1) in the second."""
    members = [np.arange(0, 12), np.arange(6, 18), np.r_[np.arange(14, 24), np.arange(0, 3)]]
    lambdas = [
        np.where(np.arange(12) % 3 == 0, 0.45, 0.15),
        np.r_[1.0, np.full(11, 0.2)],
        np.where(np.arange(13) % 2 == 0, 0.3, 0.1),
    ]
    return _plan(members, lambdas), 24


def test_rao_blackwell_agrees_with_counting_hits_on_small_plans() -> None:
    """Every enterprise of several frames: the Rao–Blackwellised π is within 4 combined SE
    of the hit rate of 400,000 coordinated draws (a false alarm over these 13 units has
    probability below 0.1 %), and its replicates are far less noisy than hits."""
    plan, units = _overlapping_plan()
    shared = np.flatnonzero(np.bincount(np.concatenate([p[0] for p in plan]), minlength=units) > 1)
    made = visit_inclusion(
        plan, units, shared, rng=np.random.default_rng(5), min_reps=4000, max_reps=4000
    )
    hits, hit_se = _hit_rate(plan, units, 400_000, seed=6)
    certain = shared == 6  # λ = 1 in the second frame: visited whatever the draw
    assert made.reps == 4000 and made.pi[certain].tolist() == [1.0]
    assert made.std_error[certain].tolist() == [0.0] and (made.std_error[~certain] > 0).all()
    gap = np.abs(made.pi - hits[shared])
    assert (gap <= 4 * np.hypot(made.std_error, hit_se[shared])).all(), gap
    # per replicate, the conditional probability varies much less than a 0/1 hit
    per_rep_sd = (made.std_error * math.sqrt(made.reps))[~certain]
    hit_sd = np.sqrt(hits[shared] * (1 - hits[shared]))[~certain]
    assert (per_rep_sd < 0.5 * hit_sd).all()
    # and a unit of two frames is visited more often than the larger of its frame π
    largest = np.zeros(units)
    for rows, _, pi in plan:
        np.maximum.at(largest, rows, pi)
    assert (made.pi - largest[shared] >= -3 * made.std_error).all()
    assert (made.pi - largest[shared]).mean() > 0.02


def test_two_frames_sharing_a_unit_by_rao_blackwell() -> None:
    """DRAW-SPEC's example again, with the new kernel: 0.266, not 0.2; the others exact."""
    members = [np.arange(10), np.r_[0, np.arange(10, 19)]]
    plan = _plan(members, [np.full(10, 0.2), np.full(10, 0.2)])
    made = visit_inclusion(plan, 19, np.arange(19), rng=np.random.default_rng(2))
    assert made.pi[0] == pytest.approx(0.266, abs=4 * made.std_error[0] + 0.001)
    assert made.std_error[0] <= 0.01 * made.pi[0] or made.reps == VISIT_INCLUSION_MAX_REPS
    assert made.pi[1:].tolist() == pytest.approx([0.2] * 18)
    assert made.std_error[1:].max() == 0.0
    again = visit_inclusion(plan, 19, np.arange(19), rng=np.random.default_rng(2))
    assert again.pi.tolist() == made.pi.tolist()  # one seed, one answer


def test_a_frame_that_never_or_always_selects_leaves_the_other_frames_exact_pi() -> None:
    """A unit shared with a frame that selects nobody (Σλ = 0.4 rounds to n = 0) is visited
    with its first frame's exact Pareto π (averaging the conditional cut-off over the
    others recovers `pareto_inclusion`); shared with a frame that selects every ranked
    unit, it is certain, with no error."""
    lam_a = np.r_[0.35, np.full(9, 0.15), np.full(6, 0.05)]  # Σ = 2.0
    members = [np.arange(16), np.r_[0, 16, 17, 18]]
    never = _plan(members, [lam_a, np.full(4, 0.1)])
    made = visit_inclusion(
        never, 19, [0, 1], rng=np.random.default_rng(3), min_reps=3000, max_reps=3000
    )
    exact = pareto_inclusion(lam_a)[0]
    assert made.pi[0] == pytest.approx(exact, abs=4 * made.std_error[0])
    assert made.std_error[0] < 0.01 and made.pi[1] == pareto_inclusion(lam_a)[1]
    always = _plan(members, [lam_a, np.full(4, 0.9)])  # Σ = 3.6: n = 4 of 4 ranked units
    made = visit_inclusion(always, 19, [0], rng=np.random.default_rng(3))
    assert made.pi.tolist() == [1.0] and made.std_error.tolist() == [0.0]


def test_rao_blackwell_is_unbiased_and_its_interval_covers_about_95_percent() -> None:
    """Unit 0 of the three-frame plan (in two frames), estimated alone (no pooling) with 64
    replicates under 400 seeds: the mean is within 3 SE of the truth (the hit rate of 10⁶
    draws) and the ±1.96 SE interval covers it in 91–98.5 % of the seeds (a binomial 400
    at 0.95 has SD 1.1 %; a true coverage of 87 % or less passes with probability < 1 %)."""
    plan, units = _overlapping_plan()
    truth, truth_se = _hit_rate(plan, units, 1_000_000, seed=11)
    estimates, covered = [], 0
    for seed in range(400):
        made = visit_inclusion(
            plan, units, [0], rng=np.random.default_rng(1000 + seed), min_reps=64, max_reps=64
        )
        estimates.append(made.pi[0])
        half = 1.96 * math.hypot(made.std_error[0], truth_se[0])
        covered += abs(made.pi[0] - truth[0]) <= half
    spread = float(np.std(estimates)) / math.sqrt(len(estimates))
    assert abs(float(np.mean(estimates)) - truth[0]) <= 3 * math.hypot(spread, truth_se[0])
    assert 0.91 <= covered / 400 <= 0.985


def test_visit_inclusion_refuses_targets_outside_the_frames() -> None:
    plan = _plan([np.arange(5)], [np.full(5, 0.4)])
    with pytest.raises(ValueError, match="none of the frames"):
        visit_inclusion(plan, 6, [5], rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match="twice"):
        visit_inclusion(plan, 6, [1, 1], rng=np.random.default_rng(1))


def test_a_tiny_task_stops_at_the_cap_and_states_its_error() -> None:
    """A 10-unit task sharing enterprises with a large frame: its cut-off moves so much that
    1 % is out of reach; the kernel stops at the cap its plan's size allows (each replicate
    redraws every frame) and the error it reached is what is stored."""
    members = [np.arange(3000), np.arange(10)]
    plan = _plan(members, [np.full(3000, 0.01), np.full(10, 0.2)])
    made = visit_inclusion(plan, 3000, np.arange(10), rng=np.random.default_rng(5))
    assert made.reps == VISIT_INCLUSION_MAX_REPS  # a small plan may take the most
    assert (made.std_error > 0.01 * made.pi).any() and (made.std_error < 0.05).all()
    assert made.pi == pytest.approx(np.full(10, 0.2), abs=0.003 + 4 * made.std_error.max())
    # the same plan as part of a city: twelve frames of 9.9 million rows in all
    assert replicate_cap(9_900_000) == 121 and replicate_cap(3010) == VISIT_INCLUSION_MAX_REPS
    assert replicate_cap(10**10) == 32  # never below the least
