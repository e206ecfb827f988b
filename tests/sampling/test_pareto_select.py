"""Invariants of Pareto πps selection, and the errors of a frame that cannot be drawn."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_engine.sampling import protocol
from inspect_engine.sampling.protocol import InvalidFrameError, pareto_select, sample_size

LAMBDA = st.one_of(
    st.sampled_from([0.0, 1.0, 0.002, 0.5]),
    st.floats(min_value=1e-9, max_value=1.0, exclude_max=True),
)
PRN = st.floats(min_value=2.0**-53, max_value=1.0 - 2.0**-53)


@st.composite
def frames(draw: st.DrawFn) -> tuple[list[str], np.ndarray, np.ndarray]:
    size = draw(st.integers(min_value=1, max_value=40))
    lambdas = np.array(draw(st.lists(LAMBDA, min_size=size, max_size=size)))
    u = np.array(draw(st.lists(PRN, min_size=size, max_size=size)))
    codes = [f"9144010600000{i:04d}X" for i in range(size)]  # distinct, right length
    return codes, lambdas, u


@settings(max_examples=300)
@given(frames())
def test_selection_invariants(frame: tuple[list[str], np.ndarray, np.ndarray]) -> None:
    codes, lambdas, u = frame
    selected = pareto_select(codes, lambdas, u)
    assert selected.sum() == sample_size(lambdas)
    assert selected[lambdas >= 1].all(), "certainty units are always selected"
    assert not selected[lambdas <= 0].any(), "λ = 0 is never selected"
    ranked = (lambdas > 0) & (lambdas < 1)
    with np.errstate(divide="ignore"):  # λ = 0 units are not ranked anyway
        q = (u * (1 - lambdas)) / (lambdas * (1 - u))
    if (selected & ranked).any() and (~selected & ranked).any():
        assert q[selected & ranked].max() <= q[~selected & ranked].min()


@given(st.lists(LAMBDA, min_size=1, max_size=60))
def test_sample_size_is_the_rounded_exact_sum(lambdas: list[float]) -> None:
    from fractions import Fraction

    exact = sum(Fraction(x) for x in lambdas)  # exact rational sum, rounded once
    assert sample_size(lambdas) == round(float(exact))


def test_equal_q_is_broken_by_credit_code() -> None:
    codes = ["914401060000000C0X", "914401060000000A0X", "914401060000000B0X", "9144010600000D000X"]
    lambdas = np.array([0.5, 0.5, 0.5, 0.5])
    u = np.array([0.3, 0.3, 0.3, 0.9])  # three equal keys, two places
    selected = pareto_select(codes, lambdas, u)
    assert [c for c, s in zip(codes, selected, strict=True) if s] == [
        "914401060000000A0X",
        "914401060000000B0X",
    ]


def test_all_ranked_units_selected_when_n_takes_them_all() -> None:
    codes = ["914401060000000A0X", "914401060000000B0X", "914401060000000C0X"]
    lambdas = np.array([1.0, 0.8, 0.8])  # Σλ = 2.6, n = 3: every unit
    selected = pareto_select(codes, lambdas, np.array([0.5, 0.99, 0.01]))
    assert selected.all()


def test_no_ranked_unit_selected_when_n_is_the_certain_ones() -> None:
    codes = ["914401060000000A0X", "914401060000000B0X", "914401060000000C0X"]
    selected = pareto_select(codes, np.array([1.0, 0.2, 0.2]), np.array([0.5, 0.01, 0.01]))
    assert selected.tolist() == [True, False, False]


@pytest.mark.parametrize(
    ("lambdas", "u", "message"),
    [
        ([0.5, float("nan")], [0.5, 0.5], "NaN"),
        ([0.5, 0.5], [0.0, 0.5], "strictly between"),
        ([0.5, 0.5], [0.5, 1.0], "strictly between"),
        ([0.5, 0.5], [0.5], "same length"),
    ],
)
def test_invalid_frames_raise(lambdas: list[float], u: list[float], message: str) -> None:
    codes = ["914401060000000A0X", "914401060000000B0X"]
    with pytest.raises(InvalidFrameError, match=message):
        pareto_select(codes, np.array(lambdas), np.array(u))


def test_frame_checks(make_codes: Callable[[int, int], list[str]]) -> None:
    codes = make_codes(3, 1)
    with pytest.raises(InvalidFrameError, match="more than once"):
        protocol.frame_hash([codes[0], codes[1], codes[0]], ["0.1", "0.2", "0.1"])
    with pytest.raises(InvalidFrameError, match="18 characters"):
        protocol.frame_hash([codes[0], codes[1][:17]], ["0.1", "0.2"])
    with pytest.raises(InvalidFrameError, match="comma"):
        protocol.frame_hash([codes[0], "91440106000000,00X"], ["0.1", "0.2"])
    with pytest.raises(InvalidFrameError, match="λ values"):
        protocol.frame_hash(codes, ["0.1", "0.2"])
    with pytest.raises(protocol.LambdaSpellingError):
        protocol.draw_frame(codes, ["0.1", "0.20", "1"], "ab" * 32)


def test_group_checks() -> None:
    fh = "ab" * 32
    with pytest.raises(ValueError, match="twice"):
        protocol.group_hash([("T1", fh), ("T1", fh)])
    with pytest.raises(ValueError, match="comma"):
        protocol.group_hash([("T,1", fh)])
    with pytest.raises(ValueError, match="hex"):
        protocol.group_hash([("T1", fh.upper())])
    with pytest.raises(ValueError, match="at least one"):
        protocol.group_hash([])


def test_one_seed_gives_coordinated_samples(make_codes: Callable[[int, int], list[str]]) -> None:
    """Positive coordination: two tasks drawn with one seed overlap far more than chance."""
    codes = make_codes(2000, 7)
    seed = "5a" * 32
    first = protocol.draw_frame(codes, ["0.1"] * 2000, seed)
    second = protocol.draw_frame(codes[:1500], ["0.1"] * 1500, seed)
    overlap = len(set(first.selected) & set(second.selected))
    # Same PRN, same λ: the 150 smallest u of the first 1500 codes are mostly among the
    # 200 smallest of all 2000; independent draws would share about 150 * 0.1 = 15.
    assert overlap > 100
