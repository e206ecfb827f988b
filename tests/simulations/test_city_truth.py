"""The latent truth: kept apart from the import files, and the history follows it."""

from __future__ import annotations

import csv
import json
from datetime import date

import numpy as np

from simulations.truth import (
    CLOSED,
    DEREGISTERED,
    NO_ACTIVITY,
    NO_PROBLEM,
    NOT_DISCLOSED,
    RESULT_CODES,
    UNREACHABLE,
    TruthParams,
    VisitSpec,
    draw_results,
    load_truth,
    simulate_visit_results,
    visit_problem_probability,
)
from tests.simulations.citykit import City

IMPORT_FILES = (
    "enterprises.csv", "inspectors.csv", "items.csv", "tasks.csv", "inspections.csv",
    "penalties.csv", "complaints.csv", "annual_reports.csv", "lists.csv", "leave.csv",
    "conflicts.csv",
)  # fmt: skip
PROBLEMS = {"not_disclosed", "false_disclosure", "unreachable", "corrected", "pending"}
PROBLEMS |= {"non_cooperation"}
NOT_OBSERVED = {"no_activity", "closed", "deregistered"}


def truth_of(city: City) -> dict[str, dict[str, str]]:
    return {r["credit_code"]: r for r in city.rows("truth.csv")}


def test_truth_is_complete_and_never_part_of_an_import_file(city: City) -> None:
    truth = truth_of(city)
    assert set(truth) == {r["credit_code"] for r in city.rows("enterprises.csv")}
    hidden = {"problem_prob", "visit_problem_prob", "latent", "shell", "dormant", "strictness"}
    for name in IMPORT_FILES:
        assert not hidden & set(city.header(name)), name
        assert "truth" not in (city.dir / name).read_text(encoding="utf-8")
    meta = json.loads((city.dir / "truth.json").read_text(encoding="utf-8"))
    assert meta["month"] == "2026-12" and meta["seed"] == city.summary.seed
    assert set(meta["item_weights"]) == {r["item_code"] for r in city.rows("items.csv")}
    assert 0 < meta["item_weights"]["SAMR-FOOD-04"] < 1
    assert "intercept" in meta["parameters"] and meta["calibration"]
    for r in truth.values():
        assert 0 < float(r["problem_prob"]) < 1


def test_recorded_problems_follow_the_true_probability(city: City) -> None:
    truth = truth_of(city)
    rows = [
        r
        for r in city.rows("inspections.csv")
        if r["inclusion_probability"] and r["result"] not in NOT_OBSERVED
        and r["result"] not in {"unreachable", "not_disclosed"}
    ]  # fmt: skip
    p = np.array([float(truth[r["credit_code"]]["problem_prob"]) for r in rows])
    hit = np.array([r["result"] in PROBLEMS for r in rows])
    low, high = p < np.quantile(p, 0.25), p > np.quantile(p, 0.75)
    assert hit[high].mean() > 2.5 * hit[low].mean()


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def test_inspectors_differ_in_what_they_record(city: City) -> None:
    """An inspector's recorded problems over what the truth expects of its entities rise with
    its hidden strictness (diluted: the recorded inspector is one of a team of two)."""
    with (city.dir / "truth_inspectors.csv").open(encoding="utf-8") as f:
        strict = {r["inspector_id"]: float(r["strictness"]) for r in csv.DictReader(f)}
    values = np.array(list(strict.values()))
    assert abs(values.mean() - 1) < 0.15 and values.std() > 0.4
    truth = truth_of(city)
    weights = json.loads((city.dir / "truth.json").read_text(encoding="utf-8"))["item_weights"]
    observed: dict[str, float] = {}
    expected: dict[str, float] = {}
    for r in city.rows("inspections.csv"):
        if r["result"] in NOT_OBSERVED or r["result"] in {"unreachable", "not_disclosed"}:
            continue
        p = float(truth[r["credit_code"]]["problem_prob"])
        i = r["inspector_id"]
        observed[i] = observed.get(i, 0.0) + (r["result"] in PROBLEMS)
        expected[i] = expected.get(i, 0.0) + 1 - (1 - p) ** weights[r["item_code"]]
    busy = [i for i in observed if expected[i] >= 1.0]
    s = np.array([strict[i] for i in busy])
    ratio = np.array([observed[i] / expected[i] for i in busy])
    rank_corr = np.corrcoef(ranks(s), ranks(ratio))[0, 1]
    assert len(busy) > 100 and rank_corr > 0.12


