"""The closed-loop experiment: its truth continuation, the truth of a design, and a reduced run
(3,000 entities, 3 months, 60 visits a month) with its invariants and determinism."""

from __future__ import annotations

import inspect
import math
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest

from inspect_engine.publication import result_codes
from simulations.city import generate_city
from simulations.experiment import ExperimentReport, MonthMetrics, run_experiment
from simulations.experiment_city import City, World, day_of, load_city
from simulations.experiment_design import STRATEGIES, VisitTruth, expected_findings
from simulations.truth import IS_PROBLEM, TruthParams, draw_results

SEED = 5
MONTHS = 3
BUDGET = 60


@pytest.fixture(scope="module")
def city_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city3000")
    generate_city("3000", SEED, out)
    return out


@pytest.fixture(scope="module")
def loaded(city_dir: Path) -> City:
    return load_city(city_dir)


@pytest.fixture(scope="module")
def report(city_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ExperimentReport:
    out = tmp_path_factory.mktemp("experiment")
    return run_experiment(
        MONTHS, SEED, out, scale="3000", budget=BUDGET, replicates=5, city_dir=city_dir
    )


def _rows(report: ExperimentReport, strategy: str) -> list[MonthMetrics]:
    return report.of(strategy)


# --------------------------------------------------------------------------- the truth


def test_world_reproduces_the_truth_of_the_planned_month(loaded: City) -> None:
    """Taking the moving terms out and putting them back at as_of gives truth.csv's p."""
    p = World(loaded).problem_probability(day_of(loaded.as_of) + 1)
    truth = loaded.truth.problem_prob[loaded.truth.index_of(loaded.codes.tolist())]
    assert np.abs(p - truth).max() < 1e-3


def test_world_moves_on_with_recorded_problems(loaded: City) -> None:
    world = World(loaded)
    first = day_of(loaded.as_of) + 1
    before = world.logit(first)
    quiet = np.flatnonzero(world.last_problem_day < first - 400)[:5]
    world.record_problems(quiet, np.full(quiet.size, first + 3, dtype=np.int64))
    after = world.logit(first + 31)
    jump = loaded.truth.params.recent_problem
    assert (after[quiet] - before[quiet]) == pytest.approx(np.full(quiet.size, jump), abs=0.01)


def _visit_truth(rng: np.random.Generator, units: int) -> VisitTruth:
    return VisitTruth(
        p=rng.uniform(0.05, 0.6, units),
        shell=rng.random(units) < 0.05,
        dormant=rng.random(units) < 0.05,
        active=rng.random(units) > 0.05,
        report_missing=rng.random(units) < 0.1,
        item_weight=np.array([1.0, 0.5, 2.0, 1.0]),
        item_is_info=np.array([True, False, False, False]),
        strictness=np.array([0.4, 0.8, 1.0, 1.3, 2.1]),
    )


def test_found_probability_follows_the_truths_rules() -> None:
    """The closed form against `draw_results` itself, item by item, team by team."""
    rng = np.random.default_rng(1)
    units, repeats = 300, 800
    truth = _visit_truth(rng, units)
    cover = rng.random((units, 4)) < 0.5
    cover[:, 1] |= ~cover.any(axis=1)
    unit, item = np.nonzero(cover)
    found = np.zeros(units)
    for _ in range(repeats):
        team = rng.choice(truth.strictness, units)
        codes = draw_results(
            rng,
            TruthParams(),
            p=truth.p[unit],
            weight=truth.item_weight[item],
            strictness=team[unit],
            is_info=truth.item_is_info[item],
            report_missing=truth.report_missing[unit],
            exited=~truth.active[unit],
            shell=truth.shell[unit],
            dormant=truth.dormant[unit],
        )
        found += np.bincount(unit, weights=IS_PROBLEM[codes], minlength=units) > 0
    expected = truth.found_probability(cover, np.arange(units))
    simulated = found / repeats
    assert simulated.mean() == pytest.approx(expected.mean(), abs=0.003)  # 4 standard errors
    assert np.abs(simulated - expected).max() < 5 * math.sqrt(0.25 / repeats)
    assert (expected[~truth.active] == 0).all()
    assert (expected[truth.shell & truth.active] == 1).all()


@pytest.mark.parametrize("coordinated", [True, False])
def test_expected_findings_average_over_the_task_sets(coordinated: bool) -> None:
    """With a shared seed a unit is drawn by {t: u < π_t}; with independent seeds each task
    draws it on its own. E[y | drawn] must average the visits these task sets make."""
    rng = np.random.default_rng(2)
    units, tasks, repeats = 200, 3, 3000
    truth = _visit_truth(rng, units)
    task_pi = np.where(rng.random((units, tasks)) < 0.7, rng.uniform(0.05, 0.6, (units, tasks)), 0)
    task_pi[:, 0] = np.maximum(task_pi[:, 0], 0.05)  # every unit is in some frame
    cover = rng.random((tasks, units, 4)) < 0.4
    expected = expected_findings(task_pi, cover, truth, coordinated=coordinated)
    total, drawn = np.zeros(units), np.zeros(units)
    everyone = np.arange(units)
    for _ in range(repeats):
        u = rng.random((units, 1)) if coordinated else rng.random((units, tasks))
        chosen = u < task_pi
        hit = chosen.any(axis=1)
        carried = np.asarray((cover.transpose(1, 0, 2) & chosen[:, :, None]).any(axis=1))
        total[hit] += truth.found_probability(carried[hit], everyone[hit])
        drawn += hit
    simulated = total / drawn
    assert np.average(simulated, weights=drawn) == pytest.approx(
        np.average(expected, weights=drawn), abs=0.003
    )
    assert np.abs(simulated - expected)[drawn > 300].max() < 0.06


# --------------------------------------------------------------------------- a reduced run


def test_reduced_run_writes_the_report(report: ExperimentReport) -> None:
    names = {path.name: path for path in report.files}
    text = names["report.md"].read_text(encoding="utf-8")
    assert (
        f"inspect-engine simulate experiment --months {MONTHS} --seed {SEED} --scale 3000" in text
    )
    for chart in ("problems_per_visit.png", "estimates.png", "burden.png", "model_auc.png"):
        assert names[chart].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({chart})" in text
    lines = names["months.csv"].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + MONTHS * len(STRATEGIES)


def test_reduced_run_is_deterministic(report: ExperimentReport, city_dir: Path) -> None:
    again = run_experiment(
        MONTHS,
        SEED,
        Path("unused"),
        scale="3000",
        budget=BUDGET,
        replicates=5,
        sensitivity=False,
        city_dir=city_dir,
        write=False,
    )

    def comparable(rows: tuple[object, ...]) -> list[tuple[object, ...]]:
        return [
            tuple(None if isinstance(v, float) and math.isnan(v) else v for v in astuple(r))  # type: ignore[call-overload]
            for r in rows
        ]

    assert comparable(again.rows) == comparable(report.rows)
    assert comparable(again.replicates) == comparable(report.replicates)


def test_every_strategy_has_the_same_budget(report: ExperimentReport) -> None:
    for strategy in STRATEGIES:
        rows = _rows(report, strategy)
        assert [r.month for r in rows] == ["2026-12", "2027-01", "2027-02"]
        drawn = [r.drawn for r in rows]
        if strategy == "topk":
            assert all(BUDGET <= d <= BUDGET + 3 for d in drawn)
        else:  # the budget is met in expectation: a random union of samples varies
            assert all(0.7 * BUDGET <= d <= 1.3 * BUDGET for d in drawn)
            assert sum(drawn) == pytest.approx(MONTHS * BUDGET, rel=0.15)


def test_non_response_is_carried_over(report: ExperimentReport) -> None:
    for strategy in STRATEGIES:
        rows = _rows(report, strategy)
        for r in rows:
            assert r.visited + r.carried_over == r.drawn
            assert r.carried_over <= 0.15 * r.drawn
        assert [r.carried_in for r in rows[1:]] == [r.carried_over for r in rows[:-1]]
        assert rows[0].carried_in == 0


def test_risk_weighting_finds_more_problems_than_uniform_sampling(
    report: ExperimentReport,
) -> None:
    def rate(strategy: str) -> float:
        rows = _rows(report, strategy)
        return sum(r.problems for r in rows) / sum(r.visited for r in rows)

    assert rate("engine") > rate("uniform")
    assert rate("topk") > rate("uniform")
    engine, uniform = report.summary_of("engine"), report.summary_of("uniform")
    assert engine.class_a_share < uniform.class_a_share
    assert engine.share_found > uniform.share_found


def test_coordination_needs_fewer_visits_than_independent_seeds(report: ExperimentReport) -> None:
    engine = _rows(report, "engine")
    assert sum(r.visits_if_independent for r in engine) > sum(r.drawn for r in engine)
    independent = report.summary_of("independent")
    assert independent.selections_per_visit < 1.1
    assert report.summary_of("engine").selections_per_visit > independent.selections_per_visit


def test_population_estimates(report: ExperimentReport) -> None:
    for r in report.rows:
        assert 0.0 < r.true_rate < 1.0
        assert r.naive_low <= r.naive <= r.naive_high
        if r.strategy == "topk":
            assert math.isnan(r.ht)  # no design, no Horvitz–Thompson estimate
        else:
            assert r.ht_low <= r.ht <= r.ht_high
    topk, engine = report.summary_of("topk"), report.summary_of("engine")
    assert topk.naive_mean_abs_error > engine.ht_mean_abs_error
    assert {(c.strategy, c.estimator) for c in report.replicates} >= {("engine", "ht")}
    assert all(c.replicates == 5 for c in report.replicates)
    assert {d.dimension for d in report.domains} == {"industry_section", "district"}


def test_sensitivity_run_without_window_and_cap(report: ExperimentReport) -> None:
    rows = report.sensitivity
    assert sorted({r.strategy for r in rows}) == ["engine", "topk", "uniform"]
    assert [r.month for r in rows if r.strategy == "engine"] == [
        r.month for r in _rows(report, "engine")
    ]
    text = next(p for p in report.files if p.name == "report.md").read_text(encoding="utf-8")
    assert "## What the exclusion rules cost" in text


def test_model_is_scored_against_the_truth(report: ExperimentReport) -> None:
    for r in report.rows:
        assert 0.5 < r.auc_truth < 1.0
        assert 0.5 < r.auc_ceiling < 1.0
    first = [r.auc_truth for r in report.rows if r.month == "2026-12"]
    assert max(first) == min(first)  # every world starts from the same history


def test_command_line_defaults_match_the_experiment() -> None:
    from simulations import cli, experiment

    defaults = inspect.signature(cli.experiment).parameters
    assert defaults["replicates"].default == experiment.DEFAULT_REPLICATES
    assert (defaults["months"].default, defaults["seed"].default) == (12, 2026)
    assert defaults["out"].default == Path("docs/experiment")


def test_result_codes_agree_with_the_truth_module() -> None:
    """The experiment hands the truth's result codes to the engine by position."""
    from simulations.truth import RESULT_CODES

    assert tuple(RESULT_CODES) == result_codes.CODES
