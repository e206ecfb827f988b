"""The small city reproduces Guangzhou's figures, scaled to its size (targets written out
here from DOMAIN.md, not taken from the generator)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

from tests.simulations.citykit import AS_OF, City

GZ_ENTITIES = 2_696_700
DISTRICT_SHARES = {  # the generator's documented district weights
    "440103": 0.060, "440104": 0.075, "440105": 0.100, "440106": 0.155, "440111": 0.175,
    "440112": 0.070, "440113": 0.140, "440114": 0.080, "440115": 0.055, "440117": 0.025,
    "440118": 0.065,
}  # fmt: skip


def scale(city: City) -> float:
    return len(city.rows("enterprises.csv")) / GZ_ENTITIES


def test_size_and_the_enterprise_individual_split(city: City) -> None:
    rows = city.rows("enterprises.csv")
    assert len(rows) == 20_000
    enterprises = sum(r["entity_type"] != "individual" for r in rows) / len(rows)
    assert abs(enterprises - 1.57 / 2.6967) < 0.015


def test_counts_per_district_follow_the_weights(city: City) -> None:
    rows = city.rows("enterprises.csv")
    counts = Counter(r["district"] for r in rows)
    assert set(counts) == set(DISTRICT_SHARES)
    for code, share in DISTRICT_SHARES.items():
        assert abs(counts[code] / len(rows) - share) < 0.005, code


def test_registrations_skew_recent_as_the_stock_grew(city: City) -> None:
    """+201% enterprises and about +40% individual businesses over five years: a stock
    growing at rate g has 1 - exp(-5g) of its members younger than five years."""
    rows = city.rows("enterprises.csv")
    cutoff = date(AS_OF.year - 5, AS_OF.month, AS_OF.day).isoformat()
    ent = [r for r in rows if r["entity_type"] != "individual"]
    ind = [r for r in rows if r["entity_type"] == "individual"]
    young_ent = sum(r["registered_on"] > cutoff for r in ent) / len(ent)
    young_ind = sum(r["registered_on"] > cutoff for r in ind) / len(ind)
    assert abs(young_ent - (1 - 1 / 3.01)) < 0.03
    ind_growth = (2.6967 - 1.57) / (2.6967 / 2.03 - 1.57 / 3.01)
    assert abs(young_ind - (1 - 1 / ind_growth)) < 0.04
    assert young_ent > young_ind


def test_complaints_and_cases_per_year_match_the_city_rates(city: City) -> None:
    """1.72 million complaints and 43,600 cases in five years, per entity."""
    complaints = Counter(r["received_on"][:4] for r in city.rows("complaints.csv"))
    cases = Counter(r["decided_on"][:4] for r in city.rows("penalties.csv"))
    for year in ("2024", "2025"):  # full years inside the history window
        assert abs(complaints[year] / (1_720_000 / 5 * scale(city)) - 1) < 0.08, year
        assert abs(cases[year] / (43_600 / 5 * scale(city)) - 1) < 0.35, year


def test_food_sampling_passes_at_the_city_rate(city: City) -> None:
    """98.41% of food samples pass; here: reached entities sampled by the sampling item."""
    rows = [
        r
        for r in city.rows("inspections.csv")
        if r["item_code"] == "SAMR-FOOD-04"
        and r["result"] not in {"no_activity", "closed", "deregistered", "unreachable"}
    ]
    passed = sum(r["result"] == "no_problem" for r in rows) / len(rows)
    se = math.sqrt(0.0159 * 0.9841 / len(rows))
    assert abs(passed - 0.9841) < max(4 * se, 0.006)


def test_inspectors_scale_with_the_city(city: City) -> None:
    rows = city.rows("inspectors.csv")
    assert 150 <= len(rows) <= 300
    depts = Counter(r["department"] for r in rows)
    assert depts["SAMR"] > len(rows) / 2
    assert min(depts["HEALTH"], depts["FIRE"], depts["ECOENV"]) >= 2 * len(DISTRICT_SHARES)
    inactive = sum(r["active"] == "false" for r in rows)
    assert 0 < inactive < 0.1 * len(rows)


def test_random_visits_run_near_the_design_load(city: City) -> None:
    """20,000 visits a month at Guangzhou scale; history ran at 90% of it."""
    drawn = {
        (r["credit_code"], r["inspected_on"])
        for r in city.rows("inspections.csv")
        if r["inclusion_probability"]
    }
    per_month = len(drawn) / 36
    assert abs(per_month / (0.9 * 20_000 * scale(city)) - 1) < 0.15


def test_same_address_clusters_exist_and_are_riskier(city: City) -> None:
    rows = city.rows("enterprises.csv")
    sizes = Counter(r["address"] for r in rows)
    assert max(sizes.values()) >= 30
    shared = sum(1 for r in rows if sizes[r["address"]] > 1) / len(rows)
    assert 0.03 < shared < 0.4
    # Entities at big cluster addresses are found unreachable far more often.
    big = {r["credit_code"] for r in rows if sizes[r["address"]] >= 10}
    info = [r for r in city.rows("inspections.csv") if r["item_code"] == "SAMR-INFO-01"]
    in_big = [r["result"] == "unreachable" for r in info if r["credit_code"] in big]
    alone = [r["result"] == "unreachable" for r in info if r["credit_code"] not in big]
    assert sum(in_big) / len(in_big) > 2 * sum(alone) / len(alone)
