"""The probability a frame promises each unit, and the λ that keep the promise.

Pareto πps (ie-draw-v1) selects a unit with probability close to λ only when the frame's
λ sum to a whole n and n is not small. So a frame's λ are chosen in two steps:

1. `whole_targets`: the task's λ per class (ratio, raised to the floor) are scaled until
   they sum to a whole n ≥ 1 (caps at 1, never below the floor). These targets are the
   promised probabilities π.
2. `calibrate`: each distinct λ's exact π under Pareto πps is computed (`pareto_pi`); where
   it misses its target by more than 1 % relative, the ranking λ are adjusted (fixed-point
   λ ← λ·target/π, re-normalised to the same n) until none does.

Exact π: unit i (ranking λ_i) is selected when its key Q_i is below the m-th smallest key of
the other ranked units (m = n − #certain). With t = log q each key's CDF is logistic,
P(Q_j ≤ e^t) = σ(t + log(λ_j / (1 − λ_j))), so

    π_i = ∫ P(K_{−i}(t) ≤ m − 1) · σ_i(t)(1 − σ_i(t)) dt,

where K_{−i}(t), how many other units fall below e^t, is a sum of one binomial per distinct
λ (a Poisson-binomial grouped by λ). The binomials are convolved on windows of ±12
standard deviations around their means (the mass left out is below 1e-30), so the cost
depends on the number of distinct λ and on √n, not on the size of the frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
from scipy import integrate, signal, special

from inspect_engine.sampling.protocol import format_lambda

FloatArray = npt.NDArray[np.float64]

TOLERANCE = 0.01  # a π further than 1 % (relative) from its target is adjusted
AIM = 0.002  # ... and then adjusted until within 0.2 %
MAX_ITERATIONS = 60
LAMBDA_STEP = 1e-9  # the smallest λ ie-draw-v1 spells (9 decimals)
BELOW_ONE = 1.0 - LAMBDA_STEP
_WINDOW_SD = 12.0


class FloorError(ValueError):
    """The task's floor cannot be honoured by a frame of this size."""


# --------------------------------------------------------------------------- exact π


def pareto_pi(counts: Sequence[int], lambdas: Sequence[float]) -> FloatArray:
    """Exact inclusion probability of a unit of each group (count units at one λ) when the
    frame is drawn by Pareto πps with n = round(Σ count·λ)."""
    c = np.asarray(counts, dtype=np.int64)
    lam = np.clip(np.asarray(lambdas, dtype=np.float64), 0.0, 1.0)
    if c.shape != lam.shape or c.ndim != 1 or (c < 0).any():
        raise ValueError("one non-negative count per λ is needed")
    n = round(math.fsum((c * lam).tolist()))
    pi = np.where(lam >= 1.0, 1.0, 0.0)
    ranked = (lam > 0.0) & (lam < 1.0) & (c > 0)
    m = n - int(c[lam >= 1.0].sum())
    units = int(c[ranked].sum())
    if m < 0 or m > units:
        raise ValueError(f"n = {n} cannot be drawn from this frame")
    if m == units:
        pi[ranked] = 1.0
        return pi
    if m == 0:
        return pi
    index = np.flatnonzero(ranked)
    logit = np.log(lam[index]) - np.log1p(-lam[index])
    for position, g in enumerate(index):
        pi[g] = _group_pi(c[index], logit, position, m)
    return pi


def _group_pi(counts: npt.NDArray[np.int64], logit: FloatArray, own: int, m: int) -> float:
    others = counts.copy()
    others[own] -= 1

    def below(t: float) -> float:
        """P(fewer than m other units have a key below e^t)."""
        p = special.expit(t + logit)
        return _binomial_sum_cdf(others, p, m - 1)

    def integrand(t: float) -> float:
        density = special.expit(t + logit[own]) * special.expit(-(t + logit[own]))
        return float(density * below(t))

    # below(t) falls from 1 to 0 around the t where m keys are expected below e^t: left of
    # that band the integral is the logistic CDF itself, right of it nothing; only the band
    # is integrated numerically, with the places where either factor bends given.
    first, last = float(-logit.max() - 45.0), float(-logit.min() + 45.0)
    cut = _threshold(counts, logit, m, first, last)
    start = _edge(below, first, cut, lambda v: v < 1.0 - 1e-15)
    stop = _edge(below, cut, last, lambda v: v <= 1e-15)
    inner = [x for x in (cut, -logit[own]) if start < x < stop]
    value, _ = integrate.quad(
        integrand,
        start,
        stop,
        points=sorted(set(inner)) or None,
        limit=400,
        epsabs=1e-12,
        epsrel=1e-9,
    )
    value += float(special.expit(start + logit[own]))
    return float(min(max(value, 0.0), 1.0))


