"""Streaming CSV reader: UTF-8 (optional BOM), header row, RFC 4180 quoting.

Yields one parsed row at a time with its row number (the header is row 1, as in a
spreadsheet) and the problems found in it; never holds the file in memory."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from inspect_engine.formats.spec import FileFormat, cross_field_problems

MAX_FIELD = 100_000  # characters; a longer cell is refused, not read
csv.field_size_limit(MAX_FIELD)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RowError:
    row: int  # 1 is the header
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class FileRejected(Exception):
    """The file cannot be read at all (encoding, header). Nothing was written."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class ParsedRow:
    row: int
    values: dict[str, Any]
    errors: tuple[RowError, ...]


class _CountingReader(io.RawIOBase):
    """Counts the bytes the text layer has pulled, for the progress bar."""

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.consumed += len(data)
        return len(data)


def read_header(fmt: FileFormat, header: list[str]) -> tuple[list[str], list[str]]:
    """Checks the header; returns (warnings, columns of the format present)."""
    errors: list[RowError] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            errors.append(RowError(1, name, "column appears twice in the header"))
        seen.add(name)
    missing = [c for c in fmt.required if c not in seen]
    if missing:
        errors.append(RowError(1, None, f"missing required column(s): {', '.join(missing)}"))
    if errors:
        raise FileRejected(errors)
    extra = [h for h in header if h not in fmt.names]
    warnings = [f"extra column {name!r} is ignored" for name in extra]
    return warnings, [c for c in fmt.names if c in seen]


def iter_rows(
    fmt: FileFormat,
    path: Path,
    warnings: list[str],
    progress: Progress | None = None,
) -> Iterator[ParsedRow]:
    total = path.stat().st_size
    with path.open("rb") as raw:
        counter = _CountingReader(raw)
        buffered = io.BufferedReader(counter, buffer_size=1 << 20)
        text = io.TextIOWrapper(buffered, encoding="utf-8-sig", errors="strict", newline="")
        reader = csv.reader(text, strict=True)
        try:
            yield from _parse(fmt, reader, warnings, counter, total, progress)
        except UnicodeDecodeError as exc:
            raise FileRejected(
                [
                    RowError(
                        0,
                        None,
                        f"the file is not UTF-8 text ({exc.reason} near byte "
                        f"{counter.consumed - len(exc.object) + exc.start})",
                    )
                ]
            ) from None


def _parse(
    fmt: FileFormat,
    reader: Any,
    warnings: list[str],
    counter: _CountingReader,
    total: int,
    progress: Progress | None,
) -> Iterator[ParsedRow]:
    row_no = 1
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected([RowError(1, None, "the file is empty: no header row")]) from None
    except csv.Error as exc:
        raise FileRejected([RowError(1, None, f"unreadable header: {exc}")]) from None
    header_warnings, present = read_header(fmt, header)
    warnings.extend(header_warnings)
    index = {name: header.index(name) for name in present}
    columns = [c for c in fmt.columns]
    width = len(header)
    while True:
        row_no += 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield ParsedRow(row_no, {}, (RowError(row_no, None, f"malformed CSV: {exc}"),))
            continue
        if progress is not None and row_no % 4096 == 0:
            progress(counter.consumed, total)
        if not cells:
            continue  # a blank line
        if len(cells) != width:
            reason = f"has {len(cells)} fields, the header has {width}"
            yield ParsedRow(row_no, {}, (RowError(row_no, None, reason),))
            continue
        values: dict[str, Any] = {}
        errors: list[RowError] = []
        for column in columns:
            position = index.get(column.name)
            raw = cells[position] if position is not None else ""
            if raw == "":
                if column.required:
                    errors.append(RowError(row_no, column.name, "required value is empty"))
                values[column.name] = column.default
                continue
            try:
                values[column.name] = column.parse(raw)
            except ValueError as exc:
                errors.append(RowError(row_no, column.name, str(exc)))
        if not errors:
            for column_name, reason in cross_field_problems(fmt.kind, values):
                errors.append(RowError(row_no, column_name, reason))
        yield ParsedRow(row_no, values, tuple(errors))
    if progress is not None:
        progress(total, total)
