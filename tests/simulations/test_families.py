"""The truth families of the synthetic city: reproducible from the seed, each with its
property, and a model chosen by the backtest that beats the prior where the truth is not
additive. The outside city: reproducible, and another latent model."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from inspect_engine.risk import TrainingConfig
from simulations import catalogue as cat
from simulations.city import generate_city
from simulations.classifier_check import draw_lift, judge, realised_outcomes
from simulations.experiment_city import load_city
from simulations.families import FAMILIES, FamilyTerm, industry_sections
from simulations.outside_city import make_outside_city
from simulations.population import Population, make_offices, make_population
from simulations.truth import TruthParams

N = "3000"


def _digest(city_dir: Path) -> str:
    h = hashlib.sha256()
    for name in sorted(p.name for p in city_dir.iterdir()):
        h.update(name.encode() + (city_dir / name).read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    out = {}
    for family in FAMILIES:
        out[family] = root / family
        generate_city(N, 5, out[family], family=family)
    return out


def test_each_family_is_reproducible_from_its_seed(cities: dict[str, Path], tmp_path: Path) -> None:
    for family, first in cities.items():
        again = tmp_path / family
        generate_city(N, 5, again, family=family)
        assert _digest(again) == _digest(first), family
    other = tmp_path / "other-seed"
    generate_city(N, 6, other, family="drift")
    assert _digest(other) != _digest(cities["drift"])


def test_an_unknown_family_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown truth family 'tree'"):
        generate_city(N, 5, tmp_path, family="tree")


def test_families_change_the_truth_but_not_the_directory(cities: dict[str, Path]) -> None:
    base = (cities["additive"] / "enterprises.csv").read_bytes()
    for family in FAMILIES:
        assert (cities[family] / "enterprises.csv").read_bytes() == base
        assert load_city(cities[family]).truth.params.family == family


def _population(n: int) -> tuple[Population, TruthParams]:
    stages = ("kinds", "attributes", "addresses", "latent", "codes")
    rngs = {s: np.random.default_rng(i) for i, s in enumerate(stages)}
    params = TruthParams()
    offices = make_offices(rngs["kinds"], n)
    return make_population(rngs, n, date(2026, 11, 30), offices, params)[0], params


def test_interactions_are_not_additive() -> None:
    """The same entities at two ages: under the additive truth the family term is 0; under
    `interactions` the effect of age differs by entity type (no sum of main effects can do
    that), for entities away from the other thresholds."""
    pop, params = _population(3000)
    n = pop.n

    def age_effect(family: str) -> np.ndarray:
        term = FamilyTerm(
            family, pop, 36, np.random.default_rng(1),
            params.new_business, params.new_decay_years, params.licence_each,
        )  # fmt: skip
        return term.logit(0, np.full(n, 0.5)) - term.logit(0, np.full(n, 9.0))

    assert np.all(age_effect("additive") == 0.0)
    effect = age_effect("interactions")
    plain = (pop.cluster < 8) & (np.nan_to_num(pop.capital) < 1e6)
    individual, company = pop.etype == cat.INDIVIDUAL, pop.etype == cat.COMPANY
    assert effect[plain & individual].mean() - effect[plain & company].mean() > 0.5


def test_drift_moves_the_risk_of_district_and_industry_over_time() -> None:
    """One shock per (district, industry section), equal within the cell, and a random walk:
    between the first month and the planned month it moves by about 0.15·√36 ≈ 0.9."""
    pop, params = _population(3000)
    n = pop.n
    term = FamilyTerm(
        "drift", pop, 36, np.random.default_rng(1),
        params.new_business, params.new_decay_years, params.licence_each,
    )  # fmt: skip
    age = np.full(n, 4.0)
    first, planned = term.logit(0, age), term.logit(36, age)
    cell = pop.district.astype(np.int64) * 100 + industry_sections()[pop.industry]
    for c in np.unique(cell)[:20]:
        assert np.ptp(planned[cell == c]) == 0.0
    moved = np.unique(planned - first)
    assert 0.5 < moved.std() < 1.5


def test_sparse_histories_hold_about_a_quarter_of_the_inspections(
    cities: dict[str, Path],
) -> None:
    sparse = len(load_city(cities["sparse"]).history.inspections.enterprise)
    full = len(load_city(cities["additive"]).history.inspections.enterprise)
    assert 0.15 < sparse / full < 0.45


def test_the_chosen_model_beats_the_prior_on_a_non_additive_family(
    cities: dict[str, Path],
) -> None:
    """The prior ranks nobody: its classes are all B, its draw's lift is 1 and its AUC 0.5.
    The model the backtest chose must rank the realised outcomes and lift the draw."""
    city = load_city(cities["interactions"])
    t = city.truth
    at = t.index_of(city.codes.tolist())
    risk = np.where(t.shell[at], 1.0, np.where(t.dormant[at], 0.0, t.problem_prob[at]))
    j = judge(
        "interactions", city.table, city.history, str(city.as_of), city.active & t.active[at],
        risk, city.static_logit - city.latent, seed=5, config=TrainingConfig(threads=1),
    )  # fmt: skip
    assert j.chosen in ("scorecard", "gbm")
    prior_lift = draw_lift(np.ones(j.enterprises, dtype=np.int64), risk[city.active & t.active[at]])
    assert prior_lift == pytest.approx(1.0)
    assert j.auc_model > 0.6
    assert j.lift_model > 1.5 * prior_lift


def test_realised_outcomes_follow_the_true_risk() -> None:
    p = np.repeat([0.1, 0.5], 20_000)
    y = realised_outcomes(p, 3)
    assert abs(y[:20_000].mean() - 0.1) < 0.01 and abs(y[20_000:].mean() - 0.5) < 0.015
    assert np.array_equal(y, realised_outcomes(p, 3))


def test_the_outside_city_is_reproducible_and_its_own_model() -> None:
    a, b = make_outside_city(2000, 9), make_outside_city(2000, 9)
    assert np.array_equal(a.true_risk, b.true_risk)
    assert np.array_equal(a.history.inspections.result, b.history.inspections.result)
    assert not np.array_equal(a.true_risk, make_outside_city(2000, 10).true_risk)
    # a tree: the risk takes few values before its noise multiplier …
    assert np.unique(np.round(a.true_score, 2)).size < np.unique(np.round(a.true_risk, 2)).size
    # … and the hidden trait matters: equal directory rows, different risks
    assert np.corrcoef(a.hidden_quality, a.true_risk)[0, 1] < -0.2
    # the "visible" variant: the directory tells most of the risk, the hidden traits less
    v = make_outside_city(2000, 9, "visible")
    assert (
        np.corrcoef(v.true_score, v.true_risk)[0, 1] > np.corrcoef(a.true_score, a.true_risk)[0, 1]
    )
    with pytest.raises(ValueError, match="unknown outside-city variant"):
        make_outside_city(2000, 9, "opaque")


def test_simulate_city_takes_the_family_option(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from inspect_engine.cli import app

    args = ["simulate", "city", "--scale", "600", "--seed", "1", "--out", str(tmp_path / "c")]
    done = CliRunner().invoke(app, [*args, "--family", "sparse"])
    assert done.exit_code == 0, done.output
    assert load_city(tmp_path / "c").truth.params.family == "sparse"
    refused = CliRunner().invoke(app, [*args, "--family", "tree"])
    assert refused.exit_code == 2
    assert "unknown truth family 'tree'" in refused.output
