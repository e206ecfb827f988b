"""A small synthetic city, generated once for the simulation tests."""

from __future__ import annotations

import pytest

from simulations.city import generate_city
from tests.simulations.citykit import AS_OF, SEED, City


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    out = tmp_path_factory.mktemp("small_city")
    return City(generate_city("small", SEED, out, as_of=AS_OF), out)
