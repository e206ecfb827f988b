"""Excel imports: the first sheet of an .xlsx workbook reads as the same table in CSV, with
the same errors, naming the sheet; what Excel changed (a credit code turned into a number)
is refused with the reason."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.formats.reader import FileRejected, ParsedRow, iter_rows
from inspect_engine.formats.spec import ENTERPRISES, HOLIDAYS, INSPECTORS, FileFormat
from inspect_engine.workflows.imports import ImportRejected, import_file

HEADER = list(ENTERPRISES.names)
CODE = "914401010000000179"  # a valid 统一社会信用代码 (check character 9)
ROW_TEXT = [CODE, "广州测试餐饮有限公司", "company", "F52", "440106", "440106-01", "2020-03-01",
            "100000", "active", "", "food_business", "", "天河路1号", "23.1", "113.3"]  # fmt: skip


def _xlsx(path: Path, rows: list[list[object]], sheet: str = "企业", more: int = 0) -> Path:
    book = Workbook(write_only=True)
    page = book.create_sheet(sheet)
    for row in rows:
        page.append(row)
    for k in range(more):
        book.create_sheet(f"其他{k}").append(["x"])
    book.save(path)
    return path


def _csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _read(fmt: FileFormat, path: Path) -> tuple[list[ParsedRow], list[str]]:
    warnings: list[str] = []
    return list(iter_rows(fmt, path, warnings)), warnings


def _as_excel_types() -> list[object]:
    """The row as Excel holds it once typed in: numbers and a date cell."""
    typed: list[object] = list(ROW_TEXT)
    typed[6] = datetime(2020, 3, 1)
    typed[7], typed[13], typed[14] = 100000, 23.1, 113.3
    typed[9] = typed[11] = None  # contact and tags left empty
    return typed


def test_a_sheet_reads_as_the_same_table_in_csv(tmp_path: Path) -> None:
    from_csv, _ = _read(ENTERPRISES, _csv(tmp_path / "e.csv", [HEADER, ROW_TEXT]))
    book = _xlsx(tmp_path / "e.xlsx", [HEADER, _as_excel_types()])
    from_xlsx, warnings = _read(ENTERPRISES, book)
    assert from_xlsx == from_csv and from_xlsx[0].errors == () and warnings == []
    assert from_xlsx[0].values["registered_on"] == date(2020, 3, 1)


def test_a_credit_code_stored_as_a_number_is_refused_with_the_reason(tmp_path: Path) -> None:
    row = _as_excel_types()
    row[0] = 914401010000000  # what Excel keeps of an all-digit code
    rows, _ = _read(ENTERPRISES, _xlsx(tmp_path / "e.xlsx", [HEADER, row]))
    [error] = rows[0].errors
    assert (error.sheet, error.row, error.column) == ("企业", 2, "credit_code")
    assert "stored as a number" in error.reason and "leading zeros" in error.reason
    assert str(error).startswith("sheet '企业', row 2, column credit_code: ")


def test_errors_name_the_sheet_row_and_column_and_blank_rows_keep_the_count(
    tmp_path: Path,
) -> None:
    bad = _as_excel_types()
    bad[4] = "天河区"  # a name, not a district code
    book = _xlsx(tmp_path / "e.xlsx", [HEADER, _as_excel_types(), [], bad], more=2)
    rows, warnings = _read(ENTERPRISES, book)
    assert [r.row for r in rows] == [2, 4]
    [error] = rows[1].errors
    assert (error.sheet, error.row, error.column) == ("企业", 4, "district")
    assert any("only the first sheet '企业'" in w and "2 more" in w for w in warnings)


def test_a_missing_header_column_is_refused_naming_the_sheet(tmp_path: Path) -> None:
    book = _xlsx(tmp_path / "i.xlsx", [["inspector_id", "name"], ["S01", "张三"]], "检查人员")
    with pytest.raises(FileRejected) as refused:
        _read(INSPECTORS, book)
    assert {(e.sheet, e.row) for e in refused.value.errors} == {("检查人员", 1)}
    assert "department" in {e.column for e in refused.value.errors}


def test_a_broken_workbook_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(FileRejected, match=r"not a readable \.xlsx workbook"):
        _read(ENTERPRISES, path)


def test_a_calendar_workbook_with_date_cells_imports(session: Session, tmp_path: Path) -> None:
    rows = [list(HOLIDAYS.names), [datetime(2027, 1, 1), "holiday", "元旦"]]
    report = import_file(session, "holidays", _xlsx(tmp_path / "h.xlsx", rows, "2027"))
    assert report.rows == 1
    assert session.scalars(select(models.CalendarDay.day)).all() == [date(2027, 1, 1)]
    weekend = [*rows, [date(2027, 1, 2), "holiday", "元旦"]]
    with pytest.raises(ImportRejected, match="sheet '2027', row 3, column date"):
        import_file(session, "holidays", _xlsx(tmp_path / "w.xlsx", weekend, "2027"))


def test_a_workbook_declaring_a_huge_shared_text_table_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel keeps every distinct text in one table that openpyxl holds whole; a small
    upload can unpack to gigabytes. The table is found by its content type, as openpyxl
    finds it, so renaming the part does not get past the check."""
    import xlsxwriter  # writes the shared text table as Excel does

    from inspect_engine.formats import workbook

    path = tmp_path / "big.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("企业")
    sheet.write_row(0, 0, HEADER)
    for k in range(200):
        sheet.write_row(k + 1, 0, [f"{k:018d}", f"企业{k}" * 20])
    book.close()
    renamed = tmp_path / "renamed.xlsx"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(renamed, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            name = info.filename.replace("sharedStrings.xml", "t.xml")
            if info.filename in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
                data = data.replace(b"sharedStrings.xml", b"t.xml")
            target.writestr(name, data)
    with zipfile.ZipFile(renamed) as archive:
        size = archive.getinfo("xl/t.xml").file_size
    rows, _ = _read(ENTERPRISES, renamed)  # below the limit: read, with row errors
    assert len(rows) == 200
    monkeypatch.setattr(workbook, "MAX_SHARED_TEXT", size - 1)
    for candidate in (path, renamed):
        with pytest.raises(FileRejected, match=r"shared text table is .* send a directory"):
            _read(ENTERPRISES, candidate)
