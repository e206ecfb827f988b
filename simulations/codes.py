"""统一社会信用代码 for synthetic entities (GB 32100-2015).

Layout: 1 registering authority (9 = market supervision), 1 category (1 enterprise,
2 individual business, 3 farmers' cooperative), 6 region code, 9 organisation code body
(GB 11714: 8 characters and its own check character), 1 check character (GB 32100).

Organisation code bodies follow the schemes seen in real codes: entities registered since
the reform of October 2015 carry `MA` + 6 characters; older enterprises an 8-digit
organisation code; older individual businesses an `L` series. Every body is drawn once
from a random bijection of its scheme's space, so codes never repeat.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from inspect_engine.uscc import ALPHABET, check_char

REFORM_DAY = (date(2015, 10, 1) - date(1970, 1, 1)).days
_GB11714_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
SCHEME_MA, SCHEME_DIGITS, SCHEME_L = range(3)


def _gb11714_value(ch: str) -> int:
    """Digits are themselves; letters count A = 10 ... Z = 35."""
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def _org_check(chars: np.ndarray) -> np.ndarray:
    """GB 11714 check characters for an (n, 8) array of character values."""
    c9 = 11 - (chars @ _GB11714_WEIGHTS) % 11
    out = np.where(c9 == 10, "X", np.where(c9 == 11, "0", c9.astype(str)))
    return out.astype(object)


def _bijection(rng: np.random.Generator, n: int, space: int) -> np.ndarray:
    """n distinct numbers of [0, space) via a random affine map (a coprime with space)."""
    primes = (1_000_003, 1_299_709, 15_485_863, 32_452_843, 49_979_687)
    a = next(p for p in rng.permutation(primes) if space % int(p) != 0)
    b = int(rng.integers(0, space))
    return (int(a) * np.arange(n, dtype=np.int64) + b) % space


def _digits(values: np.ndarray, base: int, width: int) -> np.ndarray:
    """Mixed-radix digits, most significant first: an (n, width) int array."""
    out = np.empty((len(values), width), dtype=np.int64)
    v = values.copy()
    for k in range(width - 1, -1, -1):
        out[:, k] = v % base
        v //= base
    return out


def organisation_bodies(rng: np.random.Generator, scheme: np.ndarray) -> np.ndarray:
    """Unique 9-character organisation code bodies, one per entity, for its scheme."""
    n = len(scheme)
    out = np.empty(n, dtype=object)
    alphabet = np.array(list(ALPHABET))
    letter_values = np.array([_gb11714_value(c) for c in ALPHABET], dtype=np.int64)
    for kind, prefix, free in ((SCHEME_MA, "MA", 6), (SCHEME_L, "L", 7)):
        sel = np.flatnonzero(scheme == kind)
        digits = _digits(_bijection(rng, len(sel), len(ALPHABET) ** free), len(ALPHABET), free)
        values = np.concatenate(
            [np.tile([_gb11714_value(c) for c in prefix], (len(sel), 1)), letter_values[digits]],
            axis=1,
        )
        text = np.full(len(sel), prefix, dtype=object)
        for k in range(free):
            text = text + alphabet[digits[:, k]].astype(object)
        out[sel] = text + _org_check(values)
    sel = np.flatnonzero(scheme == SCHEME_DIGITS)
    # Old codes start with a non-zero digit, as issued by the former quality bureaus.
    numbers = _bijection(rng, len(sel), 9 * 10**7) + 10**7
    digits = _digits(numbers, 10, 8)
    text = np.array([f"{x:08d}" for x in numbers.tolist()], dtype=object)
    out[sel] = text + _org_check(digits)
    return out


def credit_codes(category: np.ndarray, region: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Full 18-character codes as a bytes array ('S18'), built in blocks to bound memory."""
    out = np.empty(len(body), dtype="S18")
    for lo in range(0, len(body), 100_000):
        s = slice(lo, lo + 100_000)
        out[s] = [
            (b17 := f"9{c}{r}{o}") + check_char(b17)
            for c, r, o in zip(
                category[s].tolist(), region[s].tolist(), body[s].tolist(), strict=True
            )
        ]
    return out
