"""Training cost: the capped sample, fits shared between steps, held-out calibration and
reproducibility."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import log_loss

from inspect_engine.risk import TrainingConfig, TrainingResult, train_risk_model
from inspect_engine.risk.backtest import choose_model
from inspect_engine.risk.labels import capped_sample
from inspect_engine.risk.models import CalibratedRiskModel, GradientBoostingCore, ScorecardCore
from inspect_engine.risk.pipeline import training_examples
from inspect_engine.risk.synthetic import SimulatedCity, simulate_city


def _visits(rng: np.random.Generator, n: int, problem_rate: float):
    problem = rng.random(n) < problem_rate
    weight = 1.0 / rng.choice([0.01, 0.03, 0.2, 1.0], size=n)  # 1/π of mixed designs
    return problem, weight / weight.mean()


def test_the_capped_sample_keeps_weighted_class_totals_unbiased() -> None:
    """Power with 300 samples: 4 s.e. of the mean thinned total are 0.9 % of it, so a
    sampler biased by 1.4 % fails with probability ≥ 97.7 % (false alarm < 10⁻⁴); the
    second bound (1 %) caps the bias whatever the noise."""
    problem, weight = _visits(np.random.default_rng(3), 20_000, 0.1)
    full = np.array([weight[~problem].sum(), weight[problem].sum()])
    totals, sizes = [], []
    for seed in range(300):
        rows, w = capped_sample(problem, weight, 5_000, np.random.default_rng(seed))
        totals.append([w[~problem[rows]].sum(), w[problem[rows]].sum()])
        sizes.append(len(rows))
    mean = np.mean(totals, axis=0)
    se = np.std(totals, axis=0) / np.sqrt(len(totals))
    assert abs(mean[0] - full[0]) < 4 * se[0]  # the thinned class, in expectation
    assert abs(mean[0] - full[0]) < 0.01 * full[0]
    np.testing.assert_allclose(np.array(totals)[:, 1], full[1])  # problems all kept, exactly
    assert abs(np.mean(sizes) - 5_000) < 50


def test_problems_take_at_most_half_the_cap_when_they_are_many() -> None:
    problem, weight = _visits(np.random.default_rng(4), 10_000, 0.7)
    rows, w = capped_sample(problem, weight, 2_000, np.random.default_rng(0))
    kept = problem[rows]
    assert 900 < kept.sum() < 1_100 and 900 < (~kept).sum() < 1_100
    assert w[kept].sum() == pytest.approx(weight[problem].sum(), rel=0.05)
    assert w[~kept].sum() == pytest.approx(weight[~problem].sum(), rel=0.1)


def test_no_cap_or_small_data_keeps_every_visit_as_it_is() -> None:
    problem, weight = _visits(np.random.default_rng(5), 1_000, 0.2)
    for cap in (None, 1_000, 5_000):
        rows, w = capped_sample(problem, weight, cap, np.random.default_rng(0))
        np.testing.assert_array_equal(rows, np.arange(1_000))
        np.testing.assert_array_equal(w, weight)
    with pytest.raises(ValueError, match="at least 2"):
        capped_sample(problem, weight, 1, np.random.default_rng(0))


@pytest.fixture(scope="module")
def small_city() -> SimulatedCity:
    return simulate_city(n_enterprises=6_000, months=24, seed=21, monthly_ratio=0.04)


def _train(city: SimulatedCity, seed: int, cap: int) -> TrainingResult:
    config = TrainingConfig(threads=1, max_fit_visits=cap, gbm_max_iter=60)
    return train_risk_model(city.enterprises, city.history, city.end, config, random_state=seed)


def test_training_is_reproducible_from_its_seed(small_city: SimulatedCity) -> None:
    cap = 2_000
    first, again, other = (_train(small_city, s, cap) for s in (1, 1, 2))
    assert first.artifact.metadata["fit"]["sampled"]  # the cap is in play
    assert first.artifact.metadata["fit"]["visits"] < len(first.labels)
    X, _ = training_examples(
        first.artifact.spec,
        small_city.enterprises,
        small_city.history,
        small_city.end,
        TrainingConfig(),
    )
    p = first.artifact.model.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(p, again.artifact.model.predict_proba(X)[:, 1])
    assert first.artifact.to_bytes() == again.artifact.to_bytes()
    assert not np.array_equal(p, other.artifact.model.predict_proba(X)[:, 1])


def test_each_core_is_fitted_once_and_the_scorecard_is_shared(trained: TrainingResult) -> None:
    models = trained.backtest.models
    gbm, scorecard = models["gbm"], models["scorecard"]
    assert isinstance(gbm, CalibratedRiskModel) and isinstance(scorecard, CalibratedRiskModel)
    assert isinstance(gbm.core_, GradientBoostingCore)
    assert gbm.core_.explainer_ is scorecard.core_  # one scorecard fit serves both candidates
    final = trained.artifact.model
    assert isinstance(final, CalibratedRiskModel)
    chosen = models[trained.backtest.chosen]
    assert isinstance(chosen, CalibratedRiskModel)
    assert final.calibrator_ is chosen.calibrator_  # calibrated on the test period
    assert final.core_ is not chosen.core_  # the core was refitted on all visits


def test_a_scorecard_fitted_on_other_visits_is_not_reused(
    trained: TrainingResult, city: SimulatedCity
) -> None:
    X, labels = training_examples(
        trained.artifact.spec, city.enterprises, city.history, city.end, TrainingConfig()
    )
    half = np.arange(len(labels) // 2)
    sub = labels.subset(half)
    other = ScorecardCore().fit(X.take(half), sub.problem, sub.weight, sub.teams)
    model = TrainingConfig(threads=1).model("scorecard", 0)
    model.fit_core(X, labels.problem, labels.weight, labels.teams, scorecard=other)
    assert model.core_ is not other
    same = TrainingConfig(threads=1).model("scorecard", 0)
    same.fit_core(X.take(half), sub.problem, sub.weight, sub.teams, scorecard=other)
    assert same.core_ is other


def test_test_period_figures_come_from_calibrators_that_did_not_see_the_visit() -> None:
    # Scores that carry no information: a calibrator that saw the visits fits their noise.
    rng = np.random.default_rng(8)
    n = 3_000
    score = rng.normal(size=n)
    y = rng.random(n) < 0.2
    w = np.ones(n)
    enterprise = np.arange(n)
    model = CalibratedRiskModel("gbm", 0, cv=3)
    held_out = model.calibrate(score, y, w, enterprise)
    in_sample = model.calibrator_.predict(score)
    base = np.full(n, y.mean())
    assert log_loss(y, in_sample) < log_loss(y, base)  # isotonic memorises noise …
    assert log_loss(y, held_out) > log_loss(y, base)  # … and cannot when it did not see it


def test_a_test_period_without_problems_is_refused_with_its_day(
    trained: TrainingResult, city: SimulatedCity
) -> None:
    X, labels = training_examples(
        trained.artifact.spec, city.enterprises, city.history, city.end, TrainingConfig()
    )
    day = trained.backtest.split_day
    quiet = replace(labels, problem=labels.problem & (labels.day < day))
    with pytest.raises(ValueError, match=f"visits from {day}"):
        choose_model(
            X, quiet, {"scorecard": lambda: TrainingConfig(threads=1).model("scorecard", 0)}
        )
