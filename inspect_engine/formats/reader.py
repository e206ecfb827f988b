"""Streaming CSV reader: UTF-8 (optional BOM), header row, RFC 4180 quoting.

Yields one parsed row at a time with its row number (the header is row 1, as in a
spreadsheet) and the problems found in it; never holds the file in memory. Whatever the
bytes, it yields rows or raises FileRejected: a file that is not UTF-8, an unusable header
or an endless line rejects the file, naming the row and the reason; a malformed row is an
error of that row."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from inspect_engine.formats import workbook
from inspect_engine.formats.fields import normalise_space, shown
from inspect_engine.formats.spec import FileFormat, cross_field_problems

CHUNK = 1 << 20  # bytes read at a time
MAX_LINE = 16 << 20  # bytes without a line end; no real row comes near (a value may fill it)
MAX_COLUMNS = 1000  # columns in a header; every format has fewer than 20
MAX_NAMED_EXTRA = 10  # extra columns named one by one in the warnings
# Global to the csv module: no field may be longer than a line, except one spanning lines
# inside quotes, which is then reported as a quote left open.
csv.field_size_limit(MAX_LINE)

Progress = Callable[[int, int], None]
# The first bytes of a ZIP archive (.xlsx) and of an OLE2 compound file (.xls).
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


@dataclass(frozen=True)
class RowError:
    row: int  # 1 is the header
    column: str | None
    reason: str
    sheet: str | None = None  # the workbook's sheet, for .xlsx files

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        if self.sheet is not None:
            where = f"sheet {self.sheet!r}, {where}"
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


class _Unreadable(Exception):
    """Raised from inside the csv module's input; the caller knows the row being read."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class _Lines:
    """The file as decoded lines (ends kept: \\n, \\r\\n or \\r), for csv.reader.

    Decoding a chunk at a time is fast; on a decoding error the good lines before the bad
    one are handed over first, so that the error is reported on the row that holds it."""

    def __init__(self, raw: IO[bytes]):
        self._raw = raw
        self.consumed = 0  # bytes read, for the progress bar
        self.offset = 0  # bytes decoded
        self.nul = False  # a NUL character was seen: the rows are checked for it

    def __iter__(self) -> Iterator[str]:
        pending = b""
        at_start = True
        while True:
            chunk = self._raw.read(CHUNK)
            self.consumed += len(chunk)
            data = pending + chunk
            if at_start:
                if len(data) < len(codecs.BOM_UTF8) and chunk:
                    pending = data
                    continue
                data = self._without_bom(data)
                at_start = False
            if not chunk:
                if data:
                    yield from self._decoded(data)
                return
            # A line ends at \n or at \r; a \r ending the chunk may be half of \r\n.
            end = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
            pending = data[end:]
            if len(pending) > MAX_LINE:
                raise _Unreadable(
                    f"a line runs over {MAX_LINE:,} bytes without ending: not a CSV file of "
                    "this kind"
                )
            if end:
                yield from self._decoded(data[:end])

    def _without_bom(self, data: bytes) -> bytes:
        if data.startswith(codecs.BOM_UTF8):
            self.offset = len(codecs.BOM_UTF8)
            return data[len(codecs.BOM_UTF8) :]
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise _Unreadable(
                "the file is UTF-16 (or UTF-32) text, not UTF-8: save it as UTF-8 "
                "(in Excel: 'CSV UTF-8')"
            )
        if data.startswith(_WORKBOOKS):
            raise _Unreadable(
                "the file is a spreadsheet workbook (.xlsx or .xls), not CSV text: "
                "save it as 'CSV UTF-8'"
            )
        return data

    def _decoded(self, data: bytes) -> Iterator[str]:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad_at = self.offset + exc.start
            start = max(data.rfind(b"\n", 0, exc.start), data.rfind(b"\r", 0, exc.start)) + 1
            if start:
                yield from self._decoded(data[:start])
            raise _Unreadable(_not_utf8(bad_at, data[start:].splitlines()[0])) from None
        self.offset += len(data)
        if "\x00" in text:
            self.nul = True
        yield from io.StringIO(text, newline="")


