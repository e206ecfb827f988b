"""Shared fixtures for the risk kernel tests: simulated cities with a known truth."""

from __future__ import annotations

import pytest

from inspect_engine.risk import TrainingConfig, TrainingResult, train_risk_model
from inspect_engine.risk.synthetic import SimulatedCity, simulate_city


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
