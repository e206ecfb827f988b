"""Population estimates for the public feed: π of a plan, domain shares, intervals, JSON."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_engine.sampling.population import (
    DomainSizes,
    MonthResults,
    estimate_population,
    industry_section,
    pareto_inclusion,
    plan_inclusion,
    wilson_interval,
)
from inspect_engine.sampling.protocol import pareto_select

Z = NormalDist().inv_cdf(0.975)


def _codes(count: int) -> np.ndarray:
    return np.array([f"91440106{i:09d}X" for i in range(count)])


# --------------------------------------------------------------------------- π of a plan


@settings(max_examples=60, deadline=None)  # each distinct λ is one exact integral
@given(
    st.lists(st.floats(min_value=1e-4, max_value=1.0), min_size=1, max_size=30),
    st.floats(min_value=0.05, max_value=3.0),
)
def test_pareto_inclusion_sums_to_the_sample_size(raw: list[float], factor: float) -> None:
    lam = np.clip(np.array(raw) * factor, 1e-4, 1.0)
    pi = pareto_inclusion(lam)
    n = round(math.fsum(lam.tolist()))
    assert ((pi >= 0) & (pi <= 1)).all()
    # π comes from numerical quadrature, accurate to about 1e-9 per unit: a sum over up to
    # 30 units is held to 1e-7 (hypothesis found a sum 1e-9 off; no estimate can see 1e-7)
    assert pi.sum() == pytest.approx(n, abs=1e-7)
    assert (pi[lam >= 1.0] == 1.0).all()
    order = np.argsort(lam, kind="stable")  # a larger λ is never drawn less often
    assert (np.diff(pi[order]) >= -1e-8).all()


def test_pareto_inclusion_of_equal_lambdas_is_n_over_the_frame() -> None:
    """By symmetry N units of one λ are each drawn with probability n / N, whatever λ."""
    assert pareto_inclusion(np.full(10, 0.25)) == pytest.approx(np.full(10, 0.2), abs=1e-9)
    assert pareto_inclusion(np.full(7, 0.3)) == pytest.approx(np.full(7, 2 / 7), abs=1e-9)
    lam = np.array([1.0, 0.2, 0.2, 0.2, 0.2, 0.2])  # one certain, one place among five
    assert pareto_inclusion(lam) == pytest.approx([1.0, 0.2, 0.2, 0.2, 0.2, 0.2], abs=1e-9)


def test_pareto_inclusion_is_what_the_draw_does() -> None:
    """Σλ = 2.4 draws n = 2: the real inclusion frequencies follow λ·2/2.4, not λ."""
    rng = np.random.default_rng(3)
    lam = np.repeat([0.02, 0.05, 0.1, 0.25], [20, 12, 4, 2])  # Σλ = 0.4+0.6+0.4+0.5 = 1.9 → 2
    lam = lam * (2.4 / lam.sum())
    codes = _codes(lam.size).tolist()
    draws = 20_000
    hits = np.zeros(lam.size)
    for _ in range(draws):
        u = (rng.integers(0, 2**52, lam.size) + 0.5) / 2**52
        hits += pareto_select(codes, lam, u)
    freq = hits / draws
    expected = pareto_inclusion(lam)
    for value in np.unique(lam):  # pool units of equal λ
        group = lam == value
        assert freq[group].mean() == pytest.approx(expected[group][0], rel=0.05)
        assert abs(freq[group].mean() - value) > 3 * abs(freq[group].mean() - expected[group][0])


def test_plan_inclusion_of_coordinated_and_independent_draws() -> None:
    task_pi = np.array([[0.1, 0.0, 0.3], [0.2, 0.2, 0.0], [0.0, 0.0, 0.5]])
    assert plan_inclusion(task_pi) == pytest.approx([0.3, 0.2, 0.5])
    independent = plan_inclusion(task_pi, coordinated=False)
    assert independent == pytest.approx([1 - 0.9 * 0.7, 1 - 0.8 * 0.8, 0.5])
    with pytest.raises(ValueError):
        plan_inclusion(np.array([0.1, 0.2]))
    with pytest.raises(ValueError):
        plan_inclusion(np.array([[1.2]]))


def test_industry_section_is_the_first_letter() -> None:
    assert industry_section(["H62", "f51", "C", "I65"]).tolist() == ["H", "F", "C", "I"]


# --------------------------------------------------------------------------- estimates


def _results(
    problem: list[bool],
    pi: list[float],
    sections: list[str],
    districts: list[str],
    *,
    visited: list[bool] | None = None,
    observation: list[bool] | None = None,
    weight_class: list[str] | None = None,
) -> MonthResults:
    n = len(problem)
    seen = [True] * n if visited is None else visited
    obs = seen if observation is None else observation
    return MonthResults(
        credit_code=_codes(n),
        visited=np.array(seen),
        problem=np.array(problem) & np.array(obs),
        observation=np.array(obs) & np.array(seen),
        inclusion_probability=np.array(pi),
        industry_section=np.array(sections),
        district=np.array(districts),
        weight_class=None if weight_class is None else np.array(weight_class),
    )


def test_equal_probabilities_give_the_sample_shares() -> None:
    # 8 drawn out of N = 80 with π = 0.1: each visit stands for 10 enterprises
    problem = [True, False, False, True, False, True, False, False]
    sections = ["H", "H", "F", "F", "F", "C", "C", "C"]
    districts = ["440106"] * 4 + ["440111"] * 4
    sizes = DomainSizes(80, {"C": 30, "F": 30, "H": 20}, {"440106": 40, "440111": 40})
    out = estimate_population(
        _results(problem, [0.1] * 8, sections, districts), sizes, month="2026-12"
    )
    assert out.overall.share == pytest.approx(3 / 8)
    by_section = {e.key: e.share for e in out.by_section}
    assert by_section == pytest.approx({"C": 10 / 30, "F": 10 / 30, "H": 10 / 20})
    by_district = {e.key: e for e in out.by_district}
    assert by_district["440106"].share == pytest.approx(20 / 40)
    assert by_district["440106"].problems == 2 and by_district["440106"].drawn == 4


def _random_month(rng: np.random.Generator, size: int = 300) -> tuple[MonthResults, DomainSizes]:
    pi = rng.choice([0.005, 0.02, 0.1, 0.4], size)
    sections = rng.choice(["C", "F", "H", "I"], size)
    districts = rng.choice(["440103", "440106", "440111"], size)
    visited = rng.random(size) > 0.1
    observation = visited & (rng.random(size) > 0.05)
    problem = observation & (rng.random(size) < 0.2)
    classes = rng.choice(["A", "B", "C", "D"], size)
    results = MonthResults(
        _codes(size), visited, problem, observation, pi, sections, districts, classes
    )
    sec = {k: 10_000 + 1_000 * i for i, k in enumerate(["C", "F", "H", "I"])}
    total = sum(sec.values())
    dis = {"440103": total // 3, "440106": total // 3, "440111": total - 2 * (total // 3)}
    return results, DomainSizes(total, sec, dis)


def test_domain_totals_add_up_to_the_overall_total() -> None:
    results, sizes = _random_month(np.random.default_rng(5))
    out = estimate_population(results, sizes, month="2026-12")
    overall = out.overall.share * sizes.total
    assert sum(e.share * e.population for e in out.by_section) == pytest.approx(overall)
    assert sum(e.share * e.population for e in out.by_district) == pytest.approx(overall)


def test_non_response_is_spread_within_weighting_classes() -> None:
    results, sizes = _random_month(np.random.default_rng(8))
    out = estimate_population(results, sizes, month="2026-12")
    # by hand: λ* = λ · r_c, r_c the weighted response rate of the class
    w = 1.0 / results.inclusion_probability
    assert results.weight_class is not None
    total = 0.0
    for c in np.unique(results.weight_class):
        mine = results.weight_class == c
        rate = w[mine & results.visited].sum() / w[mine].sum()
        total += (results.problem[mine] * w[mine]).sum() / rate
    assert out.overall.share == pytest.approx(total / sizes.total)


def test_non_observations_count_as_no_problem_or_as_missing() -> None:
    results, sizes = _random_month(np.random.default_rng(9))
    as_zero = estimate_population(results, sizes, month="m", non_observation="no_problem")
    as_missing = estimate_population(results, sizes, month="m", non_observation="non_response")
    assert as_missing.overall.observed == int(results.observation.sum())
    assert as_zero.overall.observed == int(results.visited.sum())
    assert as_missing.overall.share > as_zero.overall.share  # fewer units carry the problems


def test_weighting_class_without_any_visit_is_pooled() -> None:
    problem = [True, False, False, True, False]
    results = _results(
        problem,
        [0.1] * 5,
        ["H"] * 5,
        ["440106"] * 5,
        visited=[True, True, True, True, False],
        weight_class=["A", "A", "B", "B", "D"],  # D was drawn once and not visited
    )
    out = estimate_population(results, DomainSizes(50, {"H": 50}, {"440106": 50}), month="m")
    # classes A and B keep their response rate 1; D's weight is spread over everyone
    assert math.isfinite(out.overall.share)
    assert out.overall.share == pytest.approx(2 * 10 * 5 / 4 / 50)


def test_a_domain_without_observations_has_no_estimate() -> None:
    results = _results([True, False], [0.5, 0.5], ["H", "H"], ["440106", "440106"])
    sizes = DomainSizes(10, {"H": 6, "F": 4}, {"440106": 10})
    out = estimate_population(results, sizes, month="2026-12", min_observed=2)
    empty = next(e for e in out.by_section if e.key == "F")
    assert math.isnan(empty.share) and not empty.enough and empty.drawn == 0
    assert next(e for e in out.by_section if e.key == "H").enough
    feed = json.loads(out.to_json())
    section_f = next(e for e in feed["by_industry_section"] if e["key"] == "F")
    assert section_f["share"] is None and section_f["ci_low"] is None


def test_json_feed_writes_shares_as_decimal_strings() -> None:
    results, sizes = _random_month(np.random.default_rng(2))
    out = estimate_population(results, sizes, month="2026-12")
    feed = json.loads(out.to_json())
    assert feed["month"] == "2026-12" and feed["level"] == "0.950000"
    assert [e["key"] for e in feed["by_district"]] == sorted(sizes.by_district)
    overall = feed["overall"]
    assert overall["share"] == f"{out.overall.share:.6f}"
    low, share, high = (float(overall[k]) for k in ("ci_low", "share", "ci_high"))
    assert 0.0 <= low <= share <= high <= 1.0
    assert isinstance(overall["population"], int) and overall["population"] == sizes.total


# --------------------------------------------------------------------------- intervals


def test_wilson_interval_matches_the_score_formula() -> None:
    p, n = 0.12, 150
    low, high = wilson_interval(p, p * (1 - p) / n, n, 0.95)  # simple random sample
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    assert (low, high) == pytest.approx((centre - half, centre + half))
    # a design effect of 2 halves the effective sample size
    low2, high2 = wilson_interval(p, 2 * p * (1 - p) / n, n, 0.95)
    assert (low2, high2) == pytest.approx(wilson_interval(p, p * (1 - p) / 75, 75, 0.95))
    # nothing found: still an interval with width, as the score interval gives
    assert wilson_interval(0.0, 0.0, 40, 0.95) == pytest.approx((0.0, Z**2 / (40 + Z**2)))
    assert all(math.isnan(v) for v in wilson_interval(0.1, math.nan, 40, 0.95))


def _skewed_population(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A risk-weighted frame: many low-λ units with rare problems, few high-λ risky ones."""
    lam = np.repeat([0.0025, 0.0075, 0.025, 0.075], [6000, 2500, 800, 150])
    rate = np.repeat([0.06, 0.12, 0.25, 0.45], [6000, 2500, 800, 150])
    y = rng.random(lam.size) < rate
    return lam, y


