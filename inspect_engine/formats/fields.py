"""Field parsers. Each takes the raw cell text and returns a value or raises ValueError
with a reason a person can act on."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from inspect_engine import uscc
from inspect_engine.formats.csv_safety import unescape_formula

Parser = Callable[[str], Any]

_TOKEN = re.compile(r"^[a-z][a-z0-9_]*$")
_INDUSTRY = re.compile(r"^[A-T][0-9]{2}$")
_INDUSTRY_PREFIX = re.compile(r"^[A-T]([0-9]{1,2})?$")
_DISTRICT = re.compile(r"^[1-9][0-9]{5}$")
# Space at an end, a run of two, or any space but " " and a line break (e.g. U+3000, NBSP).
_SPACE_TO_FIX = re.compile(r"^\s|\s$|[^\S\n]{2}|[^\S \n]")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")
# DATA-FORMATS: a code that reaches a URL or a file name (task codes) has no `/` and no
# `..`, so it can never climb out of a directory or split a path.
_URL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
MAX_NUMBER = 40  # characters; no number of the formats is longer (decimals cost O(n) to read)
MAX_LIST = 10_000  # characters of a ';'-list
SHOWN = 40  # characters of a bad value quoted back in an error


def shown(raw: str) -> str:
    """The value as quoted in an error: short, so a 10 MB cell never makes a 10 MB report."""
    if len(raw) <= SHOWN:
        return repr(raw)
    return f"{raw[:SHOWN]!r}… ({len(raw):,} characters)"


def _number_text(raw: str) -> str:
    if len(raw) > MAX_NUMBER:
        raise ValueError(f"{shown(raw)} is not a number (longer than {MAX_NUMBER} characters)")
    return raw


def normalise_space(raw: str) -> str:
    """Free text as a registry means it: every run of spaces (ASCII, the full-width U+3000,
    NBSP and the other Unicode spaces, tabs) becomes one ASCII space and the ends are
    trimmed; line breaks are kept (a legal basis may hold several lines), blank lines
    at the ends are not."""
    if not _SPACE_TO_FIX.search(raw):
        return raw  # the common case, without splitting
    lines = (" ".join(line.split()) for line in raw.replace("\r\n", "\n").split("\n"))
    return "\n".join(lines).strip("\n")


class FreeText:
    """Free text (names, addresses, titles, notes, reasons). Spaces are normalised
    (`normalise_space`; the reader counts what it changed). A leading apostrophe before
    = + - @ is the escape our CSV exports add so that spreadsheets do not run the cell
    (docs/csv-safety.md): it is removed, so that an exported file imports back unchanged."""

    def __init__(self, max_len: int) -> None:
        self.max_len = max_len

    def __call__(self, raw: str) -> str:
        value = unescape_formula(normalise_space(raw))
        if len(value) > self.max_len:
            raise ValueError(f"longer than {self.max_len} characters ({len(value):,})")
        return value


def text(max_len: int) -> FreeText:
    return FreeText(max_len)


def code(max_len: int = 32) -> Parser:
    """An identifier such as an item code, an office code or a certificate number."""

    def parse(raw: str) -> str:
        if len(raw) > max_len:
            raise ValueError(f"longer than {max_len} characters ({len(raw):,})")
        if not _CODE.match(raw):
            raise ValueError(f"{shown(raw)} is not a code (letters, digits, '-', '_', '.', '/')")
        return raw

    return parse


def url_code(max_len: int = 64) -> Parser:
    """A code that names a page or a file (a task code): letters, digits, '-', '_' and
    '.', starting with a letter or digit; never '/' and never '..'."""

    def parse(raw: str) -> str:
        if len(raw) > max_len:
            raise ValueError(f"longer than {max_len} characters ({len(raw):,})")
        problem = url_code_problem(raw)
        if problem is not None:
            raise ValueError(problem)
        return raw

    return parse


def url_code_problem(raw: str) -> str | None:
    """Why a code cannot name a page or a file, or None if it can."""
    if "/" in raw or "\\" in raw:
        return f"{shown(raw)} contains a slash: codes used in URLs and file names may not"
    if ".." in raw:
        return f"{shown(raw)} contains '..': codes used in URLs and file names may not"
    if not _URL_CODE.match(raw):
        return (
            f"{shown(raw)} is not a code for URLs and file names (letters, digits, '-', '_' "
            "and '.', starting with a letter or digit)"
        )
    return None


# A liaison's address (联络员): an e-mail address, or a mainland mobile number (11 digits
# starting 13–19, optionally written with +86 or 86 in front).
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9][0-9]{9})$")
MAX_EMAIL = 254  # RFC 5321's longest forward path


def contact(raw: str) -> str:
    """An e-mail address as written, or a mobile number as its 11 digits."""
    if len(raw) <= 20:
        mobile = _MOBILE.match(raw.replace(" ", "").replace("-", ""))
        if mobile:
            return mobile.group(1)
    if len(raw) <= MAX_EMAIL and _EMAIL.match(raw) and ".." not in raw:
        return raw
    raise ValueError(
        f"{shown(raw)} is neither an e-mail address nor a mainland mobile number "
        "(11 digits starting 13–19, e.g. 13800138000)"
    )


def enum(*values: str) -> Parser:
    allowed = frozenset(values)

    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(f"{shown(raw)} is not one of {', '.join(values)}")
        return raw

    return parse


def credit_code(raw: str) -> str:
    why = uscc.problem(raw)
    if why is not None:
        raise ValueError(f"{shown(raw)} is not a valid 统一社会信用代码: {why}")
    return raw


def iso_date(raw: str) -> date:
    if len(raw) != 10:
        raise ValueError(f"{shown(raw)} is not a date YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{shown(raw)} is not a date YYYY-MM-DD") from None


def decimal_at_least(minimum: Decimal) -> Parser:
    def parse(raw: str) -> Decimal:
        try:
            value = Decimal(_number_text(raw))
        except InvalidOperation:
            raise ValueError(f"{shown(raw)} is not a decimal number") from None
        if not value.is_finite() or value < minimum:
            raise ValueError(f"{raw!r} must be a number not below {minimum}")
        if abs(value) >= Decimal("1e18"):
            raise ValueError(f"{raw!r} is too large")
        return value

    return parse


def integer(minimum: int, maximum: int) -> Parser:
    def parse(raw: str) -> int:
        if not re.fullmatch(r"-?[0-9]{1,9}", raw):
            raise ValueError(f"{shown(raw)} is not a whole number")
        value = int(raw)
        if not minimum <= value <= maximum:
            raise ValueError(f"{value} is outside {minimum}..{maximum}")
        return value

    return parse


def number_between(low: float, high: float) -> Parser:
    def parse(raw: str) -> float:
        try:
            value = float(_number_text(raw))
        except ValueError:
            raise ValueError(f"{shown(raw)} is not a number") from None
        if not low <= value <= high:
            raise ValueError(f"{raw!r} is outside {low}..{high}")
        return value

    return parse


def probability(raw: str) -> float:
    """An inclusion probability: 0 < π ≤ 1."""
    try:
        value = float(_number_text(raw))
    except ValueError:
        raise ValueError(f"{shown(raw)} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{raw!r} must be above 0 and at most 1")
    return value


def ratio(raw: str) -> Decimal:
    """A sampling ratio or floor: a decimal above 0 and at most 1 (kept exact)."""
    try:
        value = Decimal(_number_text(raw))
    except InvalidOperation:
        raise ValueError(f"{shown(raw)} is not a decimal number") from None
    if not value.is_finite() or not Decimal(0) < value <= Decimal(1):
        raise ValueError(f"{raw!r} must be above 0 and at most 1")
    return value


def boolean(raw: str) -> bool:
    lowered = raw.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise ValueError(f"{shown(raw)} is not true or false")


def district(raw: str) -> str:
    if not _DISTRICT.match(raw):
        raise ValueError(f"{shown(raw)} is not a GB/T 2260 county-level code (6 digits)")
    return raw


def industry(raw: str) -> str:
    if not _INDUSTRY.match(raw):
        raise ValueError(f"{shown(raw)} is not a GB/T 4754 division (section letter + 2 digits)")
    return raw


def _list_of(raw: str, check: Callable[[str], str | None], what: str) -> str:
    """A ';'-list, kept in its text form; empty entries are refused."""
    if len(raw) > MAX_LIST:
        raise ValueError(f"the list is longer than {MAX_LIST:,} characters ({len(raw):,})")
    parts = raw.split(";")
    for part in parts:
        why = check(part)
        if why is not None:
            raise ValueError(f"{what} {shown(part)}: {why}")
    if len(set(parts)) != len(parts):
        raise ValueError(f"{what} listed twice")
    return ";".join(parts)


def token_list(raw: str) -> str:
    return _list_of(
        raw, lambda p: None if _TOKEN.match(p) else "use lower-case letters, digits, '_'", "tag"
    )


def enum_list(*values: str) -> Parser:
    allowed = frozenset(values)

    def parse(raw: str) -> str:
        return _list_of(
            raw, lambda p: None if p in allowed else f"not one of {', '.join(values)}", "value"
        )

    return parse


def industry_prefix_list(raw: str) -> str:
    return _list_of(
        raw,
        lambda p: None if _INDUSTRY_PREFIX.match(p) else "not a section letter or division",
        "industry",
    )


def district_list(raw: str) -> str:
    return _list_of(raw, lambda p: None if _DISTRICT.match(p) else "not a 6-digit code", "district")


def code_list(raw: str) -> str:
    def check(part: str) -> str | None:
        try:
            code()(part)
        except ValueError as exc:
            return str(exc)
        return None

    return _list_of(raw, check, "code")


def split_list(value: str | None) -> list[str]:
    return value.split(";") if value else []


def join_list(values: Iterable[str]) -> str | None:
    joined = ";".join(values)
    return joined or None
