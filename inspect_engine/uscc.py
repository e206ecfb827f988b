"""统一社会信用代码 (unified social credit code), GB 32100-2015.

18 characters from a 31-character alphabet (no I, O, Z, S, V); the last one is a
check character computed from the first 17 with weights 3^i mod 31.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def check_char(body: str) -> str:
    """Check character for the first 17 characters of a code."""
    if len(body) != 17:
        raise ValueError("the body of a credit code has 17 characters")
    total = sum(_VALUE[ch] * w for ch, w in zip(body, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """Why `code` is not a valid credit code, or None if it is."""
    if len(code) != 18:
        return f"has {len(code)} characters, expected 18"
    bad = sorted({ch for ch in code if ch not in _VALUE})
    if bad:
        return f"characters not allowed in a credit code: {''.join(bad)}"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"wrong check character {code[17]!r}, expected {expected!r}"
    return None


def is_valid(code: str) -> bool:
    return problem(code) is None
