"""Scoring the city: artefact, classes, overrides, reasons and the backtest report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from inspect_engine.risk import (
    ClassPolicy,
    RiskModelArtifact,
    TrainingConfig,
    TrainingResult,
    score_enterprises,
    train_risk_model,
    write_backtest_report,
)
from inspect_engine.risk.reasons import NO_HISTORY, NO_RISK_FACTOR
from inspect_engine.risk.synthetic import SimulatedCity, simulate_city


@pytest.fixture(scope="module")
def scores(trained: TrainingResult, city: SimulatedCity):
    return score_enterprises(trained.artifact, city.enterprises, city.history, city.end)


def test_the_artefact_round_trips_with_json_metadata(
    trained: TrainingResult, city: SimulatedCity, scores
) -> None:
    blob = trained.artifact.to_bytes()
    loaded = RiskModelArtifact.from_bytes(blob)
    again = score_enterprises(loaded, city.enterprises, city.history, city.end)
    np.testing.assert_array_equal(again.probability, scores.probability)
    meta = json.loads(json.dumps(loaded.metadata))
    assert meta["kind"] == trained.backtest.chosen
    assert meta["feature_names"] == list(loaded.spec.model_names)
    assert set(meta["feature_names"]) | set(meta["dropped_features"]) == set(loaded.spec.names)
    assert meta["as_of"] == str(city.end)
    assert meta["data_window"][1] < str(city.end)
    assert set(meta["backtest"]["candidates"]) == {"scorecard", "gbm"}
    with pytest.raises(ValueError):
        RiskModelArtifact.from_bytes(__import__("pickle").dumps(("other", 1)))


def test_every_enterprise_gets_a_class_and_reasons(scores, city: SimulatedCity) -> None:
    n = len(city.enterprises)
    assert scores.probability.shape == (n,)
    assert np.all((scores.probability > 0) & (scores.probability < 1))
    assert np.all(scores.reasons.codes[:, 0] >= 0)  # at least one reason each
    joined = scores.reasons.joined()
    assert all(isinstance(text, str) and text for text in joined)
    # The model's classes meet the published shares; overrides only raise classes.
    shares = np.bincount(scores.classes.model_class, minlength=4) / n
    np.testing.assert_allclose(shares, ClassPolicy().shares, atol=1 / n)
    assert np.all(scores.risk_class >= scores.classes.model_class)
    assert np.array_equal(
        scores.risk_class > scores.classes.model_class, scores.classes.override >= 0
    )


def test_enterprises_without_history_say_their_score_is_a_prior(scores) -> None:
    first = scores.reasons.codes[:, 0]
    no_history = ~scores.has_history
    assert no_history.any() and scores.has_history.any()
    texts = scores.reasons.texts
    assert all(texts[c] == NO_HISTORY for c in first[no_history])
    assert NO_HISTORY not in scores.reasons.of(int(np.flatnonzero(scores.has_history)[0]))


def test_listed_enterprises_carry_the_override_as_a_reason(
    trained: TrainingResult, city: SimulatedCity, scores
) -> None:
    from inspect_engine.risk import build_features

    X = build_features(
        trained.artifact.spec, city.enterprises, city.history, scores.enterprise, city.end,
        extra=["serious_violation_listed"],  # no listed enterprise was visited: dropped
    )  # fmt: skip
    serious = X.column("serious_violation_listed") > 0
    assert serious.any()
    assert np.all(scores.risk_class[serious] == 3)
    for row in np.flatnonzero(serious)[:20]:
        reasons = scores.reasons.of(int(row))
        assert any("严重违法失信名单" in r for r in reasons)
        assert sum("严重违法失信名单" in r for r in reasons) == 1  # not repeated
    overridden = np.flatnonzero(scores.classes.override >= 0)
    for row in overridden[:20]:
        assert any("按规则" in r for r in scores.reasons.of(int(row)))


def test_reasons_name_what_raises_the_risk(
    trained: TrainingResult, city: SimulatedCity, scores
) -> None:
    contributions = trained.artifact.model.reasons(
        __import__("inspect_engine.risk", fromlist=["build_features"])
        .build_features(
            trained.artifact.spec, city.enterprises, city.history, scores.enterprise, city.end
        )
        .without(trained.artifact.spec.dropped_names)
    )
    top = contributions.values.max(axis=1)
    quiet = np.flatnonzero((top < 0.05) & scores.has_history & (scores.classes.override < 0))
    assert len(quiet) > 0
    assert scores.reasons.of(int(quiet[0])) == [NO_RISK_FACTOR]
    # The riskiest enterprise's first model reason is its largest contribution's text.
    riskiest = int(np.argmax(np.where(scores.classes.override < 0, scores.probability, 0)))
    assert scores.reasons.of(riskiest)[-1] != NO_RISK_FACTOR
    assert len(scores.reasons.of(riskiest)) >= 2


def test_the_backtest_report_is_written(trained: TrainingResult, tmp_path: Path) -> None:
    path = write_backtest_report(trained.backtest, tmp_path, trained.inspectors)
    text = path.read_text(encoding="utf-8")
    chosen = trained.backtest.candidates[trained.backtest.chosen].test
    assert f"{chosen.auc:.4f}" in text
    assert "| D |" in text
    for png in ("calibration.png", "gains.png", "inspectors.png"):
        assert (tmp_path / png).stat().st_size > 5_000


def test_a_gradient_boosted_model_scores_and_explains_too(tmp_path: Path) -> None:
    city = simulate_city(n_enterprises=6_000, months=24, seed=21, monthly_ratio=0.04)
    config = TrainingConfig(threads=1, candidates=("gbm",), cv=2)
    result = train_risk_model(city.enterprises, city.history, city.end, config, random_state=1)
    artifact = RiskModelArtifact.from_bytes(result.artifact.to_bytes())
    assert artifact.metadata["kind"] == "gbm"
    scores = score_enterprises(artifact, city.enterprises, city.history, city.end)
    assert np.all(scores.reasons.codes[:, 0] >= 0)
    truth = city.true_probability()
    top = np.argsort(-scores.probability)[: len(truth) // 20]
    assert truth[top].sum() / (0.05 * truth.sum()) > 1.8


def test_a_model_refuses_features_it_was_not_trained_on(trained: TrainingResult, city) -> None:
    from inspect_engine.risk import FeatureSpec, build_features

    other = replace(city.enterprises, licence_names=(*city.enterprises.licence_names[:-1], "x"))
    X = build_features(FeatureSpec.from_table(other), other, city.history, np.arange(10), city.end)
    with pytest.raises(ValueError, match="feature columns"):
        trained.artifact.model.predict_proba(X)


def test_scoring_in_blocks_changes_nothing(trained: TrainingResult, city: SimulatedCity, scores):
    rows = np.arange(0, len(city.enterprises), 7)
    small = score_enterprises(
        trained.artifact, city.enterprises, city.history, city.end, rows=rows, block_rows=333
    )
    whole = score_enterprises(
        trained.artifact, city.enterprises, city.history, city.end, rows=rows, block_rows=10**9
    )
    np.testing.assert_array_equal(small.probability, whole.probability)
    np.testing.assert_array_equal(small.risk_class, whole.risk_class)
    assert list(small.reasons.joined()) == list(whole.reasons.joined())
    assert list(whole.reasons.joined()[:50]) == ["；".join(whole.reasons.of(i)) for i in range(50)]
    # Scores do not depend on which other rows are scored; classes (shares) do.
    np.testing.assert_allclose(whole.probability, scores.probability[rows], rtol=1e-6)
