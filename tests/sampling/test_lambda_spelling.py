"""λ has exactly one spelling: format_lambda writes it, parse_lambda accepts nothing else."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspect_engine import verify
from inspect_engine.sampling.protocol import (
    LambdaSpellingError,
    format_lambda,
    lambda_problem,
    parse_lambda,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1, "0.1"),
        (0.025, "0.025"),
        (1 / 3, "0.333333333"),
        (Fraction(1, 3000), "0.000333333"),
        (Decimal("0.0250"), "0.025"),
        (Fraction(2, 3), "0.666666667"),
        (1.0, "1"),
        (0.0, "0"),
        (-0.0, "0"),
        (0.9999999996, "1"),
        (Decimal("0.0000000015"), "0.000000002"),  # half-even
        (Decimal("0.0000000025"), "0.000000002"),
        (6e-10, "0.000000001"),
    ],
)
def test_format_examples(value: float | Decimal | Fraction, text: str) -> None:
    assert format_lambda(value) == text


@pytest.mark.parametrize("value", [1e-10, 4.9e-10, Decimal("5E-10"), Fraction(1, 10**10), 5e-324])
def test_positive_lambda_never_becomes_zero(value: float | Decimal | Fraction) -> None:
    with pytest.raises(ValueError, match="rounds to 0"):
        format_lambda(value)


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), Decimal("NaN"), -0.001, 1.0000001, Decimal("-1")]
)
def test_format_rejects_non_probabilities(value: float | Decimal) -> None:
    with pytest.raises(ValueError):
        format_lambda(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0.10", "trailing zeros"),
        ("1.0", "trailing zeros"),
        ("0.0", "trailing zeros"),
        (".5", "0 before the point"),
        ("5e-2", "exponent"),
        ("1E0", "exponent"),
        ("+0.5", "sign"),
        ("-0", "sign"),
        ("0.1234567891", "more than 9 digits"),
        ("0.00000000010", "more than 9 digits"),
        ("2", "greater than 1"),
        ("1.5", "greater than 1"),
        ("00.5", "leading zeros"),
        (" 0.5", "white space"),
        ("0.5\n", "white space"),
        ("0,5", "plain decimal"),
        ("0.", "bare point"),
        ("nan", "plain decimal"),
        ("", "empty"),
        ("０.５", "plain decimal"),  # full-width digits
    ],
)
def test_parse_rejects_other_spellings_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(LambdaSpellingError, match=reason):
        parse_lambda(text)
    assert verify._lambda_problem(text) is not None


def test_parse_is_the_correctly_rounded_value() -> None:
    assert parse_lambda("0.1") == 0.1
    assert parse_lambda("0.000333333") == float(Fraction(333333, 10**9))
    assert parse_lambda("1") == 1.0 and parse_lambda("0") == 0.0


@given(st.floats(min_value=0.0, max_value=1.0).filter(lambda x: x == 0 or x > 5e-10))
def test_format_then_parse_round_trips_canonically(value: float) -> None:
    text = format_lambda(value)
    assert lambda_problem(text) is None
    assert abs(parse_lambda(text) - value) <= 5e-10 + 1e-16
    assert format_lambda(parse_lambda(text)) == text


@given(st.integers(min_value=0, max_value=10**9))
def test_every_nine_digit_value_has_one_spelling(k: int) -> None:
    # Built independently of format_lambda: the exact decimal k / 10^9 in plain notation.
    text = format(Decimal(k).scaleb(-9).normalize(), "f") if k else "0"
    assert lambda_problem(text) is None and verify._lambda_problem(text) is None
    assert parse_lambda(text) == float(text)
    assert format_lambda(parse_lambda(text)) == text
    if k % 10 == 0 and 0 < k < 10**9:
        assert lambda_problem(text + "0") is not None


@given(st.text(alphabet="0123456789.+-eE ", max_size=13))
def test_kernel_and_verifier_agree_on_spelling(text: str) -> None:
    assert (lambda_problem(text) is None) == (verify._lambda_problem(text) is None)
