"""Judging the risk model against a city's hidden truth, as issue 17 item 3 asks.

The model is trained and scored on what a user would import (directory and history); only
then are its scores compared with the truth, which it never sees:

- **AUC against realised outcomes**: every active enterprise is visited once, on paper, by
  an average team checking one standard item; the outcome is drawn from its true risk (one
  seeded Bernoulli each). The model's raw score and the true risk are each ranked against
  the same outcomes, so the two AUCs differ only by what the model does not know.
- **The draw at the default ratios**: classes at the default shares (A 65 %, B 25.5 %,
  C 8 %, D 1.5 %, the override rules applied as in production) and the ratio profile
  1 : 3 : 10 : 30 of the city's tasks; a draw with λ ∝ the class ratio has mean true risk
  Σλp / Σλ exactly (Pareto πps: π ≈ λ), divided by the frame's mean true risk: the lift.
  The true model's lift uses classes by the true risk at the same shares (no overrides).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

from inspect_engine.risk import TrainingConfig, score_enterprises, train_risk_model
from inspect_engine.risk.classes import ClassPolicy, assign_classes
from inspect_engine.risk.tables import EnterpriseTable, HistoryEvents

RATIO_PROFILE = np.array([1.0, 3.0, 10.0, 30.0])  # A–D, as the city's tasks write them
AUC_MARGIN = 0.03  # target: the model's AUC within this of the true model's
LIFT_SHARE = 0.85  # target: the draw's lift at least this share of the true model's


@dataclass(frozen=True)
class Judgement:
    """One city: the model's and the truth's figures, and whether the targets are met."""

    city: str
    enterprises: int
    visits: int  # labelled visits the model was trained on
    chosen: str  # the model kind training chose
    candidates: dict[str, float]  # backtest test log loss per candidate
    auc_model: float
    auc_truth: float  # the true model: the truth's formula on what the directory shows
    auc_oracle: float  # the whole truth, hidden traits included
    lift_model: float
    lift_truth: float
    lift_oracle: float
    lift_model_classes: float  # the model's own classes, before the override rules
    overridden: float  # share of the enterprises an override rule raised
    seconds: float

    @property
    def auc_met(self) -> bool:
        return self.auc_model >= self.auc_truth - AUC_MARGIN

    @property
    def lift_met(self) -> bool:
        return self.lift_model >= LIFT_SHARE * self.lift_truth

    @property
    def lift_share(self) -> float:
        return self.lift_model / self.lift_truth


def draw_lift(risk_class: NDArray[np.integer], true_risk: NDArray[np.floating]) -> float:
    """Mean true risk of a draw at the default ratios over the frame's mean true risk."""
    lam = RATIO_PROFILE[np.asarray(risk_class, dtype=np.int64)]
    p = np.asarray(true_risk, dtype=np.float64)
    return float(np.dot(lam, p) / lam.sum() / p.mean())


def truth_classes(score: NDArray[np.floating]) -> NDArray[np.int8]:
    """Classes by a true score (any monotone scale) at the default shares, no overrides."""
    policy = ClassPolicy(overrides=())
    return assign_classes(np.asarray(score, dtype=np.float64), {}, policy).risk_class


def realised_outcomes(true_risk: NDArray[np.floating], seed: int) -> NDArray[np.bool_]:
    """One visit of every enterprise, drawn from its true risk (seeded)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 17]))
    return np.asarray(rng.random(len(true_risk)) < true_risk)


def judge(
    city: str,
    table: EnterpriseTable,
    history: HistoryEvents,
    as_of: str,
    active: NDArray[np.bool_],
    true_risk: NDArray[np.floating],
    true_score: NDArray[np.floating],
    *,
    seed: int,
    config: TrainingConfig | None = None,
) -> Judgement:
    """Train on the city as a user would, score its active enterprises, then compare.
    `true_risk` (the oracle's probability) and `true_score` (the true model's ranking: the
    truth's formula without its hidden traits) are per row of `table`; only the active rows
    are read."""
    started = time.perf_counter()
    config = config or TrainingConfig(threads=1)
    result = train_risk_model(table, history, as_of, config, random_state=seed)
    rows = np.flatnonzero(active)
    scores = score_enterprises(result.artifact, table, history, as_of, rows=rows)
    p = np.asarray(true_risk, dtype=np.float64)[rows]
    known = np.asarray(true_score, dtype=np.float64)[rows]
    outcome = realised_outcomes(p, seed)
    backtest = result.artifact.metadata["backtest"] or {}
    candidates = {
        kind: float(figures["test"]["log_loss"])
        for kind, figures in (backtest.get("candidates") or {}).items()
    }
    return Judgement(
        city=city,
        enterprises=len(rows),
        visits=int(result.artifact.metadata["n_visits"]),
        chosen=str(result.artifact.metadata["kind"]),
        candidates=candidates,
        auc_model=float(roc_auc_score(outcome, scores.raw_score)),
        auc_truth=float(roc_auc_score(outcome, known)),
        auc_oracle=float(roc_auc_score(outcome, p)),
        lift_model=draw_lift(scores.risk_class, p),
        lift_truth=draw_lift(truth_classes(known), p),
        lift_oracle=draw_lift(truth_classes(p), p),
        lift_model_classes=draw_lift(scores.classes.model_class, p),
        overridden=float((scores.classes.override >= 0).mean()),
        seconds=time.perf_counter() - started,
    )
