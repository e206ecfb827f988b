"""Equal chances: over many seeds, interchangeable inspectors are drawn equally often.

Why the chi-square bound is right here. In each seed a fixed number k of the n
interchangeable inspectors is drawn (loads are balanced, so nobody takes two places while
someone else takes none), uniformly at random if the kernel is fair. For one seed the
indicator vector X has Var(X_i) = p(1-p), p = k/n, and Cov(X_i, X_j) = -p(1-p)/(n-1): the
covariance is p(1-p) * n/(n-1) * (I - J/n), a scaled projection of rank n-1. Summing T
independent seeds, the counts c_i satisfy, by the central limit theorem,
    S = (n-1)/n * sum_i (c_i - T p)^2 / (T p (1-p))  ~  chi-square with n-1 degrees of freedom.
We reject at the 0.1% level; the seeds are fixed, so the test is deterministic, and a biased
kernel (ties broken by index, costs not random, load ignored) fails it by a wide margin.

Power with T = 300 seeds (noncentral chi-square, 9 degrees of freedom, level 0.1%): a kernel
that favours one inspector by δ in his chance per seed (the others losing δ/9 each) has
noncentrality T·δ²/(p(1-p)) and is caught with probability 90 % at δ = 0.135: drawn 0.935
instead of 0.8 among the eight, or 0.335 instead of 0.2 on one visit. The cross-office test
(each inspector alone, Bonferroni z at 3.94) catches an inspector drawn 0.65 instead of 0.5
per seed with probability 90 %. Smaller favours need more seeds: the bound shrinks as 1/√T.

The randomness is keyed (ie-teams-v1): a pair's cost is SHA-256 of (team seed, credit code,
inspector id), so the draws vary from seed to seed only through the team seed; the T seeds
are T plan seeds bound to one staffing hash, as in production.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import chi2, norm

from inspect_engine.assignment import Inspector, Month, OfficeMode, Visit, assign, team_seed

InspectorFactory = Callable[..., Inspector]
VisitFactory = Callable[..., Visit]
SEEDS = [team_seed(f"{k:04x}-fairness", "ab" * 32) for k in range(300)]
ALPHA = 0.001


def equal_chance_statistic(counts: np.ndarray, draws: int, picked: int) -> float:
    """S above, for counts of n inspectors over `draws` seeds with `picked` drawn per seed."""
    n = counts.size
    p = picked / n
    return float((n - 1) / n * np.sum((counts - draws * p) ** 2) / (draws * p * (1 - p)))


def test_interchangeable_inspectors_are_drawn_equally_often(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
) -> None:
    # 10 inspectors, 4 visits of 2: each visit draws 2 of 10 (p = 0.2); with full balance
    # the 8 places go to 8 different inspectors (p = 0.8 per seed overall).
    directory = [make_inspector(f"I{k}", unit="440115-01", capacity=2) for k in range(10)]
    visits = [make_visit(f"V{k}", mode=OfficeMode.ANY) for k in range(4)]
    ids = [i.inspector_id for i in directory]
    drawn = np.zeros(len(ids))
    per_visit = np.zeros((len(ids), len(visits)))
    for seed in SEEDS:
        result = assign(visits, directory, month, seed)
        members = [m for team in result.teams.values() for m in team]
        for member in set(members):
            drawn[ids.index(member)] += 1
        for col, visit in enumerate(visits):
            for member in result.teams[visit.visit_id]:
                per_visit[ids.index(member), col] += 1
        assert len(members) == len(set(members)) == 8  # balanced: nobody takes two

    critical = chi2.ppf(1 - ALPHA, df=len(ids) - 1)
    for col in range(len(visits)):
        assert equal_chance_statistic(per_visit[:, col], len(SEEDS), picked=2) < critical
    assert equal_chance_statistic(drawn, len(SEEDS), picked=8) < critical


def test_cross_office_draw_is_equal_across_offices(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    # Three offices of four inspectors, one visit in each office: every inspector may serve
    # the two visits outside his office. The setting is symmetric, so each of the 12 must be
    # drawn with probability 6/12 per seed.
    offices = ["440106-01", "440111-01", "440115-01"]
    directory = [make_inspector(f"{o}-{k}", unit=o, capacity=1) for o in offices for k in range(4)]
    visits = [make_visit(f"V-{o}", unit=o) for o in offices]
    ids = [i.inspector_id for i in directory]
    drawn = np.zeros(len(ids))
    for seed in SEEDS:
        result = assign(visits, directory, month, seed)
        for visit in visits:
            team = result.teams[visit.visit_id]
            assert all(not m.startswith(visit.unit) for m in team)
            for member in team:
                drawn[ids.index(member)] += 1
    # Offices make the draws of different inspectors dependent in a way the chi-square above
    # does not model, so bound each inspector alone: his count is exactly Binomial(T, 1/2)
    # whatever the dependence, and a Bonferroni union bound over the 12 keeps the level.
    z = (drawn - len(SEEDS) / 2) / np.sqrt(len(SEEDS) / 4)
    assert np.abs(z).max() < norm.ppf(1 - ALPHA / (2 * len(ids)))
