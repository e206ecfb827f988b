"""Formula injection: every CSV the engine writes escapes formula-like text the way the
public CSV does, leaves numbers in numeric columns alone, and imports back unchanged."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.formats import fields
from inspect_engine.formats.csv_safety import (
    FORMULA_STARTS,
    SafeWriter,
    safe_cell,
    unescape_formula,
)
from inspect_engine.workflows.exports import export_directory
from inspect_engine.workflows.imports import import_file
from inspect_engine.workflows.month_export import export_month
from inspect_engine.workflows.scoring import export_scores
from tests.workflows import tinycity


@pytest.mark.parametrize(
    ("value", "numeric", "written"),
    [
        ("=1+1", False, "'=1+1"),
        ("+86 20 8888", False, "'+86 20 8888"),
        ("-3 visits", False, "'-3 visits"),
        ("@SUM(A1)", False, "'@SUM(A1)"),
        ("\tcmd", False, "'\tcmd"),
        ("\rcmd", False, "'\rcmd"),
        ("'=1+1", False, "''=1+1"),  # so that the escape can be undone exactly
        ("'quoted", False, "'quoted"),
        ("华为技术有限公司", False, "华为技术有限公司"),
        ("a=b", False, "a=b"),
        (None, False, ""),
        ("-23.1", False, "'-23.1"),  # a number in a text column is text
        ("-23.1", True, "-23.1"),  # numbers are data in a numeric column
        ("+5", True, "+5"),
        ("-1e-05", True, "-1e-05"),
        ("-2+3", True, "'-2+3"),  # not a plain number: a formula even here
        ("-1+cmd|' /C calc'!A0", True, "'-1+cmd|' /C calc'!A0"),
    ],
)
def test_safe_cell(value: str | None, numeric: bool, written: str) -> None:
    assert safe_cell(value, numeric) == written


@given(st.text(max_size=40))
def test_escape_is_undone_exactly(text: str) -> None:
    written = safe_cell(text)
    assert not written.startswith(FORMULA_STARTS)
    assert unescape_formula(written) == text
    if fields.normalise_space(text) == text and "\x00" not in text:
        assert fields.text(100)(written) == text  # what an import reads back


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as source:
        return list(csv.DictReader(source))


def test_safe_writer_quotes_a_bare_carriage_return(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = SafeWriter(out, [False, True])
        writer.writerow(["name", "lat"])
        writer.writerow(["a\rb", -23.5])
    assert path.read_bytes() == b'name,lat\r\n"a\rb",-23.5\r\n'
    assert read_csv(path) == [{"name": "a\rb", "lat": "-23.5"}]


# --------------------------------------------------------------------------- the writers

DIRECTORY_FILES = {
    "enterprises": (
        "credit_code,name,entity_type,industry,district,unit,registered_on,status,address,lat,lon",
        f'{tinycity.credit_code(7, "440106")},=HYPERLINK("http://x"),company,F52,440106,'
        "440106-01,2020-01-01,active,@SUM(A1),-23.1,-45.25",
        {"name": '\'=HYPERLINK("http://x")', "address": "'@SUM(A1)", "lat": "-23.1"},
    ),
    "inspectors": (
        "inspector_id,name,department,unit,district,certificate_expires,monthly_capacity",
        "T-1,-张三,SAMR,440106-01,440106,2028-12-31,10",
        {"name": "'-张三", "monthly_capacity": "10"},
    ),
    "items": (
        "item_code,department,title,legal_basis,kind,qualification",
        "X-1,SAMR,+食品检查,''=《食品安全法》,general,@food",
        {"title": "'+食品检查", "legal_basis": "''=《食品安全法》", "qualification": "'@food"},
    ),
}


@pytest.mark.parametrize("kind", list(DIRECTORY_FILES))
def test_directory_export_escapes_and_imports_back(
    session: Session, tmp_path: Path, kind: str
) -> None:
    tinycity.build(session, enterprises=2)
    header, line, written = DIRECTORY_FILES[kind]
    source = tmp_path / "in.csv"
    source.write_text(f"{header}\n{line}\n", encoding="utf-8")
    import_file(session, kind, source)
    key = line.split(",")[0]
    out = tmp_path / "out.csv"
    export_directory(session, kind, out)
    row = next(r for r in read_csv(out) if key in r.values())
    assert {name: row[name] for name in written} == written
    model = {"enterprises": models.Enterprise, "inspectors": models.Inspector}.get(
        kind, models.Item
    )
    before = session.get(model, key)
    assert before is not None
    stored = {name: getattr(before, name) for name in written}
    assert import_file(session, kind, out).new_rows == 0
    session.expire_all()
    after = session.get(model, key)
    assert {name: getattr(after, name) for name in written} == stored


def test_scores_export_escapes_reasons_not_probabilities(session: Session, tmp_path: Path) -> None:
    codes = tinycity.build(session, enterprises=2)
    version = models.ModelVersion(kind="gbm", as_of=date(2026, 12, 1), artefact=b"")
    session.add(version)
    session.flush()
    reasons = ("=cmd|' /C calc'!A0", "-3 inspections with problems")
    session.add_all(
        models.RiskScore(
            model_version_id=version.id,
            credit_code=code,
            as_of=date(2026, 12, 1),
            probability=0.25,
            risk_class="C",
            reasons=reason,
        )
        for code, reason in zip(codes, reasons, strict=True)
    )
    session.flush()
    path = tmp_path / "scores.csv"
    assert export_scores(session, path) == 2
    rows = {r["credit_code"]: r for r in read_csv(path)}
    assert [rows[c]["reasons"] for c in codes] == ["'" + r for r in reasons]
    assert {rows[c]["probability"] for c in codes} == {"0.250000"}


def test_month_visits_csv_escapes_every_cell(session: Session, tmp_path: Path) -> None:
    """The codes in visits.csv never start like a formula when they come through the
    imports; the writer escapes them anyway, whatever the database holds."""
    codes = tinycity.build(session, enterprises=2)
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
    visit = models.Visit(
        visit_code="2026-10-000001",
        plan_id=plan.id,
        credit_code=codes[0],
        task_codes=["=cmd"],
        item_codes=["+SUM(1)", "SAMR-INFO"],
        departments=["@dept"],
        mode="local",
        team_size=2,
    )
    session.add(visit)
    session.flush()
    session.add(models.TeamMember(visit_id=visit.id, inspector_id="-I1", role="lead"))
    session.flush()
    result = export_month(session, "2026-10", tmp_path / "out")
    assert read_csv(result.visits_csv) == [
        {
            "visit_id": "2026-10-000001",
            "credit_code": codes[0],
            "task_codes": "'=cmd",
            "item_codes": "'+SUM(1);SAMR-INFO",
            "departments": "'@dept",
            "inspector_ids": "'-I1",
            "visit_on": "",
        }
    ]
    assert session.scalars(select(models.Visit.departments)).one() == ["@dept"]
