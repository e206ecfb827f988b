"""Excel files the engine writes: every text cell is a string, never a formula, and reads
back exactly; numbers stay numbers; the month's sampling list has its Chinese headers."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.orm import Session

import models
from inspect_engine.formats.xlsx_out import write_sheet
from inspect_engine.workflows.month_export import VISIT_HEADERS, export_month
from tests.workflows import tinycity

HOSTILE = [
    '=HYPERLINK("http://evil.example","点击")',
    "+SUM(1)",
    "-2+3",
    "@cmd",
    "\t=1+1",
    "'=x",
    "=cmd|' /C calc'!A0",
]


def read_back(path: Path) -> list[list[object]]:
    """Every cell's value; fails on any formula cell."""
    book = load_workbook(path)  # not read-only: each cell's data type and style are kept
    sheet = book.worksheets[0]
    formulas = [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_text_is_stored_as_text_and_numbers_as_numbers(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    rows = [[text, -23.5, 7] for text in HOSTILE] + [["bell\x07", None, 0]]
    assert write_sheet(path, "表", ["名称", "数", "个数"], rows) == len(rows)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    back = read_back(path)
    assert back[0] == ["名称", "数", "个数"]
    assert back[1 : len(HOSTILE) + 1] == [[text, -23.5, 7] for text in HOSTILE]
    assert back[-1] == ["bell\ufffd", None, 0]  # XML cannot hold a control character
    sheet = load_workbook(path).worksheets[0]
    prefixed = [sheet.cell(row=k + 2, column=1).quotePrefix for k in range(len(HOSTILE))]
    assert prefixed == [True] * len(HOSTILE)  # stays text when the cell is edited in Excel
    assert sheet.cell(row=1, column=1).quotePrefix is False


def test_month_export_writes_the_sampling_list(session: Session, tmp_path: Path) -> None:
    codes = tinycity.build(session, enterprises=2)
    enterprise = session.get(models.Enterprise, codes[0])
    assert enterprise is not None
    enterprise.name = HOSTILE[0]  # as if written into the database by hand
    session.add(
        models.Inspector(
            inspector_id="-I1",
            name="检查员",
            department="SAMR",
            unit="440106-01",
            district="440106",
            certificate_expires=date(2028, 12, 31),
            monthly_capacity=10,
        )
    )
    plan = models.Plan(month="2026-10", status="drawn")
    session.add(plan)
    session.flush()
    for number, code in enumerate(codes, start=1):
        visit = models.Visit(
            visit_code=f"2026-10-00000{number}",
            plan_id=plan.id,
            credit_code=code,
            task_codes=["=cmd"],
            item_codes=["+SUM(1)", "SAMR-INFO"],
            departments=["@dept"],
            mode="local",
            team_size=2,
        )
        session.add(visit)
        session.flush()
        if number == 1:
            session.add(models.TeamMember(visit_id=visit.id, inspector_id="-I1", role="lead"))
    session.flush()
    result = export_month(session, "2026-10", tmp_path / "out")
    assert result.visits_xlsx == tmp_path / "out" / "visits.xlsx"
    assert load_workbook(result.visits_xlsx).sheetnames == ["抽查名单"]
    back = read_back(result.visits_xlsx)
    assert tuple(back[0]) == VISIT_HEADERS
    assert back[0][:3] == ["检查编号", "统一社会信用代码", "企业名称"]
    second = session.get(models.Enterprise, codes[1])
    assert second is not None
    assert back[1:] == [
        ["2026-10-000001", codes[0], HOSTILE[0], "=cmd", "+SUM(1);SAMR-INFO", "@dept", "-I1",
         None],
        ["2026-10-000002", codes[1], second.name, "=cmd", "+SUM(1);SAMR-INFO", "@dept", None,
         None],
    ]  # fmt: skip
    assert not list((tmp_path / "out").glob("*.tmp"))