def _not_utf8(at: int, line: bytes) -> str:
    if b"\x00" in line:
        guess = "it holds NUL bytes: UTF-16 text, or not text at all"
    elif _decodes(line, "gb18030"):
        guess = "it looks like GBK/GB18030, the Chinese Windows encoding"
    else:
        guess = "binary data or an unknown encoding"
    return (
        f"the file is not UTF-8 text (byte {at:,}: {guess}); save it as UTF-8 "
        "(in Excel: 'CSV UTF-8')"
    )


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _next_record(reader: Any, row: int) -> list[str] | None:
    """The next record, None at the end; csv.Error is the caller's (a bad row)."""
    try:
        return next(reader)  # type: ignore[no-any-return]
    except StopIteration:
        return None
    except _Unreadable as exc:
        raise FileRejected([RowError(row, None, exc.reason)]) from None


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "unexpected end of data" in text:
        reason = "a quoted value is never closed (a '\"' is missing), so the file ends inside it"
    elif "field larger than field limit" in text:
        reason = f"a value runs over {MAX_LINE:,} characters: is a quote left open?"
    elif "expected after" in text:
        reason = "text follows a closing quote: a '\"' inside a quoted value must be doubled"
    else:
        reason = text
    return f"malformed CSV: {reason}"


def _suggestion(fmt: FileFormat, name: str) -> str | None:
    """The format's column a header name means, when only spaces, a BOM or case differ."""
    cleaned = name.strip(" \t\ufeff\u3000").lower()
    by_lower = {c.lower(): c for c in fmt.names}
    found = by_lower.get(cleaned)
    return found if found is not None and found != name else None


def read_header(fmt: FileFormat, header: list[str]) -> tuple[list[str], list[str]]:
    """Checks the header; returns (warnings, columns of the format present)."""
    if not header or header == [""]:
        raise FileRejected([RowError(1, None, "the header row is blank: it must name the columns")])
    if len(header) > MAX_COLUMNS:
        reason = (
            f"the header has {len(header):,} columns; {fmt.kind} files have "
            f"{len(fmt.names)} (at most {MAX_COLUMNS:,} columns are read)"
        )
        raise FileRejected([RowError(1, None, reason)])
    if any("\x00" in name for name in header):
        reason = "the header holds NUL characters: the file is UTF-16 or not text; save it as UTF-8"
        raise FileRejected([RowError(1, None, reason)])
    counts = Counter(header)
    extra = [name for name in counts if name not in fmt.names]
    meant = {_suggestion(fmt, name): name for name in extra}
    errors = [
        RowError(1, name, f"column appears {counts[name]} times in the header")
        for name in fmt.names
        if counts[name] > 1
    ]
    for name in fmt.required:
        if name in counts:
            continue
        reason = "required column is missing from the header"
        if name in meant:
            reason += f" (the header has {shown(meant[name])}: remove what surrounds it)"
        errors.append(RowError(1, name, reason))
    if errors:
        raise FileRejected(errors)
    warnings = []
    for name in extra[:MAX_NAMED_EXTRA]:
        hint = _suggestion(fmt, name)
        also = f" (is it {hint!r} with spaces around it?)" if hint else ""
        warnings.append(f"extra column {shown(name)} is ignored{also}")
    if len(extra) > MAX_NAMED_EXTRA:
        warnings.append(f"... and {len(extra) - MAX_NAMED_EXTRA:,} more extra columns are ignored")
    return warnings, [c for c in fmt.names if c in counts]


def iter_rows(
    fmt: FileFormat,
    path: Path,
    warnings: list[str],
    progress: Progress | None = None,
) -> Iterator[ParsedRow]:
    if workbook.is_workbook(path):
        yield from _parse_workbook(fmt, path, warnings, progress)
        return
    total = path.stat().st_size
    with path.open("rb") as raw:
        yield from _parse(fmt, _Lines(raw), warnings, total, progress)


def _parse_workbook(
    fmt: FileFormat, path: Path, warnings: list[str], progress: Progress | None
) -> Iterator[ParsedRow]:
    """The first sheet, parsed as CSV text is; every error names the sheet."""
    try:
        with workbook.first_sheet(path) as (name, sheets, rows):
            if sheets > 1:
                warnings.append(
                    f"only the first sheet {name!r} is read ({sheets - 1} more ignored)"
                )
            for parsed in _workbook_rows(fmt, name, rows, warnings, progress):
                yield _on_sheet(parsed, name)
    except workbook.WorkbookUnreadable as exc:
        raise FileRejected([RowError(1, None, str(exc))]) from None
    except FileRejected as exc:
        raise FileRejected([replace(e, sheet=e.sheet or name) for e in exc.errors]) from None


