"""The inspector effect: how strict each inspector is, kept out of the enterprise scores.

Inspectors differ greatly in how many problems they record. Double-random assignment makes
that effect separable from the enterprise's own risk, so the models learn it as a nuisance:

- the scorecard gives each inspector his own one-hot column, fitted jointly with the
  enterprise features; the column's penalty acts as a N(0, prior_sd²) prior, so an inspector
  with few visits stays near the average (see models.ScorecardCore);
- effects are centred on the average visit, and scores are computed for that average
  inspector; the gradient-boosted model gets the team's mean effect as a training-only
  column, set to 0 (the average) when scoring;
- the calibrator, fitted on held-out visits made by real teams, then maps scores to the
  probability averaged over the inspector mix (see models.py).

The detection report compares, per inspector, the problems he recorded with the sum of the
enterprises' predicted probabilities (funnel-plot z-score), for supervisors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inspect_engine.risk.labels import Teams


def sigmoid(x: NDArray[np.floating]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))
    return out


def team_offset(effect: NDArray[np.float64], teams: Teams, n_examples: int) -> NDArray[np.float64]:
    """Mean strictness of each example's known inspectors (0 where none is known)."""
    size = np.bincount(teams.example, minlength=n_examples).astype(np.float64)
    total = np.bincount(teams.example, weights=effect[teams.inspector], minlength=n_examples)
    return np.divide(total, size, out=np.zeros(n_examples), where=size > 0)


def centre_effects(effect: NDArray[np.float64], teams: Teams) -> NDArray[np.float64]:
    """Shift so the average visit's inspector has effect 0; unseen inspectors stay at 0."""
    if len(teams.inspector) == 0:
        return effect
    seen = np.bincount(teams.inspector, minlength=len(effect)) > 0
    centred = effect - effect[teams.inspector].mean()
    return np.where(seen, centred, 0.0)


@dataclass(frozen=True)
class InspectorDetection:
    """Per inspector: problems recorded against expectation (one row per inspector seen).

    expected = Σ predicted probability of the enterprises he inspected (with the inspector
    effect marginalised); z = (observed - expected) / sqrt(Σ p(1-p)); flag = +1 above the
    funnel's upper limit, -1 below the lower one, 0 inside."""

    inspector: NDArray[np.int64]
    visits: NDArray[np.int64]
    observed: NDArray[np.float64]
    expected: NDArray[np.float64]
    z: NDArray[np.float64]
    flag: NDArray[np.int8]
    effect: NDArray[np.float64]  # fitted strictness (log-odds), NaN if not fitted
    z_limit: float

    @property
    def ratio(self) -> NDArray[np.float64]:
        """Observed / expected problems (the standardised detection ratio)."""
        out: NDArray[np.float64] = self.observed / np.maximum(self.expected, 1e-12)
        return out


def inspector_detection(
    teams: Teams,
    problem: NDArray[np.bool_],
    expected_probability: NDArray[np.floating],
    z_limit: float = 3.0,
    effect: NDArray[np.float64] | None = None,
) -> InspectorDetection:
    """Detection rate of each inspector against the model's expectation.

    Counts are visits, not weighted: a supervisor asks about the visits the inspector made.
    Each member of a team is credited with the team's result."""
    n_insp = teams.n_inspectors
    ex = teams.example
    p = np.asarray(expected_probability, dtype=np.float64)[ex]
    visits = np.bincount(teams.inspector, minlength=n_insp).astype(np.int64)
    observed = np.bincount(teams.inspector, np.asarray(problem, dtype=float)[ex], n_insp)
    expected = np.bincount(teams.inspector, p, n_insp)
    variance = np.bincount(teams.inspector, p * (1.0 - p), n_insp)
    seen = np.flatnonzero(visits > 0)
    o = observed[seen].astype(np.float64)
    e = expected[seen].astype(np.float64)
    v = variance[seen].astype(np.float64)
    z = np.divide(o - e, np.sqrt(v), out=np.zeros(len(seen)), where=v > 0)
    flag = np.where(z > z_limit, 1, np.where(z < -z_limit, -1, 0)).astype(np.int8)
    fitted = np.full(len(seen), np.nan) if effect is None else effect[seen]
    return InspectorDetection(seen, visits[seen], o, e, z, flag, fitted, z_limit)
