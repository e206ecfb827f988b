"""Models: choice by backtest, inspector effect, weighting, calibration and lift against a
simulated truth."""

from __future__ import annotations

from typing import Self

import numpy as np
import pytest

from inspect_engine.risk import (
    FeatureSpec,
    TrainingConfig,
    TrainingResult,
    build_features,
    evaluate,
    inspector_detection,
)
from inspect_engine.risk.backtest import choose_model
from inspect_engine.risk.features import Column, FeatureMatrix
from inspect_engine.risk.labels import LabelledVisits, Teams
from inspect_engine.risk.models import CalibratedRiskModel, Contributions
from inspect_engine.risk.pipeline import training_examples
from inspect_engine.risk.synthetic import SimulatedCity, simulate_city

CONFIG = TrainingConfig(threads=1)


class Memoriser:
    """Recalls each training enterprise's labels: a perfect fit that cannot generalise."""

    kind = "memoriser"

    def fit(
        self, X: FeatureMatrix, y: np.ndarray, sample_weight: np.ndarray, teams: Teams | None = None
    ) -> Self:
        self.seen_ = dict(zip(X.enterprise.tolist(), y.tolist(), strict=True))
        self.fitted_on_ = X.as_of.max()
        return self

    def raw_score(self, X: FeatureMatrix) -> np.ndarray:
        return np.array([float(self.seen_.get(e, 0.5)) for e in X.enterprise.tolist()])

    def probability_from_score(self, raw_score: np.ndarray) -> np.ndarray:
        return np.clip(raw_score, 0.02, 0.98)

    def predict_proba(self, X: FeatureMatrix) -> np.ndarray:
        p = self.probability_from_score(self.raw_score(X))
        return np.column_stack([1 - p, p])

    def reasons(self, X: FeatureMatrix) -> Contributions:
        return Contributions(np.zeros((len(X), 1), np.float32), ("memory",))


def test_the_model_is_chosen_by_the_backtest_not_the_training_fit(
    trained: TrainingResult, city: SimulatedCity
) -> None:
    spec = FeatureSpec.from_table(city.enterprises)
    X, labels = training_examples(spec, city.enterprises, city.history, city.end, CONFIG)
    memoriser = Memoriser()
    backtest = choose_model(
        X,
        labels,
        {"scorecard": lambda: CONFIG.model("scorecard", 0), "memoriser": lambda: memoriser},
    )
    train, test = backtest.candidates["memoriser"], backtest.candidates["scorecard"]
    assert train.train.log_loss < test.train.log_loss  # the memoriser wins in-sample …
    assert backtest.chosen == "scorecard"  # … and loses where it counts
    assert memoriser.fitted_on_ < backtest.split_day  # it never saw a test visit
    # The pipeline records both figures and chose by the test ones.
    meta = trained.artifact.metadata["backtest"]
    chosen = meta["chosen"]
    others = [k for k in meta["candidates"] if k != chosen]
    for other in others:
        assert (
            meta["candidates"][chosen]["test"]["log_loss"]
            <= (meta["candidates"][other]["test"]["log_loss"])
        )


def _district_shift(city: SimulatedCity, use_teams: bool) -> float:
    """log(mean score in the strict inspectors' district / mean score elsewhere)."""
    spec = FeatureSpec.from_table(city.enterprises)
    X, labels = training_examples(spec, city.enterprises, city.history, city.end, CONFIG)
    model = CONFIG.model("scorecard", 0).fit(
        X, labels.problem, labels.weight, labels.teams if use_teams else None
    )
    everyone = build_features(
        spec, city.enterprises, city.history, np.arange(len(city.enterprises)), city.end
    )
    p = model.predict_proba(everyone)[:, 1]
    strict = city.enterprises.district == city.enterprises.districts.index("440106")
    return float(np.log(p[strict].mean() / p[~strict].mean()))


def test_inspector_strictness_does_not_shift_enterprise_scores(strict_city: SimulatedCity) -> None:
    # Same city, same random draws, but the inspectors who work mostly in 440106 are average.
    neutral = simulate_city(
        n_enterprises=20_000, months=36, seed=12, strict_district="440106", strict_shift=0.0
    )
    with_effect = _district_shift(strict_city, True) - _district_shift(neutral, True)
    without = _district_shift(strict_city, False) - _district_shift(neutral, False)
    assert without > 0.4  # the test can fail: ignoring inspectors blames the district
    assert abs(with_effect) < 0.2


def test_strict_inspectors_are_flagged_for_supervisors(strict_city: SimulatedCity) -> None:
    spec = FeatureSpec.from_table(strict_city.enterprises)
    X, labels = training_examples(
        spec, strict_city.enterprises, strict_city.history, strict_city.end, CONFIG
    )
    model = CONFIG.model("scorecard", 0).fit(X, labels.problem, labels.weight, labels.teams)
    report = inspector_detection(
        labels.teams, labels.problem, model.predict_proba(X)[:, 1], 3.0, model.inspector_effect_
    )
    strict = np.isin(report.inspector, np.flatnonzero(strict_city.strictness == 1.5))
    assert strict.sum() == 20
    assert (report.flag[strict] == 1).mean() >= 0.7
    assert (report.flag[~strict] != 0).mean() <= 0.1
    assert report.effect[strict].mean() > 1.0  # log-odds above the average inspector
    # Observed against expected, recomputed from the visits of one strict inspector.
    p = model.predict_proba(X)[:, 1]
    i = int(np.flatnonzero(strict)[0])
    visits = labels.teams.example[labels.teams.inspector == report.inspector[i]]
    observed, expected = labels.problem[visits].sum(), p[visits].sum()
    z = (observed - expected) / np.sqrt(np.sum(p[visits] * (1 - p[visits])))
    assert (report.observed[i], report.expected[i]) == pytest.approx((observed, expected))
    assert report.z[i] == pytest.approx(z)