def _edge(
    f: Callable[[float], float], lo: float, hi: float, past: Callable[[float], bool]
) -> float:
    """The least t in [lo, hi] (to 1e-6) where `past(f(t))` holds; f is monotone."""
    if past(f(lo)):
        return lo
    for _ in range(60):
        if hi - lo < 1e-6:
            break
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if past(f(mid)) else (mid, hi)
    return hi


def _threshold(
    counts: npt.NDArray[np.int64], logit: FloatArray, m: int, lo: float, hi: float
) -> float:
    """The t where m keys are expected below e^t."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if float((counts * special.expit(mid + logit)).sum()) < m:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _binomial_pmf(k: npt.NDArray[np.int64], count: int, prob: float) -> FloatArray:
    log = (
        special.gammaln(count + 1)
        - special.gammaln(k + 1)
        - special.gammaln(count - k + 1)
        + special.xlogy(k, prob)
        + special.xlog1py(count - k, -prob)
    )
    return np.asarray(np.exp(log), dtype=np.float64)


def _binomial_sum_cdf(counts: npt.NDArray[np.int64], p: FloatArray, k: int) -> float:
    """P(Σ Binomial(counts_g, p_g) ≤ k), convolving each binomial on its ±12 sd window."""
    total = np.ones(1)
    offset = 0
    for count, prob in zip(counts.tolist(), p.tolist(), strict=True):
        if count == 0:
            continue
        mean, sd = count * prob, math.sqrt(count * prob * (1.0 - prob))
        first = max(0, math.floor(mean - _WINDOW_SD * sd - 8))
        last = min(count, math.ceil(mean + _WINDOW_SD * sd + 8))
        pmf = _binomial_pmf(np.arange(first, last + 1), count, prob)
        big = total.size > 64 and pmf.size > 64
        total = signal.oaconvolve(total, pmf) if big else np.convolve(total, pmf)
        offset += first
        if offset > k:
            return 0.0
    if offset + total.size - 1 <= k:
        return 1.0
    upto = k - offset
    return float(min(1.0, max(0.0, float(np.clip(total[: upto + 1], 0.0, None).sum()))))


# --------------------------------------------------------------------------- targets


def whole_targets(counts: Sequence[int], wanted: Sequence[float], floor: float) -> FloatArray:
    """The task's λ per group scaled to sum to a whole n ≥ 1: n = round(Σ count·λ), raised
    to honour the floor and to draw at least one unit; caps at 1 and the floor kept.

    Groups wanted at 1 stay certain. Raises FloorError when no such scaling exists."""
    c = np.asarray(counts, dtype=np.int64)
    want = np.asarray(wanted, dtype=np.float64)
    units = int(c.sum())
    if units == 0:
        return want.copy()
    certain = want >= 1.0
    total = sum((Fraction(float(w)) * int(k) for k, w in zip(c, want, strict=True)), Fraction(0))
    # floor and λ are decimals of at most 9 places, read as binary64: compare at 1e-9
    free_units = int(c[~certain].sum())
    n = max(1, round(total), int(c[certain].sum()) + math.ceil(floor * free_units - 1e-9))
    if n > units:
        raise FloorError(
            f"a frame of {units} units cannot draw {n}: the floor {floor} or the least sample"
            " of one unit asks for more units than the frame holds"
        )
    places = n - int(c[certain].sum())
    free = ~certain & (c > 0)
    if not free.any():
        return want.copy()
    if int(c[free].sum()) == places:
        return np.where(c > 0, 1.0, want)  # the frame is drawn whole
    if floor * int(c[free].sum()) > places + 1e-9:
        raise FloorError(
            f"the floor {floor} over {int(c[free].sum())} units asks for more than the"
            f" {places} places a sample of {n} leaves"
        )

    def mass(scale: float) -> float:
        scaled = np.clip(want[free] * scale, floor, BELOW_ONE)
        return float((c[free] * scaled).sum())

    lo, hi = 0.0, 1.0
    while mass(hi) < places:
        hi *= 2.0
        if hi > 1e12:
            raise FloorError(f"no λ below 1 lets {int(c[free].sum())} units fill {places} places")
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mass(mid) < places else (lo, mid)
    out = want.copy()
    out[free] = np.clip(want[free] * hi, floor, BELOW_ONE)
    return out


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Calibration:
    """Per group: the promised π (target), the λ the protocol draws with, and its exact π."""

    n: int
    targets: tuple[float, ...]
    lambda_texts: tuple[str, ...]
    pi: tuple[float, ...]
    iterations: int

    @property
    def worst_miss(self) -> float:
        """Largest relative |π − target| / target over the groups."""
        misses = [abs(p - t) / t for p, t in zip(self.pi, self.targets, strict=True) if t > 0]
        return max(misses, default=0.0)


def calibrate(counts: Sequence[int], targets: Sequence[float]) -> Calibration:
    """Ranking λ whose exact π are within 1 % of the targets (which sum to a whole n).

    When the targets themselves, spelled as λ, already keep the promise they are drawn as
    they are; otherwise fixed-point steps λ ← λ·target/π, each re-normalised to n (caps
    kept), run until every π is within 0.2 % of its target."""
    c = np.asarray(counts, dtype=np.int64)
    goal = np.asarray(targets, dtype=np.float64)
    present = c > 0
    n = round(math.fsum((c * goal).tolist()))
    texts = [format_lambda(_spellable(x)) for x in goal]
    pi = _pi_of(c, texts)
    iterations = 0
    if _miss(pi, goal, present) > TOLERANCE:
        lam = np.array([float(t) for t in texts])
        while _miss(pi, goal, present) > AIM and iterations < MAX_ITERATIONS:
            iterations += 1
            ranked = present & (goal < 1.0)
            step = np.where(ranked & (pi > 0), lam * goal / np.where(pi > 0, pi, 1.0), lam)
            lam = _renormalised(c, step, ranked, n)
            texts = [format_lambda(_spellable(x)) for x in lam]
            pi = _pi_of(c, texts)
        if _miss(pi, goal, present) > TOLERANCE:
            raise ValueError(
                f"no λ found whose inclusion probabilities are within {TOLERANCE:.0%} of"
                f" {goal.tolist()} (best {pi.tolist()})"
            )
    return Calibration(n, tuple(goal.tolist()), tuple(texts), tuple(pi.tolist()), iterations)


def _spellable(value: float) -> float:
    return min(1.0, max(LAMBDA_STEP, value))


def _pi_of(counts: npt.NDArray[np.int64], texts: Sequence[str]) -> FloatArray:
    return pareto_pi(counts.tolist(), [float(t) for t in texts])


def _miss(pi: FloatArray, goal: FloatArray, present: npt.NDArray[np.bool_]) -> float:
    if not present.any():
        return 0.0
    return float(np.max(np.abs(pi[present] - goal[present]) / goal[present]))


def _renormalised(
    counts: npt.NDArray[np.int64], lam: FloatArray, ranked: npt.NDArray[np.bool_], n: int
) -> FloatArray:
    """λ of the ranked groups scaled (capped below 1) so that the frame sums to n again."""
    fixed = float((counts[~ranked] * lam[~ranked]).sum())
    places = n - fixed
    lo, hi = 0.0, 1.0

    def mass(scale: float) -> float:
        return float((counts[ranked] * np.clip(lam[ranked] * scale, LAMBDA_STEP, BELOW_ONE)).sum())

    while mass(hi) < places and hi < 1e12:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mass(mid) < places else (lo, mid)
    out = lam.copy()
    out[ranked] = np.clip(lam[ranked] * hi, LAMBDA_STEP, BELOW_ONE)
    return out


# --------------------------------------------------------------------------- simulation


def simulated_pi(
    counts: Sequence[int], lambdas: Sequence[float], reps: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """π per group and its standard error from `reps` Pareto draws with uniform PRNs (ties
    of Q have probability 0). For checks of `pareto_pi`, not for records."""
    c = np.asarray(counts, dtype=np.int64)
    lam = np.repeat(np.asarray(lambdas, dtype=np.float64), c)
    group = np.repeat(np.arange(c.size), c)
    n = round(math.fsum(lam.tolist()))
    certain = lam >= 1.0
    m = n - int(certain.sum())
    hits = np.zeros((reps, c.size))
    for r in range(reps):
        u = rng.random(lam.size)
        chosen = certain.copy()
        ranked = np.flatnonzero(~certain & (lam > 0))
        if m > 0:
            q = (u[ranked] * (1.0 - lam[ranked])) / (lam[ranked] * (1.0 - u[ranked]))
            chosen[ranked[np.argpartition(q, m - 1)[:m]]] = True
        hits[r] = np.bincount(group[chosen], minlength=c.size)
    share = hits / np.maximum(c, 1)
    return share.mean(axis=0), share.std(axis=0, ddof=1) / math.sqrt(reps)
