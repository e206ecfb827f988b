"""The risk models behind one interface: a scorecard and a gradient-boosted model.

Both are scikit-learn estimators wrapped the same way (`CalibratedRiskModel`):

1. a *core* learns a raw log-odds score from the features, with the inspectors as a
   training-only nuisance (see inspectors.py); scores are always computed for the average
   inspector;
2. a weighted calibrator (Platt sigmoid or isotonic) maps scores of visits the core did not
   train on to probabilities. Held-out visits were made by real teams, so the calibrated
   probability is the chance an inspection finds a problem, averaged over the inspector mix.
   The pipeline calibrates on the backtest's test period (`calibrate`): the core fitted
   before the split day scores the later visits, so no core is fitted only to calibrate.
   `fit` is the self-contained alternative: cross-fitting with folds by enterprise, then
   the core refitted on all visits.

Scorecard core: fixed-bin one-hot encoding of every column plus one column per inspector,
L2 logistic regression. Its coefficients are per-level log-odds points; an enterprise's
contribution of a column is its level's points minus the average points of the training
visits, so contributions say "how much this raises the risk above an average enterprise".

Gradient-boosted core: HistGradientBoostingClassifier on the raw columns (categoricals as
native categories) plus the team's mean inspector effect. Its reasons come from a scorecard
fitted on the same visits (the explanation model): exact additive attributions for a GBM
are too costly at city scale. A scorecard the caller already fitted on exactly these visits
(the backtest's scorecard candidate) is reused rather than fitted again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self, runtime_checkable

import numpy as np
from numpy.typing import NDArray
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from inspect_engine.risk.features import FeatureMatrix
from inspect_engine.risk.inspectors import sigmoid, team_offset
from inspect_engine.risk.labels import Teams

ModelKind = Literal["scorecard", "gbm"]
Calibration = Literal["auto", "sigmoid", "isotonic"]
_P_FLOOR = 1e-5  # calibrated probabilities stay inside [floor, 1 - floor]


@dataclass(frozen=True)
class Contributions:
    """Per reason group, how many log-odds each enterprise is above an average enterprise."""

    values: NDArray[np.float32]  # (n, len(groups))
    groups: tuple[str, ...]


class RiskModel(Protocol):
    """What the pipeline, the backtest and the artefact need from a model."""

    @property
    def kind(self) -> str: ...

    def fit(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None = None,
    ) -> Self: ...

    def predict_proba(self, X: FeatureMatrix) -> NDArray[np.float64]:
        """(n, 2): P(no problem), P(problem), with the inspector effect marginalised."""
        ...

    def raw_score(self, X: FeatureMatrix) -> NDArray[np.float64]:
        """Uncalibrated score, increasing in risk (used to break ties in class cut-offs)."""
        ...

    def probability_from_score(self, raw_score: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(problem) from a raw score, so scoring computes the score only once."""
        ...

    def reasons(self, X: FeatureMatrix) -> Contributions: ...


@runtime_checkable
class HeldOutCalibrated(Protocol):
    """A model whose core and calibrator are fitted in two steps, on different visits."""

    def fit_core(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None = None,
        scorecard: ScorecardCore | None = None,
    ) -> Self: ...

    def raw_score(self, X: FeatureMatrix) -> NDArray[np.float64]: ...

    def calibrate(
        self,
        raw_score: NDArray[np.float64],
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        enterprise: NDArray[np.int64],
    ) -> NDArray[np.float64]: ...

    def predict_proba(self, X: FeatureMatrix) -> NDArray[np.float64]: ...


# --- scorecard ------------------------------------------------------------------------------