def _one_column_matrix(x: np.ndarray) -> FeatureMatrix:
    column = Column("x", "numeric", "x", edges=(0.5,), texts=("低", "高", "不详"))
    n = len(x)
    day = np.full(n, np.datetime64("2024-01-01"))
    return FeatureMatrix(
        x[:, None].astype(np.float32), (column,), np.arange(n), day, np.ones(n, bool)
    )


def test_weighting_by_inverse_inclusion_probability_recovers_the_population_rate() -> None:
    # A hidden trait u raises both the risk and the chance of being inspected; the model
    # cannot see u. Only 1/π weights make the average prediction the population's rate.
    rng = np.random.default_rng(4)
    n = 200_000
    u = rng.random(n) < 0.2
    x = (rng.random(n) < 0.5).astype(float)
    p_true = np.where(u, 0.4, 0.05) + 0.05 * x
    pi = np.where(u, 0.5, 0.05)
    sampled = np.flatnonzero(rng.random(n) < pi)
    y = rng.random(len(sampled)) < p_true[sampled]
    X = _one_column_matrix(x[sampled])
    population = p_true.mean()
    means = {}
    for name, w in (("weighted", 1 / pi[sampled]), ("unweighted", np.ones(len(sampled)))):
        model = CalibratedRiskModel("scorecard", 0, cv=2, threads=1).fit(X, y, w / w.mean())
        means[name] = float(model.predict_proba(_one_column_matrix(x))[:, 1].mean())
    assert means["weighted"] == pytest.approx(population, rel=0.05)
    assert means["unweighted"] > 1.5 * population


def test_calibration_by_decile_is_within_sampling_error(trained: TrainingResult) -> None:
    """Power: the test visits give each decile an s.e. such that 3 s.e. is 15 % of the
    predicted rate in the riskiest decile and up to 70 % in the least risky one, so this
    catches a gross miscalibration (a decile off by 3 s.e. + 2 s.e.: ≥ 97.7 %), not a
    subtle one; the next test checks 15 % per decile against the simulated truth. At a
    perfect calibration, 10 deciles at 3 s.e. would fail a fresh city with probability
    ≈ 2.7 %; this city's seeds are fixed, so the outcome is deterministic."""
    test = trained.backtest.candidates[trained.backtest.chosen].test
    se = np.sqrt(test.decile_predicted * (1 - test.decile_predicted) / test.decile_n_eff)
    gap = np.abs(test.decile_observed - test.decile_predicted)
    assert np.all(gap <= 3 * se), (test.decile_predicted, test.decile_observed, se)
    assert test.decile_predicted[-1] > 2 * test.decile_predicted[0]  # it does discriminate


def test_scores_are_calibrated_against_the_simulated_truth(
    trained: TrainingResult, city: SimulatedCity
) -> None:
    from inspect_engine.risk import score_enterprises

    scores = score_enterprises(trained.artifact, city.enterprises, city.history, city.end)
    truth = city.true_probability()
    for rows in np.array_split(np.argsort(scores.probability), 10):
        assert scores.probability[rows].mean() == pytest.approx(truth[rows].mean(), rel=0.15)


def test_the_riskiest_five_percent_hold_twice_the_problems_of_a_random_five_percent(
    trained: TrainingResult, city: SimulatedCity
) -> None:
    from inspect_engine.risk import score_enterprises

    scores = score_enterprises(trained.artifact, city.enterprises, city.history, city.end)
    truth = city.true_probability()
    budget = int(0.05 * len(truth))
    top = np.argsort(-scores.probability, kind="stable")[:budget]
    lift = truth[top].sum() / (0.05 * truth.sum())
    assert lift >= 2.0
    # The backtest measures the same on the test visits, by the observed outcomes.
    assert trained.backtest.candidates[trained.backtest.chosen].test.lift >= 2.0


def test_evaluate_computes_weighted_metrics() -> None:
    p = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    y = np.array([True, False, True, False, False])
    w = np.array([1.0, 1.0, 2.0, 1.0, 5.0])
    m = evaluate(p, y, w, budget=0.2)
    assert m.base_rate == pytest.approx(3 / 10)
    assert m.brier == pytest.approx(np.sum(w * (p - y) ** 2) / w.sum())
    # Riskiest 20% of the weight: the first two rows (weight 2 of 10); 1 of 3 problems.
    assert m.share_found == pytest.approx(1 / 3)
    assert m.lift == pytest.approx((1 / 3) / 0.2)


def test_labels_need_both_outcomes() -> None:
    X = _one_column_matrix(np.zeros(10))
    with pytest.raises(ValueError, match="both"):
        CalibratedRiskModel().fit(X, np.zeros(10, bool), np.ones(10))


def test_subsets_keep_teams_aligned(trained: TrainingResult) -> None:
    labels: LabelledVisits = trained.labels
    rows = np.arange(0, len(labels), 3)
    sub = labels.subset(rows)
    # Every team pair of the subset points at the same visit as before.
    before = {
        (int(e), int(i)) for e, i in zip(labels.teams.example, labels.teams.inspector, strict=True)
    }
    for e, i in zip(sub.teams.example, sub.teams.inspector, strict=True):
        assert (int(rows[e]), int(i)) in before