def test_lists_follow_missing_reports_and_unreachable_results(city: City) -> None:
    truth = truth_of(city)
    listed = {r["credit_code"] for r in city.rows("lists.csv") if r["list"] == "abnormal"}
    old_enough = {
        r["credit_code"] for r in city.rows("enterprises.csv") if r["registered_on"] < "2024-01-01"
    }
    shells = {c for c, r in truth.items() if r["shell"] == "1" and r["active"] == "1"}
    shells &= old_enough  # had a report due
    assert len(shells & listed) > 0.8 * len(shells)
    missing_2025 = {
        r["credit_code"]
        for r in city.rows("annual_reports.csv")
        if r["year"] == "2025" and r["filed_on"] == ""
    }
    july_2026 = {
        r["credit_code"]
        for r in city.rows("lists.csv")
        if r["list"] == "abnormal" and r["listed_on"].startswith("2026-07")
    }
    assert len(missing_2025 & july_2026) > 0.9 * len(missing_2025)


def test_draw_results_applies_the_rules_in_order() -> None:
    rng = np.random.default_rng(0)
    n = 6
    base = dict(
        p=np.full(n, 0.5),
        weight=np.ones(n),
        strictness=np.ones(n),
        is_info=np.array([0, 0, 0, 1, 0, 0], bool),
        report_missing=np.array([0, 0, 0, 1, 0, 0], bool),
        exited=np.array([1, 1, 0, 0, 0, 0], bool),
        shell=np.array([0, 1, 1, 0, 0, 0], bool),
        dormant=np.array([1, 0, 1, 0, 1, 0], bool),
    )
    codes = draw_results(rng, TruthParams(), **base)
    assert codes[:5].tolist() == [DEREGISTERED, DEREGISTERED, UNREACHABLE, NOT_DISCLOSED, CLOSED]


def test_draw_results_finds_problems_at_the_modelled_rate() -> None:
    rng = np.random.default_rng(1)
    n = 200_000
    p, w, m = 0.08, 0.7, 1.6
    off = np.zeros(n, bool)
    codes = draw_results(
        rng, TruthParams(), p=np.full(n, p), weight=np.full(n, w), strictness=np.full(n, m),
        is_info=off, report_missing=off, exited=off, shell=off, dormant=off,
    )  # fmt: skip
    observed = codes != NO_ACTIVITY
    found = (codes != NO_PROBLEM) & observed
    expected = 1 - (1 - p) ** (w * m)
    assert abs(found.sum() / observed.sum() - expected) < 0.004
    assert abs((~observed).mean() - TruthParams().no_activity_prob) < 0.002


def test_experiments_can_simulate_the_month(city: City) -> None:
    truth = load_truth(city.dir)
    inspectors = [r["inspector_id"] for r in city.rows("inspectors.csv")][:2]
    codes = truth.credit_codes
    shell = codes[truth.shell & truth.active][0]
    gone = codes[~truth.active][0]
    visits = [
        VisitSpec("v1", str(shell), ("SAMR-INFO-01",), tuple(inspectors)),
        VisitSpec("v2", str(gone), ("SAMR-FOOD-01", "SAMR-FOOD-04"), tuple(inspectors)),
        VisitSpec("v3", str(codes[0]), ("SAMR-REG-01",), tuple(inspectors)),
    ]
    rows = simulate_visit_results(truth, visits, date(2026, 12, 10), np.random.default_rng(2))
    assert [(v, i) for v, i, _, _ in rows] == [
        ("v1", "SAMR-INFO-01"), ("v2", "SAMR-FOOD-01"), ("v2", "SAMR-FOOD-04"),
        ("v3", "SAMR-REG-01"),
    ]  # fmt: skip
    assert rows[0][2] == "unreachable" and rows[1][2] == rows[2][2] == "deregistered"
    assert all(r[2] in RESULT_CODES and r[3] == "2026-12-10" for r in rows)


def test_visit_problem_probability_matches_the_truth_columns(city: City) -> None:
    truth = load_truth(city.dir)
    everyone = np.arange(len(truth.credit_codes))
    ones = np.ones(len(everyone))
    visit = visit_problem_probability(truth, everyone, ones, ones)
    column = np.array([float(r["visit_problem_prob"]) for r in city.rows("truth.csv")])
    assert np.allclose(visit, column, atol=1e-6)
    # More items and a stricter team find more, never less.
    assert np.all(visit_problem_probability(truth, everyone, 2 * ones, 1.5 * ones) >= visit)