class ScorecardCore:
    """Binned one-hot logistic regression, fitted jointly with an effect per inspector.

    The design is one sparse one-hot row per (visit, team member), carrying the visit's
    weight split between its members, so every inspector has his own column and the fit
    separates his strictness from the enterprise's risk in one penalised likelihood. The
    inspector columns are scaled so their L2 penalty is a N(0, inspector_prior_sd²) prior
    (shrinkage for inspectors with few visits). Scores use the average inspector."""

    def __init__(
        self,
        C: float = 1.0,
        inspector_prior_sd: float = 3.0,
        max_iter: int = 500,
    ) -> None:
        self.C = C
        self.inspector_prior_sd = inspector_prior_sd
        self.max_iter = max_iter

    def fit(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None = None,
    ) -> Self:
        sizes = [c.n_levels for c in X.columns]
        self.fitted_on_ = fit_fingerprint(X, y, sample_weight, teams)
        self.groups_ = tuple(dict.fromkeys(c.group for c in X.columns))
        self.group_of_column_ = np.array([self.groups_.index(c.group) for c in X.columns])
        codes = X.level_codes()
        example, inspector, row_weight = _member_rows(len(X), sample_weight, teams)
        n_insp = teams.n_inspectors if teams is not None else 0
        categories = [np.arange(k) for k in sizes]
        columns = codes[example].astype(np.int64)
        if teams is not None:  # last category: visits with no known inspector
            categories.append(np.arange(n_insp + 1))
            columns = np.column_stack([columns, np.where(inspector >= 0, inspector, n_insp)])
        encoder = OneHotEncoder(categories=categories, sparse_output=True, dtype=np.float32)
        design = encoder.fit_transform(columns)
        scale = self.inspector_prior_sd / np.sqrt(self.C)
        offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)
        if teams is not None:  # each row has exactly one inspector entry, the last one
            last = design.indptr[1:] - 1
            if np.any(design.indices[last] < offsets[-1]):
                raise AssertionError("one-hot rows are not in column order")
            design.data[last] = scale
        lr = LogisticRegression(C=self.C, max_iter=self.max_iter)
        # BLAS on one thread: extra threads only add synchronisation on this sparse
        # problem, and spin-waiting BLAS threads slow down the boosting model's OpenMP.
        with threadpool_limits(limits=1, user_api="blas"):
            lr.fit(design, y[example], sample_weight=row_weight)
        coef = lr.coef_[0].astype(np.float64)
        self.points_ = [coef[offsets[j] : offsets[j + 1]] for j in range(len(sizes))]
        effect = coef[offsets[-1] :] * scale  # per inspector, then 'unknown'
        # The average inspector: effects weighted by the visits each made.
        known = inspector >= 0
        average = (
            float(np.average(effect[inspector[known]], weights=row_weight[known]))
            if known.any()
            else 0.0
        )
        self.intercept_ = float(lr.intercept_[0]) + average
        self.inspector_effect_ = np.where(
            np.bincount(inspector[known], minlength=n_insp) > 0, effect[:n_insp] - average, 0.0
        )
        w = sample_weight / sample_weight.sum()
        self.baseline_ = np.array(
            [float(w @ pts[codes[:, j]]) for j, pts in enumerate(self.points_)]
        )
        return self

    def column_points(self, codes: NDArray[np.int16]) -> NDArray[np.float32]:
        """(n, p) points of each enterprise's level minus the training average."""
        out = np.empty(codes.shape, dtype=np.float32)
        for j, pts in enumerate(self.points_):
            out[:, j] = pts[codes[:, j]] - self.baseline_[j]
        return out

    def raw_score(self, X: FeatureMatrix) -> NDArray[np.float64]:
        """Log-odds for the average inspector."""
        codes = X.level_codes()
        score = np.full(len(X), self.intercept_ + float(self.baseline_.sum()))
        score += self.column_points(codes).sum(axis=1, dtype=np.float64)
        return score

    def reasons(self, X: FeatureMatrix) -> Contributions:
        points = self.column_points(X.level_codes())
        values = np.zeros((len(X), len(self.groups_)), dtype=np.float32)
        for j, g in enumerate(self.group_of_column_):
            values[:, g] += points[:, j]
        return Contributions(values, self.groups_)


