"""Fuzzing the import reader: whatever the bytes, it yields rows or raises FileRejected,
never another exception, and every error names a row, a column of the format (or none)
and a short reason."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_engine.formats.reader import FileRejected, ParsedRow, RowError, iter_rows
from inspect_engine.formats.spec import FORMATS, TASKS, FileFormat

ALL_FORMATS = [*FORMATS.values(), TASKS]
MAX_REASON = 400
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Cells: plausible values of the formats, and the characters that break CSV and parsers.
GOOD_CELLS = [
    "914403001922038216",
    "2026-12-01",
    "SAMR",
    "440106",
    "440106-01",
    "H62",
    "company",
    "active",
    "true",
    "0.1",
    "-23.5",
    "food;drug",
    "食品经营",
]
NASTY = st.sampled_from(['"', '""', ",", "\n", "\r", "\r\n", "\x00", "\ufeff", "'=1+1", ";", " "])
CELLS = st.one_of(
    st.sampled_from(GOOD_CELLS),
    st.text(max_size=12),
    st.lists(st.one_of(NASTY, st.sampled_from(GOOD_CELLS)), max_size=4).map("".join),
    st.builds(lambda n, ch: ch * n, st.integers(0, 120_000), st.sampled_from('x,"\n;')),
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-reader-") as made:
        yield Path(made)


def read(fmt: FileFormat, content: bytes, folder: Path) -> list[ParsedRow] | FileRejected:
    """The rows, or the rejection; any other exception fails the test."""
    path = folder / "fuzz.csv"
    path.write_bytes(content)
    warnings: list[str] = []
    try:
        rows = list(iter_rows(fmt, path, warnings))
    except FileRejected as exc:
        assert exc.errors
        check_errors(fmt, exc.errors)
        return exc
    assert all(len(w) < MAX_REASON for w in warnings), warnings
    numbers = [r.row for r in rows]
    assert numbers == sorted(set(numbers)) and all(n >= 2 for n in numbers)
    for row in rows:
        check_errors(fmt, list(row.errors))
        assert all(e.row == row.row for e in row.errors)
        if not row.errors:
            assert set(row.values) == set(fmt.names)
    return rows


def check_errors(fmt: FileFormat, errors: list[RowError]) -> None:
    for error in errors:
        assert error.row >= 1
        assert error.column is None or error.column in fmt.names, error.column[:80]
        assert error.reason and len(error.reason) < MAX_REASON, error.reason[:200]


@FUZZ
@given(fmt=st.sampled_from(ALL_FORMATS), content=st.binary(max_size=3000))
def test_random_bytes(folder: Path, fmt: FileFormat, content: bytes) -> None:
    read(fmt, content, folder)


@FUZZ
@given(fmt=st.sampled_from(ALL_FORMATS), tail=st.binary(max_size=3000), crlf=st.booleans())
def test_random_bytes_below_a_good_header(
    folder: Path, fmt: FileFormat, tail: bytes, crlf: bool
) -> None:
    header = ",".join(fmt.names) + ("\r\n" if crlf else "\n")
    outcome = read(fmt, header.encode() + tail, folder)
    if isinstance(outcome, FileRejected):  # only the encoding or an endless line can do it
        assert all(e.row >= 2 and "UTF-8" in e.reason for e in outcome.errors), outcome


@st.composite
def tables(draw: st.DrawFn) -> tuple[FileFormat, list[str], list[list[str]]]:
    """A header (names of the format, shuffled, some dropped, some unknown) and rows of
    header width."""
    fmt = draw(st.sampled_from(ALL_FORMATS))
    names = draw(st.permutations(fmt.names))
    names = names[: draw(st.integers(1, len(names)))]
    names += draw(st.lists(st.sampled_from(["remark", "Name", " name", "x"]), max_size=2))
    rows = draw(st.lists(st.lists(CELLS, min_size=len(names), max_size=len(names)), max_size=5))
    return fmt, names, rows


@FUZZ
@given(table=tables(), bom=st.booleans())
def test_well_quoted_files_have_no_structural_errors(
    folder: Path, table: tuple[FileFormat, list[str], list[list[str]]], bom: bool
) -> None:
    """Written by a CSV library as RFC 4180 says (CRLF, so a bare CR in a value is quoted
    too), a file never gets a 'malformed CSV' or field-count error: every row comes back,
    with errors (if any) naming a column."""
    fmt, header, rows = table
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([header, *rows])
    content = ("\ufeff" if bom else "") + text.getvalue()
    outcome = read(fmt, content.encode("utf-8", errors="surrogatepass"), folder)
    if isinstance(outcome, FileRejected):
        return  # a header problem: duplicates, a missing column, a NUL, a surrogate
    kept = [r for r in rows if r != [""] * len(header) or len(header) > 1]
    assert len(outcome) == len(kept), (len(outcome), len(kept))
    for row in outcome:
        assert all(e.column is not None for e in row.errors), row.errors


@FUZZ
@given(
    table=tables(),
    separator=st.sampled_from([",", ";", "\t"]),
    ending=st.sampled_from(["\n", "\r\n", "\r", ""]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"]),
)
def test_badly_written_files(
    folder: Path,
    table: tuple[FileFormat, list[str], list[list[str]]],
    separator: str,
    ending: str,
    encoding: str,
) -> None:
    """Joined without quoting, with another separator or line end, in another encoding."""
    fmt, header, rows = table
    text = ending.join(separator.join(cells) for cells in [header, *rows])
    read(fmt, text.encode(encoding, errors="replace"), folder)
