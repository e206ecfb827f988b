"""统一社会信用代码 for synthetic entities (GB 32100-2015).

Layout: 1 registering authority (9 = market supervision), 1 category (1 enterprise,
2 individual business, 3 farmers' cooperative), 6 region code, 9 organisation code body
(GB 11714: 8 characters and its own check character), 1 check character (GB 32100).

Organisation code bodies follow the schemes seen in real codes: entities registered since
the reform of October 2015 carry `MA` + 6 characters; older enterprises an 8-digit
organisation code; older individual businesses an `L` series. Every body is drawn once
from a random bijection of its scheme's space, so codes never repeat. Characters are kept
as uint8 matrices (one byte per character) so that millions of codes stay small.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from inspect_engine.uscc import ALPHABET, check_char

REFORM_DAY = (date(2015, 10, 1) - date(1970, 1, 1)).days
SCHEME_MA, SCHEME_DIGITS, SCHEME_L = range(3)
_GB11714_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
# GB 11714 character values: digits are themselves, letters count A = 10 ... Z = 35.
_VALUE_OF_BYTE = np.zeros(128, dtype=np.int64)
_VALUE_OF_BYTE[ord("0") : ord("9") + 1] = np.arange(10)
_VALUE_OF_BYTE[ord("A") : ord("Z") + 1] = np.arange(10, 36)
_BLOCK = 500_000


def _org_check(chars: np.ndarray) -> np.ndarray:
    """GB 11714 check characters (as bytes) for an (n, 8) uint8 character matrix."""
    c9 = 11 - (_VALUE_OF_BYTE[chars] @ _GB11714_WEIGHTS) % 11
    return np.where(c9 == 10, ord("X"), np.where(c9 == 11, ord("0"), ord("0") + c9)).astype(
        np.uint8
    )


def _bijection(rng: np.random.Generator, n: int, space: int) -> np.ndarray:
    """n distinct numbers of [0, space) in random order, via a random affine map."""
    primes = (1_000_003, 1_299_709, 15_485_863, 32_452_843, 49_979_687)
    a = next(int(p) for p in rng.permutation(primes) if space % int(p) != 0)
    b = int(rng.integers(0, space))
    return rng.permutation((a * np.arange(n, dtype=np.int64) + b) % space)


def _digits(values: np.ndarray, base: int, width: int) -> np.ndarray:
    """Mixed-radix digits, most significant first: an (n, width) array."""
    out = np.empty((len(values), width), dtype=np.int64)
    v = values.copy()
    for k in range(width - 1, -1, -1):
        out[:, k] = v % base
        v //= base
    return out


def organisation_bodies(rng: np.random.Generator, scheme: np.ndarray) -> np.ndarray:
    """Unique 9-character organisation code bodies ('S9'), one per entity, for its scheme."""
    out = np.zeros((len(scheme), 9), dtype=np.uint8)
    for kind in (SCHEME_MA, SCHEME_L, SCHEME_DIGITS):
        sel = np.flatnonzero(scheme == kind)
        if kind == SCHEME_DIGITS:
            # Old codes start with a non-zero digit, as issued by the former quality bureaus.
            numbers, prefix, base, free = _bijection(rng, len(sel), 9 * 10**7) + 10**7, b"", 10, 8
        else:
            prefix = b"MA" if kind == SCHEME_MA else b"L"
            free = 8 - len(prefix)
            numbers, base = _bijection(rng, len(sel), len(ALPHABET) ** free), len(ALPHABET)
        for lo in range(0, len(sel), _BLOCK):
            rows = sel[lo : lo + _BLOCK]
            digits = _digits(numbers[lo : lo + _BLOCK], base, free)
            chars = np.empty((len(rows), 8), dtype=np.uint8)
            chars[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
            chars[:, len(prefix) :] = _ALPHABET_BYTES[digits] if base != 10 else ord("0") + digits
            out[rows, :8] = chars
            out[rows, 8] = _org_check(chars)
    return out.view("S9").ravel()


def credit_codes(category: np.ndarray, region: np.ndarray, body: np.ndarray) -> np.ndarray:
    """Full 18-character codes ('S18') from category ('S1'), region ('S6') and organisation
    body ('S9'); the check character comes from inspect_engine.uscc."""
    n = len(body)
    chars = np.empty((n, 17), dtype=np.uint8)
    chars[:, 0] = ord("9")
    chars[:, 1] = np.asarray(category, dtype="S1").view(np.uint8)
    chars[:, 2:8] = np.asarray(region, dtype="S6").view(np.uint8).reshape(n, 6)
    chars[:, 8:] = np.asarray(body, dtype="S9").view(np.uint8).reshape(n, 9)
    bodies = chars.view("S17").ravel()
    out = np.empty(n, dtype="S18")
    for lo in range(0, n, _BLOCK):
        block = bodies[lo : lo + _BLOCK].tolist()
        out[lo : lo + _BLOCK] = [b + check_char(b.decode("ascii")).encode("ascii") for b in block]
    return out
