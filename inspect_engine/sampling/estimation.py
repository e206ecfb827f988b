"""Horvitz–Thompson estimation from a Pareto πps draw, with non-response adjustment.

What the random draw buys: since every enterprise in a frame had a known inclusion probability
λ > 0, the findings of the visits estimate the whole frame without bias, e.g. how many
enterprises of the city have a problem and what share that is, with a confidence interval.

All arrays here are over the drawn units (the sample), not the frame:
- ``y``: the value observed at each drawn unit, e.g. 1 if the visit found a problem, else 0;
  ignored (may be NaN) where the unit was not observed;
- ``lambdas``: the λ each unit was drawn with (Pareto's target inclusion probability; the
  true inclusion probability differs from it by a small amount that shrinks as n grows, and
  using λ is the standard practice, Rosén 1997);
- ``observed``: True where the visit took place and y is known. Drawn-but-not-visited units
  (closed, unreachable on the day, …) are non-response, handled by weighting classes.

Formulas (k runs over observed units, w_k = 1/λ_k):

Non-response, weighting-class adjustment. Within each class c (e.g. risk class × district)
the weighted response rate is ``r_c = Σ_{observed k in c} w_k / Σ_{drawn k in c} w_k`` and an
observed unit's probability becomes ``λ*_k = λ_k · r_c`` (its weight w_k / r_c). This is
unbiased if, within a class, whether a drawn unit is visited does not depend on y (missing at
random given the class). See Kalton & Flores-Cervantes (2003), "Weighting methods", Journal of
Official Statistics 19(2), 81–97. With full response λ* = λ.

Total: ``Ŷ = Σ_k y_k / λ*_k`` (Horvitz & Thompson 1952).

Variance: the Hájek–Rosén approximation for fixed-size πps without replacement, as Rosén
gives it for Pareto πps (Rosén, B. 1997, "On sampling with probability proportional to size",
J. Statist. Plann. Inference 62, 159–191; after Hájek, J. 1964, Ann. Math. Statist. 35,
1491–1523). Its population form is ``V ≈ N/(N−1) Σ_U λ(1−λ)(y/λ − A)²`` with
``A = Σ_U λ(1−λ) y/λ / d`` and ``d = Σ_U λ(1−λ)``; the estimator over the m observed units with
λ* < 1 (units with λ* = 1 are a census and add no variance) is
``V̂ = m/(m−1) Σ_k (1 − λ*_k)(y_k/λ*_k − Â)²``, ``Â = Σ_k (1 − λ*_k) y_k/λ*_k / Σ_k (1 − λ*_k)``.
With non-response it treats response within a class as a second random phase and plugs in
λ*, which ignores the estimation of r_c (slightly optimistic for small classes).

Share of a frame of known size N: ``p̂ = Ŷ / N``, ``V̂(p̂) = V̂ / N²``.

Interval: ``value ± z · √V̂`` with z the normal quantile of the level (1.96 for 95%); a share's
interval is clipped to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its estimated variance and a normal-theory confidence interval.

    `variance` (and the interval) is NaN when fewer than two observed units carry randomness.
    """

    value: float
    variance: float
    std_error: float
    ci_low: float
    ci_high: float
    level: float
    drawn: int
    observed: int


def _as_mask(observed: npt.ArrayLike | None, size: int) -> npt.NDArray[np.bool_]:
    if observed is None:
        return np.ones(size, dtype=bool)
    mask = np.asarray(observed, dtype=bool)
    if mask.shape != (size,):
        raise ValueError("`observed` must have one entry per drawn unit")
    return mask


