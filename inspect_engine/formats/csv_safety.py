"""CSV files a spreadsheet opens without running anything (CSV / formula injection).

A cell that starts with = + - @ (or a tab or carriage return) is read by Excel, WPS and
LibreOffice as a formula; names and addresses come from outside, so every CSV the engine
writes passes its cells through `safe_cell`: such text gets a leading apostrophe, which
spreadsheets show as nothing and which `unescape_formula` removes again on import.

Numbers are data: in a column that holds numbers by contract (registered capital, lat/lon,
probabilities), a plain number such as -23.1 is written as it is. The rule is in
docs/csv-safety.md."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from typing import TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def formula_like(text: str) -> bool:
    # Leading apostrophes count too, so that escaping stays reversible: "'=x" -> "''=x".
    return text.lstrip("'").startswith(FORMULA_STARTS)


def safe_cell(value: object, numeric: bool = False) -> str:
    """The cell text to write: formula-like text gets a leading apostrophe, except a plain
    number in a numeric column."""
    text = "" if value is None else str(value)
    if numeric and _PLAIN_NUMBER.fullmatch(text):
        return text
    return "'" + text if formula_like(text) else text


def unescape_formula(text: str) -> str:
    """The inverse of `safe_cell` for text: one leading apostrophe before a formula-like
    start is dropped; any other text is returned unchanged."""
    if text.startswith("'") and formula_like(text):
        return text[1:]
    return text


class SafeWriter:
    """`csv.writer` whose cells go through `safe_cell`; `numeric` flags, by position, the
    columns that hold numbers. Lines end in \\r\\n as RFC 4180 says: the csv module quotes
    only the characters of the line end, and a bare \\r in a value left unquoted would
    split the row when the file is read back."""

    def __init__(
        self, out: TextIO, numeric: Sequence[bool] = (), *, lineterminator: str = "\r\n"
    ) -> None:
        self._writer = csv.writer(out, lineterminator=lineterminator)
        self._numeric = tuple(numeric)

    def writerow(self, values: Iterable[object]) -> None:
        cells = []
        for position, value in enumerate(values):
            numeric = position < len(self._numeric) and self._numeric[position]
            cells.append(safe_cell(value, numeric))
        self._writer.writerow(cells)
