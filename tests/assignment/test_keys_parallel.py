"""The pair keys are the same whether they are hashed in one process or split over workers
(a city month's millions of pairs are split over the cores)."""

import numpy as np
import pytest

from inspect_engine.assignment import keys


def test_split_over_workers_gives_the_same_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    codes = [f"91440106MA59C{v:05d}" for v in range(300)]
    ids = [f"44000{i:05d}" for i in range(200)]
    rng = np.random.default_rng(7)
    visits = np.repeat(np.arange(300), 40)
    inspectors = np.concatenate([np.sort(rng.choice(200, 40, replace=False)) for _ in range(300)])
    alone = keys.pair_keys("ab" * 32, codes, ids, visits, inspectors)
    monkeypatch.setattr(keys, "PARALLEL_PAIRS", 100)
    monkeypatch.setattr(keys.os, "cpu_count", lambda: 3)  # three chunks, cut mid-visit
    split = keys.pair_keys("ab" * 32, codes, ids, visits, inspectors)
    assert split.dtype == np.uint64 and (split == alone).all()
    k = 1234
    expected = keys.pair_key("ab" * 32, codes[int(visits[k])], ids[int(inspectors[k])])
    assert int(split[k]) == expected