def response_adjusted_lambdas(
    lambdas: npt.ArrayLike,
    observed: npt.ArrayLike | None = None,
    weight_class: npt.ArrayLike | None = None,
) -> FloatArray:
    """λ* = λ · r_c for each drawn unit (r_c: weighted response rate of its class).

    Units that were not observed get NaN. Raises ValueError if a class has no observed unit:
    its weight cannot be carried by anyone, so the classes must be merged first.
    """
    lam = np.asarray(lambdas, dtype=np.float64)
    if lam.ndim != 1 or not ((lam > 0.0) & (lam <= 1.0)).all():
        raise ValueError("λ of drawn units must lie in (0, 1]")
    mask = _as_mask(observed, lam.size)
    labels = np.zeros(lam.size, dtype=np.intp) if weight_class is None else weight_class
    keys, cls = np.unique(np.asarray(labels), return_inverse=True)
    if cls.shape != lam.shape:
        raise ValueError("`weight_class` must have one entry per drawn unit")
    weight = 1.0 / lam
    drawn_weight = np.bincount(cls, weights=weight, minlength=keys.size)
    observed_weight = np.bincount(cls, weights=np.where(mask, weight, 0.0), minlength=keys.size)
    empty = observed_weight == 0.0
    if empty.any():
        raise ValueError(f"weighting class {keys[np.argmax(empty)]!r} has no observed unit")
    rate = observed_weight / drawn_weight
    return np.where(mask, lam * rate[cls], np.nan)


def _interval(value: float, variance: float, level: float) -> tuple[float, float, float]:
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie strictly between 0 and 1")
    se = math.sqrt(variance) if variance >= 0.0 else math.nan
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return se, value - z * se, value + z * se


def ht_total(
    y: npt.ArrayLike,
    lambdas: npt.ArrayLike,
    *,
    observed: npt.ArrayLike | None = None,
    weight_class: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> Estimate:
    """Horvitz–Thompson estimate of the frame total of y, with the Hájek–Rosén variance."""
    values = np.asarray(y, dtype=np.float64)
    lam_star = response_adjusted_lambdas(lambdas, observed, weight_class)
    if values.shape != lam_star.shape:
        raise ValueError("`y` must have one entry per drawn unit")
    mask = ~np.isnan(lam_star)
    if np.isnan(values[mask]).any():
        raise ValueError("y is missing for an observed unit")
    lam_obs, y_obs = lam_star[mask], values[mask]
    expanded = y_obs / lam_obs
    total = float(expanded.sum())
    variance = _hajek_rosen_variance(expanded, lam_obs)
    se, low, high = _interval(total, variance, level)
    return Estimate(total, variance, se, low, high, level, int(values.size), int(mask.sum()))


def _hajek_rosen_variance(expanded: FloatArray, lam: FloatArray) -> float:
    """V̂ = m/(m−1) Σ (1−λ)(y/λ − Â)² over units with λ < 1; see the module docstring."""
    random_part = lam < 1.0
    m = int(random_part.sum())
    if m == 0:
        return 0.0  # a census: nothing was left to chance
    if m == 1:
        return math.nan
    c = 1.0 - lam[random_part]
    z = expanded[random_part]
    a_hat = float((c * z).sum() / c.sum())
    return float(m / (m - 1) * (c * (z - a_hat) ** 2).sum())


def ht_share(
    y: npt.ArrayLike,
    lambdas: npt.ArrayLike,
    frame_size: int,
    *,
    observed: npt.ArrayLike | None = None,
    weight_class: npt.ArrayLike | None = None,
    level: float = 0.95,
) -> Estimate:
    """Share of the frame with y = 1 (y a 0/1 indicator): Ŷ / N with N the known frame size."""
    if frame_size <= 0:
        raise ValueError("the frame size must be positive")
    total = ht_total(y, lambdas, observed=observed, weight_class=weight_class, level=level)
    value = total.value / frame_size
    variance = total.variance / frame_size**2
    se, low, high = _interval(value, variance, level)
    if not math.isnan(se):  # max/min would turn NaN bounds into 0 and 1
        low, high = max(0.0, low), min(1.0, high)
    return Estimate(value, variance, se, low, high, level, total.drawn, total.observed)
