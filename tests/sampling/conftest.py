"""Shared fixtures for the sampling tests: the protocol's test vectors and credit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspect_engine.uscc import ALPHABET, check_char

VECTORS = Path(__file__).resolve().parents[1] / "data" / "draw_vectors.json"


@pytest.fixture(scope="session")
def vectors() -> list[dict[str, Any]]:
    """The five ie-draw-v1 records (with frame) every implementation must reproduce."""
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    assert data["protocol"] == "ie-draw-v1"
    return list(data["vectors"])


@pytest.fixture(scope="session")
def make_codes() -> Callable[[int, int], list[str]]:
    """`make_codes(count, seed)`: distinct valid credit codes registered in Tianhe (440106)."""

    def make(count: int, seed: int) -> list[str]:
        rng = np.random.default_rng(seed)
        codes: dict[str, None] = {}
        while len(codes) < count:
            body = "91440106" + "".join(ALPHABET[i] for i in rng.integers(0, 31, 9))
            codes[body + check_char(body)] = None
        return list(codes)

    return make