def fit_fingerprint(
    X: FeatureMatrix,
    y: NDArray[np.bool_],
    sample_weight: NDArray[np.float64],
    teams: Teams | None,
) -> str:
    """Digest of the visits, labels, weights and teams a core was fitted on: a fitted
    scorecard is reused only on exactly the same data."""
    digest = hashlib.blake2b("\x1f".join(X.names).encode(), digest_size=16)
    parts: list[NDArray[Any]] = [X.enterprise, X.as_of, X.values, y, sample_weight]
    if teams is not None:
        parts += [teams.example, teams.inspector]
    for part in parts:
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def _member_rows(
    n: int, weight: NDArray[np.float64], teams: Teams | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """One row per (example, team member), the example's weight split between members;
    examples with no known inspector keep one row with inspector -1."""
    if teams is None:
        return np.arange(n), np.full(n, -1, dtype=np.int64), np.asarray(weight, dtype=float)
    size = np.bincount(teams.example, minlength=n)
    alone = np.flatnonzero(size == 0)
    example = np.r_[teams.example, alone]
    inspector = np.r_[teams.inspector, np.full(len(alone), -1, dtype=np.int64)]
    share = weight[example] / np.maximum(size[example], 1)
    return example.astype(np.int64), inspector.astype(np.int64), share


# --- gradient boosting ----------------------------------------------------------------------


class GradientBoostingCore:
    """HistGradientBoosting on the raw columns plus the team column; scorecard reasons."""

    def __init__(
        self,
        random_state: int,
        max_iter: int = 300,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        scorecard: ScorecardCore | None = None,
    ) -> None:
        self.random_state = random_state
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.scorecard = scorecard

    def _design(self, X: FeatureMatrix, team: NDArray[np.float64] | None) -> NDArray[np.float32]:
        design = np.empty((len(X), X.values.shape[1] + 1), dtype=np.float32)
        design[:, :-1] = X.values
        design[:, -1] = 0.0 if team is None else team
        return design

    def fit(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None = None,
        explainer: ScorecardCore | None = None,
    ) -> Self:
        """`explainer`: a scorecard already fitted on these visits with this core's scorecard
        settings, reused as the explanation model instead of being fitted again."""
        template = self.scorecard or ScorecardCore()
        if explainer is not None and _reusable(explainer, template, X, y, sample_weight, teams):
            self.explainer_ = explainer
        else:
            self.explainer_ = ScorecardCore(**_params(template)).fit(X, y, sample_weight, teams)
        self.inspector_effect_ = self.explainer_.inspector_effect_
        team = team_offset(self.inspector_effect_, teams, len(X)) if teams is not None else None
        categorical = [c.kind == "categorical" for c in X.columns] + [False]
        self.model_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features=np.array(categorical),
            early_stopping=True,
            validation_fraction=0.15,
            random_state=self.random_state,
        )
        self.model_.fit(self._design(X, team), y, sample_weight=sample_weight)
        return self

    def raw_score(self, X: FeatureMatrix) -> NDArray[np.float64]:
        out: NDArray[np.float64] = self.model_.decision_function(self._design(X, None))
        return out.astype(np.float64)

    def reasons(self, X: FeatureMatrix) -> Contributions:
        return self.explainer_.reasons(X)


def _params(core: ScorecardCore) -> dict[str, Any]:
    return {
        "C": core.C,
        "inspector_prior_sd": core.inspector_prior_sd,
        "max_iter": core.max_iter,
    }


def _reusable(
    fitted: ScorecardCore,
    template: ScorecardCore,
    X: FeatureMatrix,
    y: NDArray[np.bool_],
    sample_weight: NDArray[np.float64],
    teams: Teams | None,
) -> bool:
    """Whether `fitted` is what fitting `template` on these visits would give."""
    return _params(fitted) == _params(template) and getattr(
        fitted, "fitted_on_", None
    ) == fit_fingerprint(X, y, sample_weight, teams)


Core = ScorecardCore | GradientBoostingCore


# --- calibration ----------------------------------------------------------------------------


class Calibrator:
    """Weighted map from raw score to probability: Platt sigmoid or isotonic."""

    def __init__(self, method: Literal["sigmoid", "isotonic"]) -> None:
        self.method = method

    def fit(
        self, score: NDArray[np.float64], y: NDArray[np.bool_], weight: NDArray[np.float64]
    ) -> Self:
        if self.method == "sigmoid":
            self.model_: LogisticRegression | IsotonicRegression = LogisticRegression(C=1e6)
            self.model_.fit(score[:, None], y, sample_weight=weight)
        else:
            self.model_ = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            self.model_.fit(score, y.astype(np.float64), sample_weight=weight)
        return self

    def predict(self, score: NDArray[np.float64]) -> NDArray[np.float64]:
        if isinstance(self.model_, LogisticRegression):
            a, b = float(self.model_.coef_[0, 0]), float(self.model_.intercept_[0])
            p = sigmoid(a * score + b)
        else:
            p = np.asarray(self.model_.predict(score), dtype=np.float64)
        return np.clip(p, _P_FLOOR, 1.0 - _P_FLOOR)


