"""Excel workbooks (.xlsx): the first sheet, header row first, read as the CSV reader
reads text.

openpyxl in read-only mode streams the sheet's XML, so memory stays flat however long the
sheet. Each cell becomes the text a CSV file would hold, so that the same parsers and the
same errors apply; what Excel may have changed is refused with the reason (a credit code
stored as a number has lost its leading zeros or its last digits)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path

from inspect_engine.formats import fields as f
from inspect_engine.formats.spec import FileFormat

MAX_SHEET_ROWS = 1_048_576  # Excel's limit: a sheet this long may have been cut off
# The shared text table (the part where Excel and WPS keep every distinct text) is the one
# part openpyxl holds in memory whole, at about 7 bytes of memory per byte of its XML.
# Measured: 95 bytes of table a row for a directory with three distinct texts a row, so
# Excel's 1,048,576 rows need about 100 MB of table (some 700 MB of memory). A ZIP of a
# few MB can declare gigabytes: a larger table is refused (docs/benchmarks.md).
MAX_SHARED_TEXT = 128 * 2**20
_MAX_MANIFEST = 2**20
_ZIP = b"PK\x03\x04"


class WorkbookUnreadable(Exception):
    """The file is not a workbook openpyxl can read, or it has no sheet."""


def is_workbook(path: Path) -> bool:
    """An .xlsx file: named so, or a ZIP archive whatever its name (uploads are renamed)."""
    if path.suffix.lower() == ".xlsx":
        return True
    with path.open("rb") as raw:
        return raw.read(len(_ZIP)) == _ZIP


@contextmanager
def first_sheet(path: Path) -> Iterator[tuple[str, int, Iterator[tuple[object, ...]]]]:
    """(sheet name, number of sheets, rows as tuples of cell values) of the first sheet."""
    from openpyxl import load_workbook  # imported here: CSV imports never pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    _refuse_large_shared_text(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise WorkbookUnreadable(
            f"not a readable .xlsx workbook ({type(exc).__name__}): save it again from Excel "
            "as .xlsx, or as 'CSV UTF-8'"
        ) from None
    try:
        if not book.worksheets:
            raise WorkbookUnreadable("the workbook has no sheet")
        sheet = book.worksheets[0]
        yield sheet.title, len(book.worksheets), sheet.iter_rows(values_only=True)
    finally:
        book.close()


def _refuse_large_shared_text(path: Path) -> None:
    """Refuses a shared text table larger than MAX_SHARED_TEXT unpacked, found as openpyxl
    finds it: by its content type in [Content_Types].xml, whatever the part is named."""
    from openpyxl.packaging.manifest import Manifest
    from openpyxl.xml.constants import ARC_CONTENT_TYPES, SHARED_STRINGS
    from openpyxl.xml.functions import fromstring

    try:
        with zipfile.ZipFile(path) as archive:
            if archive.getinfo(ARC_CONTENT_TYPES).file_size > _MAX_MANIFEST:
                raise WorkbookUnreadable("the workbook's list of parts is implausibly large")
            manifest = Manifest.from_tree(fromstring(archive.read(ARC_CONTENT_TYPES)))
            part = manifest.find(SHARED_STRINGS)
            size = archive.getinfo(part.PartName[1:]).file_size if part is not None else 0
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, SyntaxError):
        return  # not a readable workbook: load_workbook names the problem
    if size > MAX_SHARED_TEXT:
        raise WorkbookUnreadable(
            f"the workbook's shared text table is {size / 2**20:,.0f} MB unpacked (at most "
            f"{MAX_SHARED_TEXT // 2**20} MB are read): send a directory this large as CSV"
        )


def credit_code_columns(fmt: FileFormat) -> frozenset[str]:
    return frozenset(c.name for c in fmt.columns if c.parse is f.credit_code)


def cell_text(value: object, is_credit_code: bool) -> str:
    """The cell as CSV text; ValueError with the reason when Excel has changed it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        if is_credit_code:
            raise ValueError(
                f"the credit code is stored as a number ({value!r}): Excel drops its leading "
                "zeros and every digit after the 15th; format the column as text and enter "
                "the codes again"
            )
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")  # refused by the date parser, with the value shown
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