def _on_sheet(parsed: ParsedRow, sheet: str) -> ParsedRow:
    if not parsed.errors:
        return parsed
    return replace(parsed, errors=tuple(replace(e, sheet=sheet) for e in parsed.errors))


def _workbook_rows(
    fmt: FileFormat,
    sheet: str,
    rows: Iterator[tuple[object, ...]],
    warnings: list[str],
    progress: Progress | None,
) -> Iterator[ParsedRow]:
    header_cells = next(rows, None)
    if header_cells is None:
        raise FileRejected([RowError(1, None, "the sheet is empty: no header row", sheet)])
    header = _trimmed([workbook.cell_text(v, False) for v in header_cells])
    header_warnings, present = read_header(fmt, header)
    warnings.extend(header_warnings)
    index = {name: header.index(name) for name in present}
    codes = {index[c] for c in workbook.credit_code_columns(fmt) if c in index}
    row_no, data_rows = 1, 0
    normalised = dict.fromkeys((c.name for c in fmt.columns if c.free_text), 0)
    for values in rows:
        row_no += 1
        if progress is not None and row_no % 4096 == 0:
            progress(row_no, row_no)  # a streamed sheet's length is unknown beforehand
        cells, errors = _cells_as_text(row_no, values, header, codes)
        if not any(cells) and not errors:
            continue  # a blank row
        data_rows += 1
        if len(cells) > len(header):
            yield ParsedRow(row_no, {}, (_width_error(fmt, row_no, header, cells),))
            continue
        cells += [""] * (len(header) - len(cells))
        yield _parsed_row(fmt, row_no, index, cells, True, errors, normalised=normalised)
    _warn_normalised(warnings, normalised)
    if row_no >= workbook.MAX_SHEET_ROWS:
        reason = (
            f"the sheet reaches Excel's limit of {workbook.MAX_SHEET_ROWS:,} rows, so rows "
            "may have been cut off: send a directory this large as CSV"
        )
        raise FileRejected([RowError(row_no, None, reason, sheet)])
    if data_rows == 0:
        warnings.append("the file has no rows below the header")


def _cells_as_text(
    row_no: int, values: tuple[object, ...], header: list[str], codes: set[int]
) -> tuple[list[str], list[RowError]]:
    cells: list[str] = []
    errors: list[RowError] = []
    for at, value in enumerate(values):
        # text and empty cells first, without a call: nearly every cell of a directory
        if type(value) is str:
            cells.append(value)
            continue
        if value is None:
            cells.append("")
            continue
        try:
            cells.append(workbook.cell_text(value, at in codes))
        except ValueError as exc:
            column = header[at] if at < len(header) else None
            errors.append(RowError(row_no, column, str(exc)))
            cells.append("")
    return _trimmed(cells), errors


def _trimmed(cells: list[str]) -> list[str]:
    """Without the empty cells at the end (a sheet's rows vary in length)."""
    end = len(cells)
    while end and cells[end - 1] == "":
        end -= 1
    return cells[:end]


def column_values(path: Path, column: str) -> list[tuple[int, str]]:
    """(row, value) of one column, tokenised exactly as iter_rows does; malformed rows and
    empty values are left out (the import reports them). FileRejected if unreadable."""
    if workbook.is_workbook(path):
        return _workbook_column_values(path, column)
    with path.open("rb") as raw:
        reader = csv.reader(_Lines(raw), strict=True)
        try:
            header = _next_record(reader, 1) or []
        except csv.Error:
            return []
        if column not in header or len(header) > MAX_COLUMNS:
            return []
        at = header.index(column)
        found: list[tuple[int, str]] = []
        row = 1
        while True:
            row += 1
            try:
                cells = _next_record(reader, row)
            except csv.Error:
                continue
            if cells is None:
                return found
            if len(cells) == len(header) and cells[at]:
                found.append((row, cells[at]))


