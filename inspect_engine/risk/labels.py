"""Labels for the risk model: inspection rows grouped into visits, with 1/π weights.

A visit is one enterprise on one day (进一次门、查多项事): its items may span departments and
tasks. The visit is the unit the model predicts ("does an inspection of this enterprise find
a problem?"):
- it is an observation if any of its items is an observation (see result codes);
- it found a problem if any item's result counts as a problem;
- its inclusion probability is the probability that *any* task of its plan drew the
  enterprise (`visit_probability`, stored when the plan was drawn and recorded on the
  history rows the engine derives from published results). Tasks of one plan share the
  enterprise's permanent random number, so an enterprise in several frames is visited with
  a probability above the largest of its task π (each frame's cut-off is random). Rows
  without it (an imported history: inspections.csv has one π per row, the item's own task
  π) fall back to the largest π of the visit's rows, a lower bound that slightly
  over-weights enterprises in several frames: the honest limit of an imported history;
- its team is the set of distinct known inspectors on its rows.

Weights: a visit with known π represents 1/π enterprises (Horvitz-Thompson). A visit with
unknown π (complaint-driven, targeted, legacy records) is treated as a certainty unit: the
enterprise would have been inspected whatever the draw, so it represents only itself and
gets `unknown_weight` (default 1, i.e. π = 1). See docs/risk-model.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inspect_engine.publication import result_codes
from inspect_engine.risk.tables import Inspections, as_day

# When a visit has several results, the one reported as "the" result: problems first (in
# table order), then no_problem, then the non-observations.
_RESULT_RANK = np.array(
    [
        (0 if code.counts_as_problem else 1 if code.is_observation else 2) * 100 + i
        for i, code in enumerate(result_codes.RESULT_CODES)
    ],
    dtype=np.int64,
)


@dataclass(frozen=True)
class Teams:
    """Which inspectors took part in which example: aligned (example, inspector) pairs."""

    example: NDArray[np.int64]
    inspector: NDArray[np.int64]
    n_inspectors: int

    def subset(self, rows: NDArray[np.int64], n_examples: int) -> Teams:
        """The pairs of the given example rows, renumbered 0..len(rows)-1."""
        new_index = np.full(n_examples, -1, dtype=np.int64)
        new_index[rows] = np.arange(len(rows))
        mapped = new_index[self.example]
        keep = mapped >= 0
        return Teams(mapped[keep], self.inspector[keep], self.n_inspectors)


@dataclass(frozen=True)
class Visits:
    """Inspection rows grouped by (enterprise, day), sorted by enterprise then day."""

    enterprise: NDArray[np.int64]
    day: NDArray[np.datetime64]
    observed: NDArray[np.bool_]
    problem: NDArray[np.bool_]
    result: NDArray[np.int8]  # representative result code (see _RESULT_RANK)
    inclusion_probability: NDArray[np.float64]  # the plan's, else the rows' max π; NaN unknown
    teams: Teams

    def __len__(self) -> int:
        return len(self.enterprise)


def group_visits(inspections: Inspections, with_teams: bool = True) -> Visits:
    """Group item-level inspection rows into visits. Vectorised: one sort, reduceat.
    Without `with_teams` the teams are left empty (features do not need them)."""
    day = inspections.inspected_on.astype(np.int64)
    order = np.lexsort((day, inspections.enterprise))
    ent, d = inspections.enterprise[order], day[order]
    n_rows = len(order)
    if n_rows == 0:
        empty = np.zeros(0, bool)
        return Visits(
            np.zeros(0, np.int64),
            np.zeros(0, "datetime64[D]"),
            empty,
            empty,
            np.zeros(0, np.int8),
            np.zeros(0),
            Teams(np.zeros(0, np.int64), np.zeros(0, np.int64), 0),
        )
    starts = np.flatnonzero(np.r_[True, (ent[1:] != ent[:-1]) | (d[1:] != d[:-1])])
    visit_of_row = np.cumsum(np.r_[True, (ent[1:] != ent[:-1]) | (d[1:] != d[:-1])]) - 1
    result = inspections.result[order]
    observed = np.logical_or.reduceat(result_codes.IS_OBSERVATION[result], starts)
    problem = np.logical_or.reduceat(result_codes.IS_PROBLEM[result], starts)
    best_rank = np.minimum.reduceat(_RESULT_RANK[result], starts)
    representative = (best_rank % 100).astype(np.int8)
    pi_max = _largest_known(inspections.inclusion_probability[order], starts)
    # The plan-level probability where the engine recorded it, else the rows' largest π.
    visit_pi = _largest_known(inspections.visit_probability[order], starts)
    pi_visit = np.where(np.isnan(visit_pi), pi_max, visit_pi)

    inspector = inspections.inspector[order]
    known = (inspector >= 0) & with_teams
    n_inspectors = int(inspector.max()) + 1 if known.any() else 0
    pair_key = np.unique(visit_of_row[known] * max(n_inspectors, 1) + inspector[known])
    pairs = np.divmod(pair_key, max(n_inspectors, 1))
    return Visits(
        enterprise=ent[starts],
        day=d[starts].astype("datetime64[D]"),
        observed=observed,
        problem=problem,
        result=representative,
        inclusion_probability=pi_visit,
        teams=Teams(pairs[0].astype(np.int64), pairs[1].astype(np.int64), n_inspectors),
    )


def _largest_known(values: NDArray[np.float64], starts: NDArray[np.intp]) -> NDArray[np.float64]:
    """Per visit, the largest non-NaN value of its rows (NaN when none is known)."""
    largest = np.fmax.reduceat(np.where(np.isnan(values), -1.0, values), starts)
    return np.where(largest < 0, np.nan, largest)


@dataclass(frozen=True)
class LabelledVisits:
    """Training examples: observation visits with label, weight and team."""

    enterprise: NDArray[np.int64]
    day: NDArray[np.datetime64]
    problem: NDArray[np.bool_]
    weight: NDArray[np.float64]  # 1/π (or unknown_weight), normalised to mean 1
    pi_known: NDArray[np.bool_]
    teams: Teams

    def __len__(self) -> int:
        return len(self.enterprise)

    def subset(self, rows: NDArray[np.int64]) -> LabelledVisits:
        """Rows of the examples (weights are not renormalised)."""
        return LabelledVisits(
            self.enterprise[rows],
            self.day[rows],
            self.problem[rows],
            self.weight[rows],
            self.pi_known[rows],
            self.teams.subset(rows, len(self)),
        )


def inverse_probability_weights(
    inclusion_probability: NDArray[np.float64], unknown_weight: float = 1.0
) -> NDArray[np.float64]:
    """1/π where π is known, `unknown_weight` elsewhere; normalised to mean 1 so that the
    regularisation strength of the models does not depend on the sampling ratios."""
    if unknown_weight <= 0:
        raise ValueError("unknown_weight must be positive (drop such visits upstream instead)")
    pi = np.asarray(inclusion_probability, dtype=float)
    weight = np.where(np.isnan(pi), unknown_weight, 1.0 / np.where(np.isnan(pi), 1.0, pi))
    return weight / weight.mean() if weight.size else weight


def labelled_visits(
    inspections: Inspections,
    before: np.datetime64,
    since: np.datetime64 | None = None,
    unknown_weight: float = 1.0,
) -> LabelledVisits:
    """Observation visits on days in [since, before): the model's training examples."""
    visits = group_visits(inspections)
    keep = visits.observed & (visits.day < as_day(before))
    if since is not None:
        keep &= visits.day >= as_day(since)
    rows = np.flatnonzero(keep)
    pi = visits.inclusion_probability[rows]
    return LabelledVisits(
        enterprise=visits.enterprise[rows],
        day=visits.day[rows],
        problem=visits.problem[rows],
        weight=inverse_probability_weights(pi, unknown_weight),
        pi_known=~np.isnan(pi),
        teams=visits.teams.subset(rows, len(visits)),
    )


