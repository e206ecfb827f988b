import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspect_engine import uscc
from tests.conftest import DATA

VECTORS = list(csv.DictReader((DATA / "uscc.csv").open(encoding="utf-8")))


@pytest.mark.parametrize("vector", VECTORS, ids=[v["note"] for v in VECTORS])
def test_published_vectors(vector: dict[str, str]) -> None:
    assert uscc.is_valid(vector["credit_code"]) is (vector["valid"] == "true")


@given(st.text(alphabet=uscc.ALPHABET, min_size=17, max_size=17))
def test_a_computed_check_character_validates_and_any_other_fails(body: str) -> None:
    good = body + uscc.check_char(body)
    assert uscc.is_valid(good)
    for other in uscc.ALPHABET:
        if other != good[-1]:
            assert not uscc.is_valid(body + other)