def _workbook_column_values(path: Path, column: str) -> list[tuple[int, str]]:
    try:
        with workbook.first_sheet(path) as (_, _, rows):
            header = [workbook.cell_text(v, False) for v in next(rows, ())]
            if column not in header:
                return []
            at = header.index(column)
            found: list[tuple[int, str]] = []
            for row, values in enumerate(rows, start=2):
                try:
                    text = workbook.cell_text(values[at], False) if at < len(values) else ""
                except ValueError:
                    continue
                if text:
                    found.append((row, text))
            return found
    except workbook.WorkbookUnreadable:
        return []


def _parse(
    fmt: FileFormat,
    lines: _Lines,
    warnings: list[str],
    total: int,
    progress: Progress | None,
) -> Iterator[ParsedRow]:
    reader = csv.reader(lines, strict=True)
    try:
        header = _next_record(reader, 1)
    except csv.Error as exc:
        raise FileRejected([RowError(1, None, f"unreadable header: {_csv_problem(exc)}")]) from None
    if header is None:
        raise FileRejected([RowError(1, None, "the file is empty: no header row")])
    header_warnings, present = read_header(fmt, header)
    warnings.extend(header_warnings)
    index = {name: header.index(name) for name in present}
    width = len(header)
    row_no = 1
    data_rows = 0
    normalised = dict.fromkeys((c.name for c in fmt.columns if c.free_text), 0)
    while True:
        row_no += 1
        try:
            cells = _next_record(reader, row_no)
        except csv.Error as exc:
            data_rows += 1
            yield ParsedRow(row_no, {}, (RowError(row_no, None, _csv_problem(exc)),))
            continue
        if cells is None:
            break
        if progress is not None and row_no % 4096 == 0:
            progress(lines.consumed, total)
        if not cells:
            continue  # a blank line
        data_rows += 1
        if len(cells) != width:
            yield ParsedRow(row_no, {}, (_width_error(fmt, row_no, header, cells),))
            continue
        yield _parsed_row(fmt, row_no, index, cells, lines.nul, normalised=normalised)
    _warn_normalised(warnings, normalised)
    if data_rows == 0:
        warnings.append("the file has no rows below the header")
    if progress is not None:
        progress(total, total)


def _warn_normalised(warnings: list[str], normalised: dict[str, int]) -> None:
    warnings.extend(
        f"{name}: {count:,} values had surrounding or repeated spaces, normalised"
        for name, count in normalised.items()
        if count
    )


def _parsed_row(
    fmt: FileFormat,
    row_no: int,
    index: dict[str, int],
    cells: list[str],
    check_nul: bool,
    errors: list[RowError] | None = None,
    *,
    normalised: dict[str, int],
) -> ParsedRow:
    """Parses the format's columns of one record; `errors` found earlier are kept. Free
    text has its spaces normalised, counted per column in `normalised`."""
    values: dict[str, Any] = {}
    errors = list(errors or ())
    failed = {e.column for e in errors}
    for column in fmt.columns:
        if column.name in failed:
            continue
        position = index.get(column.name)
        raw = cells[position] if position is not None else ""
        if column.free_text and raw:
            clean = normalise_space(raw)
            normalised[column.name] += clean != raw
            raw = clean
        if raw == "":
            if column.required:
                errors.append(RowError(row_no, column.name, "required value is empty"))
            values[column.name] = column.default
            continue
        if check_nul and "\x00" in raw:
            errors.append(RowError(row_no, column.name, "holds a NUL character (\\0)"))
            continue
        try:
            values[column.name] = column.parse(raw)
        except ValueError as exc:
            errors.append(RowError(row_no, column.name, str(exc)))
    if not errors:
        for column_name, reason in cross_field_problems(fmt.kind, values):
            errors.append(RowError(row_no, column_name, reason))
    return ParsedRow(row_no, values, tuple(errors))


def _width_error(fmt: FileFormat, row: int, header: list[str], cells: list[str]) -> RowError:
    reason = f"has {len(cells)} fields, the header has {len(header)}"
    if len(cells) > len(header):
        return RowError(row, None, reason + ": is a comma inside a value left unquoted?")
    absent = [name for name in header[len(cells) :] if name in fmt.names]
    first = absent[0] if absent else None
    return RowError(row, first, reason + ": the last value(s) are missing")