def test_intervals_cover_the_frame_share_under_risk_weighting() -> None:
    rng = np.random.default_rng(11)
    lam, y = _skewed_population(rng)
    codes = _codes(lam.size).tolist()
    sections = np.where(np.arange(lam.size) % 2 == 0, "F", "H")
    sizes = DomainSizes(
        lam.size, {"F": int((sections == "F").sum()), "H": int((sections == "H").sum())}
    )
    truth = y.mean()
    covered = {"wilson": 0, "wald": 0}
    estimates = []
    draws = 400
    pi = pareto_inclusion(lam)  # exact, once per distinct λ
    for _ in range(draws):
        u = (rng.integers(0, 2**52, lam.size) + 0.5) / 2**52
        chosen = np.flatnonzero(pareto_select(codes, lam, u))
        visited = rng.random(chosen.size) > 0.03
        results = MonthResults(
            _codes(lam.size)[chosen],
            visited,
            y[chosen] & visited,
            visited,
            pi[chosen],
            sections[chosen],
            np.full(chosen.size, "440106"),
        )
        for interval in covered:
            out = estimate_population(results, sizes, month="m", interval=interval)  # type: ignore[arg-type]
            covered[interval] += out.overall.ci_low <= truth <= out.overall.ci_high
        estimates.append(out.overall.share)
    assert np.mean(estimates) == pytest.approx(truth, abs=3 * float(np.std(estimates)) / draws**0.5)
    assert 0.92 <= covered["wilson"] / draws <= 0.99
    assert covered["wilson"] > covered["wald"]  # the symmetric interval misses low estimates


