"""frame_text's two paths (a sorted numpy array from a built frame, any list of codes)
give the same text, and both refuse what the protocol refuses."""

from __future__ import annotations

import numpy as np
import pytest

from inspect_engine.sampling import protocol
from inspect_engine.sampling.protocol import InvalidFrameError, frame_text


def codes(count: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
    drawn = {"".join(rng.choice(alphabet, 18)) for _ in range(count)}
    return sorted(drawn)


def test_a_sorted_array_gives_the_text_of_the_shuffled_list() -> None:
    sorted_codes = codes(500)
    lambdas = [protocol.format_lambda(0.001 * (1 + i % 7)) for i in range(len(sorted_codes))]
    order = np.random.default_rng(3).permutation(len(sorted_codes))
    shuffled = [sorted_codes[i] for i in order]
    shuffled_lambdas = [lambdas[i] for i in order]
    from_array = frame_text(np.array(sorted_codes), lambdas)
    assert from_array == frame_text(shuffled, shuffled_lambdas)
    assert from_array.splitlines()[0] == f"{sorted_codes[0]},{lambdas[0]}"


def test_an_unsorted_or_repeated_array_takes_the_checked_path() -> None:
    some = codes(20)
    lambdas = ["0.5"] * 20
    unsorted = np.array(some[::-1])
    assert frame_text(unsorted, lambdas) == frame_text(some, lambdas)
    repeated = np.array([some[0], *some[:19]])  # ascending but not strictly
    with pytest.raises(InvalidFrameError, match="more than once"):
        frame_text(repeated, lambdas)


@pytest.mark.parametrize(
    "bad, message",
    [("91440106MA5CXXXX", "18 characters"), ("91440106MA5CXXX,XY", "printable ASCII")],
)
def test_the_fast_path_still_checks_every_code(bad: str, message: str) -> None:
    some = codes(10)
    with_bad = np.array(sorted([*some[:9], bad]))
    with pytest.raises(InvalidFrameError, match=message):
        frame_text(with_bad, ["0.5"] * 10)
