"""Shared fixtures for the risk kernel tests: a small random world with every kind of event
(for feature tests) and simulated cities with a known truth (for model tests)."""

from __future__ import annotations

import numpy as np
import pytest

from inspect_engine.publication.result_codes import RESULT_CODES
from inspect_engine.risk import (
    AnnualReports,
    Complaints,
    EnterpriseTable,
    HistoryEvents,
    Inspections,
    ListEntries,
    Penalties,
    TrainingConfig,
    TrainingResult,
    train_risk_model,
)
from inspect_engine.risk.synthetic import SimulatedCity, simulate_city

FIRST_DAY = np.datetime64("2018-01-01")
SPAN_DAYS = 7 * 365


def _days(rng: np.random.Generator, n: int, nat_share: float = 0.0) -> np.ndarray:
    days = FIRST_DAY + rng.integers(0, SPAN_DAYS, n).astype("timedelta64[D]")
    days[rng.random(n) < nat_share] = np.datetime64("NaT")
    return days


def random_world(
    seed: int, n: int = 40, events: int = 120
) -> tuple[EnterpriseTable, HistoryEvents]:
    """A small city where every column takes awkward values: NaT, unknown inspectors,
    same-day visits, duplicate report rows, shared addresses, missing capital."""
    rng = np.random.default_rng(seed)
    enterprises = EnterpriseTable(
        credit_code=np.array([f"E{i:05d}" for i in range(n)]),
        entity_type=rng.integers(-1, 5, n).astype(np.int32),
        industry=rng.integers(0, 4, n).astype(np.int32),
        district=rng.integers(0, 3, n).astype(np.int32),
        registered_on=FIRST_DAY
        - 3000
        + rng.integers(0, SPAN_DAYS + 3000, n).astype("timedelta64[D]"),
        registered_capital=np.where(rng.random(n) < 0.3, np.nan, rng.lognormal(12, 2, n)),
        licences=rng.integers(0, 4, n),
        tags=rng.integers(0, 2, n),
        address=np.where(rng.random(n) < 0.3, -1, rng.integers(0, 8, n)),
        industries=("C13", "F52", "H62", "I65"),
        districts=("440103", "440104", "440106"),
        licence_names=("food_business", "drug_retail"),
        tag_names=("elevator_user",),
    )
    m = events
    visit_days = _days(rng, m)
    repeat = rng.random(m) < 0.3  # a second item on the same visit
    ent = rng.integers(0, n, m)
    inspections = Inspections(
        enterprise=np.r_[ent, ent[repeat]],
        inspected_on=np.r_[visit_days, visit_days[repeat]],
        result=rng.integers(0, len(RESULT_CODES), m + repeat.sum()).astype(np.int8),
        inspector=rng.integers(-1, 6, m + repeat.sum()),
        inclusion_probability=np.where(
            rng.random(m + repeat.sum()) < 0.3, np.nan, rng.uniform(0.01, 1.0, m + repeat.sum())
        ),
        department=np.zeros(m + repeat.sum(), dtype=np.int32),
    )
    penalties = Penalties(rng.integers(0, n, m), _days(rng, m), rng.integers(0, 3, m))
    complaints = Complaints(rng.integers(0, n, m), _days(rng, m), rng.random(m) < 0.5)
    reports = AnnualReports(
        rng.integers(0, n, 2 * m), rng.integers(2015, 2025, 2 * m), _days(rng, 2 * m, 0.3)
    )
    listed = _days(rng, m // 2)
    removed = listed + rng.integers(0, 900, m // 2).astype("timedelta64[D]")
    removed[rng.random(m // 2) < 0.4] = np.datetime64("NaT")
    lists = ListEntries(rng.integers(0, n, m // 2), rng.integers(0, 2, m // 2), listed, removed)
    return enterprises, HistoryEvents(inspections, penalties, complaints, reports, lists)


@pytest.fixture(scope="session")
def city() -> SimulatedCity:
    return simulate_city(n_enterprises=20_000, months=36, seed=11)


@pytest.fixture(scope="session")
def trained(city: SimulatedCity) -> TrainingResult:
    return train_risk_model(
        city.enterprises, city.history, city.end, TrainingConfig(threads=1), random_state=5
    )


@pytest.fixture(scope="session")
def strict_city() -> SimulatedCity:
    """Strict inspectors make most visits in 440106 and none elsewhere."""
    return simulate_city(
        n_enterprises=20_000, months=36, seed=12, strict_district="440106", strict_shift=1.5
    )
