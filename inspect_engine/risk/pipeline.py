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
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import numpy as np
import sklearn
from numpy.typing import NDArray

from inspect_engine.risk.backtest import FINAL_SAMPLE, Backtest, SelectionMetric, choose_model
from inspect_engine.risk.classes import CLASS_LETTERS, ClassAssignment, ClassPolicy, assign_classes
from inspect_engine.risk.features import FeatureConfig, FeatureMatrix, FeatureSpec, build_features
from inspect_engine.risk.inspectors import InspectorDetection, inspector_detection
from inspect_engine.risk.labels import LabelledVisits, capped_sample, labelled_visits
from inspect_engine.risk.models import (
    CalibratedRiskModel,
    Calibration,
    ModelKind,
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
    selection_metric: SelectionMetric = "log_loss"
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
    backtest: Backtest
    inspectors: InspectorDetection
    labels: LabelledVisits


def training_examples(
    spec: FeatureSpec,
    enterprises: EnterpriseTable,
    history: HistoryEvents,
    as_of: np.datetime64,
    config: TrainingConfig,
) -> tuple[FeatureMatrix, LabelledVisits]:
    """Labelled visits before `as_of` and their features, each as of the visit's day."""
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
    """Backtest the candidates, refit the winner on all visits, report the inspectors."""
    config = config or TrainingConfig()
    as_of_day = as_day(as_of)
    spec = FeatureSpec.from_table(enterprises, config.features)
    X, labels = training_examples(spec, enterprises, history, as_of_day, config)
    factories: dict[str, Callable[[], CalibratedRiskModel]] = {
        kind: partial(config.model, kind, random_state) for kind in config.candidates
    }
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
    expected = model.predict_proba(X)[:, 1]
    inspectors = inspector_detection(
        labels.teams, labels.problem, expected, config.inspector_z_limit, model.inspector_effect_
    )
    metadata = {
        "format": ARTIFACT_FORMAT,
        "kind": model.kind,
        "as_of": str(as_of_day),
        "data_window": [str(labels.day.min()), str(labels.day.max())],
        "n_visits": len(labels),
        "n_problems": int(labels.problem.sum()),
        "share_pi_known": float(labels.pi_known.mean()),
        "n_enterprises": len(enterprises),
        "feature_names": list(X.names),
        "random_state": random_state,
        "config": _jsonable(asdict(config)),
        "fit": {
            "visits": n_fit,
            "sampled": n_fit < len(labels),
            "calibration": f"{model.calibration_method} on the {backtest.n_test} visits "
            f"from {backtest.split_day} (backtest test period)",
        },
        "backtest": backtest.metadata(),
        "inspectors_flagged": {
            "above": int((inspectors.flag > 0).sum()),
            "below": int((inspectors.flag < 0).sum()),
        },
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
    }
    artifact = RiskModelArtifact(model, spec, metadata)
    return TrainingResult(artifact, backtest, inspectors, labels)


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
    X = build_features(artifact.spec, enterprises, history, ent, as_of_day)
    blocks = [
        np.arange(lo, min(lo + block_rows, len(ent))) for lo in range(0, len(ent), block_rows)
    ]
    raw = np.concatenate([artifact.model.raw_score(X.take(b)) for b in blocks] or [np.zeros(0)])
    p = artifact.model.probability_from_score(raw)
    flags = {rule.column: X.column(rule.column) for rule in policy.overrides}
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
