"""Train the risk model on the city's own history, store it, and score every enterprise.

    result = train_risk_model(enterprises, history, as_of, TrainingConfig(), random_state=7)
    blob = result.artifact.to_bytes()                     # the lead stores this in the DB
    artifact = RiskModelArtifact.from_bytes(blob)
    scores = score_enterprises(artifact, enterprises, history, as_of)
    scores.risk_class, scores.probability, scores.reasons.joined()

Training: observation visits in [as_of - history_days, as_of) are the labels, each with its
features as of its own day; the candidates are fitted once on (a capped sample of) the
visits before the split day, calibrated and judged on the visits after it; the winner's
core is refitted once on (a capped sample of) all visits and keeps the calibrator fitted on
the test period; inspectors are compared with the winner's expectations.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import sklearn
from numpy.typing import NDArray

from inspect_engine.risk.backtest import (
    FINAL_SAMPLE,
    Backtest,
    SelectionMetric,
    choose_model,
    split_day,
)
from inspect_engine.risk.classes import CLASS_LETTERS, ClassAssignment, ClassPolicy, assign_classes
from inspect_engine.risk.features import FeatureConfig, FeatureMatrix, FeatureSpec, build_features
from inspect_engine.risk.inspectors import InspectorDetection, inspector_detection
from inspect_engine.risk.labels import LabelledVisits, capped_sample, labelled_visits
from inspect_engine.risk.models import (
    CalibratedRiskModel,
    Calibration,
    ModelKind,
    PriorRiskModel,
    RiskModel,
    ScorecardCore,
)
from inspect_engine.risk.reasons import Reasons, explain
from inspect_engine.risk.tables import EnterpriseTable, HistoryEvents, as_day

ARTIFACT_FORMAT = 1


@dataclass(frozen=True)
class TrainingConfig:
    """Everything that shapes a trained model; stored in the artefact's metadata."""

    history_days: int = 3 * 365
    candidates: tuple[ModelKind, ...] = ("scorecard", "gbm")
    # The classes rank by the raw score and the calibrator is fitted on the test period
    # either way, so the candidates are compared by the ranking they make (weighted test
    # AUC): across the synthetic city's truth families it picks the better ranker, where
    # the log loss of a calibrator fitted on a quarter of the visits did not
    # (docs/risk-model.md, "Generalisation").
    selection_metric: SelectionMetric = "auc"
    test_fraction: float = 0.25
    budget: float = 0.05
    cv: int = 3  # folds by enterprise that cross-fit the calibrator for the test figures
    max_fit_visits: int | None = 300_000  # cap of the sample each core fits on; None: all
    calibration: Calibration = "auto"
    unknown_inclusion_weight: float = 1.0
    inspector_prior_sd: float = 3.0
    scorecard_C: float = 1.0
    gbm_max_iter: int = 300
    gbm_learning_rate: float = 0.1
    gbm_max_leaf_nodes: int = 15
    gbm_min_samples_leaf: int = 100
    gbm_l2_regularization: float = 1.0
    inspector_z_limit: float = 3.0
    threads: int | None = None  # CPU threads for fitting and scoring; None = all cores
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def model(self, kind: ModelKind, random_state: int) -> CalibratedRiskModel:
        """An unfitted model of the given kind with this configuration."""
        scorecard = ScorecardCore(
            C=self.scorecard_C,
            inspector_prior_sd=self.inspector_prior_sd,
        )
        params: dict[str, Any] = {
            "C": scorecard.C,
            "inspector_prior_sd": scorecard.inspector_prior_sd,
        }
        if kind == "gbm":
            params = {
                "max_iter": self.gbm_max_iter,
                "learning_rate": self.gbm_learning_rate,
                "max_leaf_nodes": self.gbm_max_leaf_nodes,
                "min_samples_leaf": self.gbm_min_samples_leaf,
                "l2_regularization": self.gbm_l2_regularization,
                "scorecard": scorecard,
            }
        return CalibratedRiskModel(
            kind, random_state, self.calibration, self.cv, params, self.threads
        )