def capped_sample(
    problem: NDArray[np.bool_],
    weight: NDArray[np.float64],
    cap: int | None,
    rng: np.random.Generator,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Rows to fit on, about `cap` of them, and their weights.

    Visits that found a problem are scarce and informative: all are kept while they fill
    at most half the cap (else half the cap goes to them). Each class is thinned by
    independent draws at its own rate r, and a kept visit's weight is divided by r, so its
    expected weight is its own: weighted totals, and the 1/π weighting of the population,
    stay unbiased. No cap, or no more visits than the cap: all rows, weights unchanged."""
    problem = np.asarray(problem, dtype=bool)
    weight = np.asarray(weight, dtype=np.float64)
    n = len(problem)
    if cap is not None and cap < 2:
        raise ValueError("the training sample cap must be at least 2 visits")
    if cap is None or n <= cap:
        return np.arange(n, dtype=np.int64), weight
    n_problems = int(problem.sum())
    n_others = n - n_problems
    keep_problems = min(n_problems, max(cap // 2, cap - n_others))
    rate = np.where(
        problem,
        keep_problems / max(n_problems, 1),
        (cap - keep_problems) / max(n_others, 1),
    )
    rows = np.flatnonzero(rng.random(n) < rate).astype(np.int64)
    return rows, weight[rows] / rate[rows]
