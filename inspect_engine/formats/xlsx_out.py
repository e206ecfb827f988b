"""Excel workbooks the engine writes (.xlsx): streamed, and never a formula.

openpyxl's write-only mode writes each row to the sheet's XML as it comes, so a month's
sampling list or every published result costs the memory of one row. Names, addresses and
notes come from outside: openpyxl would store text that starts with `=` as a formula, so
every text cell is written as a string cell (data type `s`, an inline string), and text
that a spreadsheet would read as a formula when the cell is edited also gets Excel's
"quote prefix" flag, which keeps it text after editing. The value itself is stored as it
is, so the file reads back unchanged (docs/csv-safety.md, "Excel files")."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

from inspect_engine.formats.csv_safety import formula_like

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# XML 1.0 cannot hold these control characters; openpyxl refuses them.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def write_sheet(
    target: Path | IO[bytes],
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    widths: Sequence[int] = (),
) -> int:
    """Write one sheet (header first) and return the number of rows below the header.

    A Path is written to a temporary file beside it and renamed, so that a crash never
    leaves half a workbook behind."""
    from openpyxl import Workbook  # imported here: CSV exports never pay for it
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    for position, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(position)].width = width
    sheet.append([_cell(sheet, name) for name in header])
    count = 0
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
        count += 1
    if isinstance(target, Path):
        tmp = target.with_suffix(target.suffix + ".tmp")
        book.save(tmp)
        os.replace(tmp, target)
    else:
        book.save(target)
    return count


def _cell(sheet: object, value: object) -> object:
    """A number stays a number; anything else becomes a string cell."""
    from openpyxl.cell import WriteOnlyCell

    if value is None:
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = _NOT_XML.sub("\ufffd", str(value))
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl made "=…" a formula ('f'): store the text instead
    if formula_like(text):
        cell.quotePrefix = True
    return cell