@dataclass(frozen=True)
class RiskModelArtifact:
    """A trained model with its feature catalogue and JSON-able metadata."""

    model: RiskModel
    spec: FeatureSpec
    metadata: dict[str, Any]

    def to_bytes(self) -> bytes:
        """Pickle: load only artefacts this engine wrote (pickle runs code when loaded)."""
        return pickle.dumps((ARTIFACT_FORMAT, self), protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModelArtifact:
        version, artifact = pickle.loads(data)
        if version != ARTIFACT_FORMAT or not isinstance(artifact, cls):
            raise ValueError(f"not a risk-model artefact of format {ARTIFACT_FORMAT}")
        return artifact


@dataclass(frozen=True)
class TrainingResult:
    artifact: RiskModelArtifact
    backtest: Backtest | None  # None when no model could be fitted (the prior is used)
    inspectors: InspectorDetection
    labels: LabelledVisits


def training_examples(
    spec: FeatureSpec,
    enterprises: EnterpriseTable,
    history: HistoryEvents,
    as_of: np.datetime64,
    config: TrainingConfig,
) -> tuple[FeatureMatrix, LabelledVisits]:
    """Labelled visits before `as_of` and their features, each as of the visit's day
    (without the columns `spec` records as dropped: what its model was trained on)."""
    as_of = as_day(as_of)
    labels = labelled_visits(
        history.inspections,
        before=as_of,
        since=as_of - np.timedelta64(config.history_days, "D"),
        unknown_weight=config.unknown_inclusion_weight,
    )
    X = build_features(spec, enterprises, history, labels.enterprise, labels.day)
    return X, labels


def train_risk_model(
    enterprises: EnterpriseTable,
    history: HistoryEvents,
    as_of: np.datetime64 | str,
    config: TrainingConfig | None = None,
    random_state: int = 0,
) -> TrainingResult:
    """Backtest the candidates, refit the winner on all visits, report the inspectors.

    Columns no model can learn from here (empty or constant) are dropped first; a history
    no model can be fitted on gets the prior (`PriorRiskModel`), with the reason recorded
    in `metadata["fallback"]`, instead of an error."""
    config = config or TrainingConfig()
    as_of_day = as_day(as_of)
    spec = FeatureSpec.from_table(enterprises, config.features)
    X, labels = training_examples(spec, enterprises, history, as_of_day, config)
    dropped = _uninformative(X, labels, config.test_fraction)
    spec = replace(spec, dropped=tuple(dropped.items()))
    X = X.without(spec.dropped_names)
    backtest: Backtest | None = None
    model: RiskModel
    try:
        backtest, model, n_fit = _fit(X, labels, config, random_state)
        fallback = None
    except NotFittable as exc:
        fallback = str(exc)
        model = PriorRiskModel(float(labels.problem.sum()), float(len(labels)), fallback)
        n_fit = 0
    expected = model.predict_proba(X)[:, 1]
    effect = model.inspector_effect_ if backtest is not None else None
    inspectors = inspector_detection(
        labels.teams, labels.problem, expected, config.inspector_z_limit, effect
    )
    window = [str(labels.day.min()), str(labels.day.max())] if len(labels) else [None, None]
    metadata = {
        "format": ARTIFACT_FORMAT,
        "kind": model.kind,
        "as_of": str(as_of_day),
        "data_window": window,
        "n_visits": len(labels),
        "n_problems": int(labels.problem.sum()),
        "share_pi_known": float(labels.pi_known.mean()) if len(labels) else None,
        "n_enterprises": len(enterprises),
        "feature_names": list(X.names),
        "dropped_features": dict(dropped),
        "fallback": fallback,
        "random_state": random_state,
        "config": _jsonable(asdict(config)),
        "fit": {
            "visits": n_fit,
            "sampled": n_fit < len(labels),
            "calibration": None
            if backtest is None or not isinstance(model, CalibratedRiskModel)
            else f"{model.calibration_method} on the {backtest.n_test} visits "
            f"from {backtest.split_day} (backtest test period)",
        },
        "backtest": backtest.metadata() if backtest is not None else None,
        "inspectors_flagged": {
            "above": int((inspectors.flag > 0).sum()),
            "below": int((inspectors.flag < 0).sum()),
        },
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
    }
    artifact = RiskModelArtifact(model, spec, metadata)
    return TrainingResult(artifact, backtest, inspectors, labels)


class NotFittable(Exception):
    """The history cannot fit or judge a model; the message says why, for the operator."""


MIN_VISITS = 2  # at least one visit each side of the split; the backtest asks for more


def _fit(
    X: FeatureMatrix, labels: LabelledVisits, config: TrainingConfig, random_state: int
) -> tuple[Backtest, CalibratedRiskModel, int]:
    if len(labels) < MIN_VISITS:
        raise NotFittable(
            f"{len(labels)} inspection(s) in the {config.history_days} days before the "
            "scoring date: there is nothing to learn from"
        )
    if not X.columns:
        raise NotFittable("every feature is empty or constant in this history")
    if labels.problem.all() or not labels.problem.any():
        found = "every" if labels.problem.all() else "no"
        raise NotFittable(f"{found} inspection found a problem: nothing tells risk apart")
    factories: dict[str, Callable[[], CalibratedRiskModel]] = {
        kind: partial(config.model, kind, random_state) for kind in config.candidates
    }
    try:
        backtest = choose_model(
            X,
            labels,
            dict(factories),
            config.test_fraction,
            config.selection_metric,
            config.budget,
            config.max_fit_visits,
            random_state,
        )
        model, n_fit = _refit_winner(
            X, labels, backtest, factories[backtest.chosen], config, random_state
        )
    except ValueError as exc:  # the kernels' own checks: too short, one-sided, too few
        raise NotFittable(str(exc)) from exc
    return backtest, model, n_fit


def _uninformative(
    X: FeatureMatrix, labels: LabelledVisits, test_fraction: float
) -> dict[str, str]:
    """Columns empty or constant over all visits, or over the visits the backtest trains
    on (the gradient-boosted model cannot bin a column with no value)."""
    found = X.uninformative()
    if len(labels) >= MIN_VISITS:
        before = np.flatnonzero(labels.day < split_day(labels.day, test_fraction))
        if len(before):
            for name, why in X.take(before).uninformative().items():
                found.setdefault(name, why.replace("every visit", "every visit before the split"))
    return {c.name: found[c.name] for c in X.columns if c.name in found}


def _refit_winner(
    X: FeatureMatrix,
    labels: LabelledVisits,
    backtest: Backtest,
    make: Callable[[], CalibratedRiskModel],
    config: TrainingConfig,
    random_state: int,
) -> tuple[CalibratedRiskModel, int]:
    """The chosen kind's core fitted once on (a capped sample of) all visits, with the
    calibrator the backtest fitted on the test period."""
    winner = backtest.models[backtest.chosen]
    if not isinstance(winner, CalibratedRiskModel):
        raise TypeError("the pipeline's candidates are calibrated risk models")
    rng = np.random.default_rng(np.random.SeedSequence([random_state, FINAL_SAMPLE]))
    rows, weight = capped_sample(labels.problem, labels.weight, config.max_fit_visits, rng)
    fit = labels.subset(rows)
    model = make().fit_core(X.take(rows), fit.problem, weight, fit.teams)
    return model.use_calibrator(winner.calibrator_), len(rows)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class RiskScores:
    """Scores of the enterprise rows as of one day."""

    enterprise: NDArray[np.int64]
    as_of: np.datetime64
    probability: NDArray[np.float32]
    raw_score: NDArray[np.float32]
    classes: ClassAssignment
    has_history: NDArray[np.bool_]
    reasons: Reasons

    @property
    def risk_class(self) -> NDArray[np.int8]:
        return self.classes.risk_class

    def class_letters(self) -> NDArray[np.str_]:
        return np.asarray(CLASS_LETTERS)[self.classes.risk_class]


def score_enterprises(
    artifact: RiskModelArtifact,
    enterprises: EnterpriseTable,
    history: HistoryEvents,
    as_of: np.datetime64 | str,
    policy: ClassPolicy | None = None,
    rows: NDArray[np.integer] | None = None,
    n_reasons: int = 3,
    block_rows: int = 500_000,
) -> RiskScores:
    """Probability, class, override and reasons for each enterprise row (default: all).

    The class shares apply to the rows given, so pass the active enterprises only. Model
    scores and reasons are computed in blocks of `block_rows` to bound memory."""
    policy = policy or ClassPolicy()
    as_of_day = as_day(as_of)
    ent = np.arange(len(enterprises)) if rows is None else np.asarray(rows, dtype=np.int64)
    spec = artifact.spec
    # Override rules read their flag even when training dropped it (a list imported since).
    extra = [rule.column for rule in policy.overrides if rule.column in spec.dropped_names]
    X_all = build_features(spec, enterprises, history, ent, as_of_day, extra=extra)
    X = X_all.model_view(len(spec.model_names))  # what the model was trained on
    blocks = [
        np.arange(lo, min(lo + block_rows, len(ent))) for lo in range(0, len(ent), block_rows)
    ]
    raw = np.concatenate([artifact.model.raw_score(X.take(b)) for b in blocks] or [np.zeros(0)])
    p = artifact.model.probability_from_score(raw)
    flags = {rule.column: X_all.column(rule.column) for rule in policy.overrides}
    if isinstance(artifact.model, PriorRiskModel):
        # The prior ranks nobody: all are "general" (B) rather than classed by row order.
        policy = replace(policy, cutoffs=(0.0, 2.0, 2.0))
    classes = assign_classes(p, flags, policy, tiebreak=raw)
    parts = []
    for b in blocks:
        X_block = X.take(b)
        block_classes = ClassAssignment(
            classes.model_class[b], classes.risk_class[b], classes.override[b], classes.cutoffs
        )
        contributions = artifact.model.reasons(X_block)
        parts.append(explain(X_block, contributions, block_classes, policy, k=n_reasons))
    reasons = Reasons.concatenate(parts) if parts else Reasons(np.zeros((0, 1), np.int32), ())
    return RiskScores(
        enterprise=ent,
        as_of=as_of_day,
        probability=p.astype(np.float32),
        raw_score=raw.astype(np.float32),
        classes=classes,
        has_history=X.has_history,
        reasons=reasons,
    )
