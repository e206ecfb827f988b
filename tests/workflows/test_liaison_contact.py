"""enterprises.csv `contact` (the liaison, 联络员): validated as an e-mail address or a
mainland mobile number, stored normalised, exported back for administrators (issue 16)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.formats import fields
from inspect_engine.liaison import channel_of, mask
from inspect_engine.workflows.exports import export_directory
from inspect_engine.workflows.imports import ImportRejected, import_file
from tests.workflows.test_imports import HEADER, code, enterprise_lines, write


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("86-199-1234-5678", "19912345678"),
        ("li.lei+scjg@example.com.cn", "li.lei+scjg@example.com.cn"),
    ],
)
def test_a_contact_is_an_email_or_a_mobile_number(raw: str, stored: str) -> None:
    assert fields.contact(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["12800138000", "1380013800", "020-12345678", "li@", "@example.cn", "a..b@example.cn",
     "li lei@example.cn", "x" * 250 + "@example.cn", "https://example.cn"],
)  # fmt: skip
def test_anything_else_is_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(ValueError, match="neither an e-mail address nor a mainland mobile"):
        fields.contact(raw)


def test_addresses_are_masked_and_routed() -> None:
    assert (mask("li.lei@example.cn"), channel_of("li.lei@example.cn")) == (
        "l***@example.cn",
        "email",
    )
    assert (mask("13800138000"), channel_of("13800138000")) == ("138****8000", "sms")


def _with_contacts(count: int) -> list[str]:
    contacts = ["+86 13800138000", "liaison@example.cn", ""]
    return [f"{line},{contacts[i % 3]}" for i, line in enumerate(enterprise_lines(count))]


@pytest.mark.parametrize("count", [6, 600])  # 600 rows take the bulk path on PostgreSQL
def test_contacts_import_normalised_and_export_back(
    session: Session, tmp_path: Path, count: int
) -> None:
    path = write(tmp_path, "e.csv", HEADER + ",contact", _with_contacts(count))
    import_file(session, "enterprises", path)
    stored = dict(
        session.execute(select(models.Enterprise.credit_code, models.Enterprise.contact))
        .tuples()
        .all()
    )
    assert stored[code(0)] == "13800138000"
    assert stored[code(1)] == "liaison@example.cn"
    assert stored[code(2)] is None
    out = tmp_path / "out.csv"
    assert export_directory(session, "enterprises", out) == count
    with out.open(encoding="utf-8", newline="") as exported:
        rows = {row["credit_code"]: row["contact"] for row in csv.DictReader(exported)}
    assert (rows[code(0)], rows[code(1)], rows[code(2)]) == (
        "13800138000",
        "liaison@example.cn",
        "",
    )
    assert import_file(session, "enterprises", out).new_rows == 0


def test_a_bad_contact_names_its_row_and_column(session: Session, tmp_path: Path) -> None:
    lines = _with_contacts(4)
    lines[2] = lines[2].rsplit(",", 1)[0] + ",0755-12345678"
    with pytest.raises(ImportRejected) as caught:
        import_file(session, "enterprises", write(tmp_path, "e.csv", HEADER + ",contact", lines))
    assert caught.value.total == 1
    message = str(caught.value.errors[0])
    assert message.startswith("row 4, column contact:") and "mobile number" in message
