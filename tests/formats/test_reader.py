from pathlib import Path

import pytest

from inspect_engine.formats.reader import CHUNK, MAX_LINE, FileRejected, iter_rows
from inspect_engine.formats.spec import ENTERPRISES, LEAVE

HEADER = "credit_code,name,entity_type,industry,district,unit,registered_on,status"
GOOD = "914403001922038216,华为技术有限公司,company,C39,440106,440106-01,2010-01-01,active"


def rows(tmp_path: Path, content: bytes, fmt=ENTERPRISES) -> tuple[list, list[str]]:
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    warnings: list[str] = []
    return list(iter_rows(fmt, path, warnings)), warnings


def test_bom_is_accepted_and_optional_columns_default(tmp_path: Path) -> None:
    parsed, warnings = rows(tmp_path, ("\ufeff" + HEADER + "\n" + GOOD + "\n").encode())
    assert warnings == []
    assert [r.errors for r in parsed] == [()]
    assert parsed[0].values["credit_code"] == "914403001922038216"
    assert parsed[0].values["registered_capital"] is None


def test_missing_required_column_rejects_the_file(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match=r"column status: required column is missing"):
        rows(tmp_path, (HEADER.replace(",status", "") + "\n").encode())


def test_extra_column_is_a_warning(tmp_path: Path) -> None:
    parsed, warnings = rows(tmp_path, (HEADER + ",colour\n" + GOOD + ",red\n").encode())
    assert warnings == ["extra column 'colour' is ignored"]
    assert parsed[0].errors == ()


def test_field_errors_name_row_and_column(tmp_path: Path) -> None:
    bad = GOOD.replace("company", "corporation").replace("2010-01-01", "2010-13-01")
    parsed, _ = rows(tmp_path, (HEADER + "\n" + GOOD + "\n" + bad + "\n").encode())
    errors = [str(e) for e in parsed[1].errors]
    assert errors[0].startswith("row 3, column entity_type: 'corporation' is not one of")
    assert errors[1] == "row 3, column registered_on: '2010-13-01' is not a date YYYY-MM-DD"


def test_wrong_field_count_and_quoted_commas(tmp_path: Path) -> None:
    quoted = GOOD.replace("华为技术有限公司", '"华为, 技术 ""有限"" 公司"')
    parsed, _ = rows(tmp_path, (HEADER + "\n" + quoted + "\n" + GOOD + ",extra\n").encode())
    assert parsed[0].values["name"] == '华为, 技术 "有限" 公司'
    assert "has 9 fields, the header has 8" in str(parsed[1].errors[0])


def test_not_utf8_is_refused_with_a_reason(tmp_path: Path) -> None:
    content = (HEADER + "\n" + GOOD + "\n").encode("gbk")
    with pytest.raises(FileRejected, match="not UTF-8"):
        rows(tmp_path, content)


def test_huge_field_is_an_error_not_a_crash(tmp_path: Path) -> None:
    huge = GOOD.replace("华为技术有限公司", "x" * 200_001)
    parsed, _ = rows(tmp_path, (HEADER + "\n" + huge + "\n" + GOOD + "\n").encode())
    assert [str(e) for e in parsed[0].errors] == [
        "row 2, column name: longer than 200 characters (200,001)"
    ]
    assert parsed[1].errors == ()


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileRejected, match="empty"):
        rows(tmp_path, b"")


def test_leave_that_ends_before_it_starts(tmp_path: Path) -> None:
    content = b"inspector_id,starts_on,ends_on\nI-1,2026-12-10,2026-12-01\n"
    parsed, _ = rows(tmp_path, content, LEAVE)
    assert "before starts_on" in str(parsed[0].errors[0])


def test_crlf_split_between_two_reads_keeps_the_row_numbers(tmp_path: Path) -> None:
    """The \\r of a CRLF is the last byte of the first read, its \\n the first of the next."""
    header = (HEADER + ",pad\r\n").encode()
    start = (GOOD + ",").encode()
    padding = CHUNK - len(header) - len(start) - 1
    first = start + b"x" * padding + b"\r\n"
    assert len(header) + len(first) == CHUNK + 1
    bad = GOOD.replace("company", "corporation") + ",\r\n"
    parsed, _ = rows(tmp_path, header + first + bad.encode())
    assert [(r.row, len(r.errors)) for r in parsed] == [(2, 0), (3, 1)]
    assert str(parsed[1].errors[0]).startswith("row 3, column entity_type:")


def test_not_utf8_deep_in_the_file_names_its_row(tmp_path: Path) -> None:
    good = (GOOD + "\n").encode() * 20_000  # more than one read
    content = (HEADER + "\n").encode() + good + GOOD.encode("gbk") + b"\n"
    with pytest.raises(FileRejected, match=r"^row 20002: the file is not UTF-8 text .*GBK"):
        rows(tmp_path, content)


def test_a_line_that_never_ends_is_refused_unread(tmp_path: Path) -> None:
    content = (HEADER + "\n").encode() + b"x" * (MAX_LINE + CHUNK)
    with pytest.raises(FileRejected, match=r"^row 2: a line runs over 16,777,216 bytes"):
        rows(tmp_path, content)