# --- the calibrated model -------------------------------------------------------------------


def enterprise_folds(
    enterprise: NDArray[np.int64], n_folds: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Fold of each example; all visits of one enterprise fall in the same fold."""
    unique, inverse = np.unique(enterprise, return_inverse=True)
    fold_of_enterprise = rng.permutation(len(unique)) % n_folds
    return fold_of_enterprise[inverse.reshape(-1)].astype(np.int64)


class CalibratedRiskModel:
    """A calibrated risk model (see module docstring). `kind` picks the core; `params` go
    to the core's constructor; `cv` folds by enterprise cross-fit the calibration."""

    def __init__(
        self,
        kind: ModelKind = "scorecard",
        random_state: int = 0,
        calibration: Calibration = "auto",
        cv: int = 3,
        params: dict[str, Any] | None = None,
        threads: int | None = None,
    ) -> None:
        if cv < 2:
            raise ValueError("cv must be at least 2: calibration needs out-of-fold scores")
        self.kind = kind
        self.random_state = random_state
        self.calibration = calibration
        self.cv = cv
        self.params = dict(params or {})
        self.threads = threads

    def _core(self, seed: int) -> Core:
        if self.kind == "scorecard":
            return ScorecardCore(**self.params)
        if self.kind == "gbm":
            params = dict(self.params)
            scorecard = params.pop("scorecard", None)
            return GradientBoostingCore(random_state=seed, scorecard=scorecard, **params)
        raise ValueError(f"unknown model kind {self.kind!r}")

    def _seeds(self) -> list[int]:
        """[calibration folds, cross-fitted cores …, final core]."""
        state = np.random.SeedSequence(self.random_state).generate_state(self.cv + 2)
        return [int(seed) for seed in state]

    @property
    def calibration_method(self) -> Literal["sigmoid", "isotonic"]:
        if self.calibration == "auto":
            return "sigmoid" if self.kind == "scorecard" else "isotonic"
        return self.calibration

    @property
    def scorecard_(self) -> ScorecardCore:
        """The fitted scorecard: the core itself, or the GBM's explanation model."""
        core = self.core_
        return core if isinstance(core, ScorecardCore) else core.explainer_

    def fit_core(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None = None,
        scorecard: ScorecardCore | None = None,
    ) -> Self:
        """Fit the core only (then `calibrate` on later visits). `scorecard`: one already
        fitted on these visits, reused when its settings are this model's."""
        y = np.asarray(y, dtype=bool)
        w = np.asarray(sample_weight, dtype=np.float64)
        if y.all() or not y.any():
            raise ValueError("training labels need both problems and no-problem visits")
        with threadpool_limits(limits=self.threads):
            core = self._core(self._seeds()[-1])
            if isinstance(core, GradientBoostingCore):
                core.fit(X, y, w, teams, explainer=scorecard)
            elif scorecard is not None and _reusable(scorecard, core, X, y, w, teams):
                core = scorecard
            else:
                core.fit(X, y, w, teams)
        self._set_core(core, X)
        return self

    def calibrate(
        self,
        raw_score: NDArray[np.float64],
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        enterprise: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        """Fit the calibrator on scores of visits the core never trained on, and return each
        visit's probability from a calibrator cross-fitted without its enterprise (`cv`
        folds), so the same visits can also judge the model honestly."""
        y = np.asarray(y, dtype=bool)
        w = np.asarray(sample_weight, dtype=np.float64)
        if y.all() or not y.any():
            raise ValueError("calibration needs both problems and no-problem visits")
        method = self.calibration_method
        self.calibrator_ = Calibrator(method).fit(raw_score, y, w)
        folds = enterprise_folds(enterprise, self.cv, np.random.default_rng(self._seeds()[0]))
        out_of_fold = np.empty(len(y))
        for k in range(self.cv):
            held, rest = folds == k, folds != k
            both = bool(y[rest].any() and not y[rest].all())
            # A fold whose complement lacks an outcome (tiny data) borrows the full calibrator.
            calibrator = (
                Calibrator(method).fit(raw_score[rest], y[rest], w[rest])
                if both
                else (self.calibrator_)
            )
            out_of_fold[held] = calibrator.predict(raw_score[held])
        return out_of_fold

    def use_calibrator(self, calibrator: Calibrator) -> Self:
        """Calibrate with a calibrator fitted elsewhere (the backtest's, for the refitted core)."""
        self.calibrator_ = calibrator
        return self

    def fit(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None = None,
    ) -> Self:
        """Self-contained: cross-fitted cores calibrate, then the core is refitted on all."""
        with threadpool_limits(limits=self.threads):
            return self._fit(X, np.asarray(y, dtype=bool), sample_weight, teams)

    def _fit(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None,
    ) -> Self:
        w = np.asarray(sample_weight, dtype=np.float64)
        if y.all() or not y.any():
            raise ValueError("training labels need both problems and no-problem visits")
        seeds = self._seeds()
        folds = enterprise_folds(X.enterprise, self.cv, np.random.default_rng(seeds[0]))
        out_of_fold = np.empty(len(X))
        for k in range(self.cv):
            train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            fold_teams = teams.subset(train, len(X)) if teams is not None else None
            core = self._core(seeds[k + 1]).fit(X.take(train), y[train], w[train], fold_teams)
            out_of_fold[test] = core.raw_score(X.take(test))
        self.calibrator_ = Calibrator(self.calibration_method).fit(out_of_fold, y, w)
        self._set_core(self._core(seeds[-1]).fit(X, y, w, teams), X)
        return self

    def _set_core(self, core: Core, X: FeatureMatrix) -> None:
        self.core_ = core
        self.inspector_effect_: NDArray[np.float64] = core.inspector_effect_
        self.feature_names_ = X.names

    def raw_score(self, X: FeatureMatrix) -> NDArray[np.float64]:
        self._check_columns(X)
        with threadpool_limits(limits=self.threads):
            return self.core_.raw_score(X)

    def probability_from_score(self, raw_score: NDArray[np.float64]) -> NDArray[np.float64]:
        return self.calibrator_.predict(raw_score)

    def probability(self, X: FeatureMatrix) -> NDArray[np.float64]:
        """P(an inspection finds a problem), inspector effect marginalised."""
        return self.calibrator_.predict(self.raw_score(X))

    def predict_proba(self, X: FeatureMatrix) -> NDArray[np.float64]:
        p = self.probability(X)
        return np.column_stack([1.0 - p, p])

    def reasons(self, X: FeatureMatrix) -> Contributions:
        self._check_columns(X)
        return self.core_.reasons(X)

    def _check_columns(self, X: FeatureMatrix) -> None:
        if X.names != self.feature_names_:
            raise ValueError("feature columns differ from the ones the model was trained on")


class PriorRiskModel:
    """The fallback when no model can be fitted (too few visits, no problem found, nothing
    to learn from): every enterprise gets the history's problem rate, shrunk towards ½ by
    half a visit (Jeffreys), so a history without visits still gives a probability.

    It ranks nobody above anybody: the pipeline classes every enterprise B ("general")
    rather than letting row order decide, and only override rules raise a class."""

    kind = "prior"

    def __init__(self, problems: float, visits: float, reason: str) -> None:
        self.rate = (problems + 0.5) / (visits + 1.0)
        self.reason = reason
        self.inspector_effect_: NDArray[np.float64] = np.zeros(0)

    def fit(
        self,
        X: FeatureMatrix,
        y: NDArray[np.bool_],
        sample_weight: NDArray[np.float64],
        teams: Teams | None = None,
    ) -> Self:
        return self  # nothing to learn: the rate is the model

    def raw_score(self, X: FeatureMatrix) -> NDArray[np.float64]:
        return np.zeros(len(X))

    def probability_from_score(self, raw_score: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.full(len(raw_score), self.rate)

    def predict_proba(self, X: FeatureMatrix) -> NDArray[np.float64]:
        p = self.probability_from_score(self.raw_score(X))
        return np.column_stack([1.0 - p, p])

    def reasons(self, X: FeatureMatrix) -> Contributions:
        groups = tuple(dict.fromkeys(c.group for c in X.columns))
        return Contributions(np.zeros((len(X), len(groups)), dtype=np.float32), groups)