# --------------------------------------------------------------------------- validation


def test_inputs_are_checked() -> None:
    yes, no = np.array([True, True]), np.array([False, False])
    h, one = np.array(["H", "H"]), np.array(["1", "1"])
    with pytest.raises(ValueError, match="twice"):
        MonthResults(np.array(["X", "X"]), yes, no, yes, np.array([0.1, 0.1]), h, one)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        MonthResults(_codes(2), yes, no, yes, np.array([0.0, 0.1]), h, one)
    with pytest.raises(ValueError, match="observation"):
        MonthResults(_codes(2), yes, yes, no, np.array([0.5, 0.5]), h, one)
    results = _results([True, False], [0.1, 0.2], ["H", "F"], ["440106", "440106"])
    with pytest.raises(ValueError, match="do not hold"):
        estimate_population(results, DomainSizes(10, {"H": 10}), month="m")
    with pytest.raises(ValueError, match="add up"):
        DomainSizes(10, {"H": 4, "F": 4})
    nobody = _results([True, False], [0.1, 0.2], ["H", "F"], ["1", "1"], visited=[False, False])
    with pytest.raises(ValueError, match="nothing to estimate"):
        estimate_population(nobody, DomainSizes(10), month="m")


def test_from_records() -> None:
    records = [
        {
            "credit_code": "A1",
            "visited": True,
            "result": "problem",
            "inclusion_probability": "0.1",
            "industry": "H62",
            "district": "440106",
            "weight_class": "C",
        },
        {
            "credit_code": "A2",
            "visited": True,
            "result": "non_observation",
            "inclusion_probability": 0.5,
            "industry": "F51",
            "district": "440111",
            "weight_class": "A",
        },
        {
            "credit_code": "A3",
            "visited": False,
            "result": None,
            "inclusion_probability": 0.2,
            "industry": "F52",
            "district": "440111",
            "weight_class": "A",
        },
    ]
    results = MonthResults.from_records(records)
    assert results.problem.tolist() == [True, False, False]
    assert results.observation.tolist() == [True, False, False]
    assert results.visited.tolist() == [True, True, False]
    assert results.industry_section.tolist() == ["H", "F", "F"]
    assert results.weight_class is not None and results.weight_class.tolist() == ["C", "A", "A"]
    with pytest.raises(ValueError, match="needs a result"):
        MonthResults.from_records([{**records[0], "result": ""}])
