from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine import uscc
from inspect_engine.workflows.exports import export_directory
from inspect_engine.workflows.imports import ImportRejected, import_file
from models import repositories as repo

HEADER = "credit_code,name,entity_type,industry,district,unit,registered_on,status,licences"


def code(n: int, prefix: str = "91440106") -> str:
    body = f"{prefix}{n:09d}"
    return body + uscc.check_char(body)


def enterprise_lines(count: int) -> list[str]:
    return [
        f"{code(i)},企业{i},company,H62,440106,440106-0{i % 3},2020-01-0{1 + i % 9},active,"
        + ("food_business" if i % 2 else "")
        for i in range(count)
    ]


def write(tmp_path: Path, name: str, header: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_one_bad_credit_code_rejects_the_whole_file(session: Session, tmp_path: Path) -> None:
    lines = enterprise_lines(5)
    good = lines[2].split(",")[0]
    lines[2] = lines[2].replace(good, good[:-1] + ("0" if good[-1] != "0" else "1"), 1)
    path = write(tmp_path, "e.csv", HEADER, lines)
    with pytest.raises(ImportRejected) as caught:
        import_file(session, "enterprises", path)
    assert caught.value.total == 1
    assert str(caught.value.errors[0]).startswith("row 4, column credit_code:")
    assert "check character" in str(caught.value.errors[0])
    assert repo.count(session, models.Enterprise) == 0
    assert repo.count(session, models.Unit) == 0


def test_importing_twice_keeps_one_copy_and_creates_units(session: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", HEADER, enterprise_lines(7))
    first = import_file(session, "enterprises", path)
    second = import_file(session, "enterprises", path)
    assert (first.rows, first.new_rows) == (7, 7)
    assert (second.rows, second.new_rows) == (7, 0)
    assert repo.count(session, models.Enterprise) == 7
    units = session.scalars(select(models.Unit.code).order_by(models.Unit.code)).all()
    assert units == ["440106-00", "440106-01", "440106-02"]


def test_upsert_updates_changed_rows(session: Session, tmp_path: Path) -> None:
    lines = enterprise_lines(2)
    import_file(session, "enterprises", write(tmp_path, "a.csv", HEADER, lines))
    lines[1] = lines[1].replace(",active,", ",revoked,")
    import_file(session, "enterprises", write(tmp_path, "b.csv", HEADER, lines))
    status = session.get(models.Enterprise, code(1))
    assert status is not None and status.status == "revoked"


def test_duplicate_key_in_one_file(session: Session, tmp_path: Path) -> None:
    lines = enterprise_lines(3)
    path = write(tmp_path, "e.csv", HEADER, [*lines, lines[0]])
    with pytest.raises(ImportRejected, match=r"row 5, column credit_code: .* appears earlier"):
        import_file(session, "enterprises", path)


def test_error_report_lists_the_first_hundred_then_counts(session: Session, tmp_path: Path) -> None:
    lines = [line.replace(",H62,", ",H6,") for line in enterprise_lines(130)]
    with pytest.raises(ImportRejected) as caught:
        import_file(session, "enterprises", write(tmp_path, "e.csv", HEADER, lines))
    assert caught.value.total == 130
    assert len(caught.value.errors) == 100
    assert caught.value.report().endswith("... and 30 more")


def test_history_references_and_event_deduplication(session: Session, tmp_path: Path) -> None:
    import_file(session, "enterprises", write(tmp_path, "e.csv", HEADER, enterprise_lines(3)))
    header = (
        "credit_code,inspected_on,department,item_code,inspector_id,result,inclusion_probability"
    )
    rows = [
        f"{code(0)},2025-03-01,SAMR,,,no_problem,0.05",
        f"{code(1)},2025-03-02,SAMR,,,pending,",
        f"{code(1)},2025-03-02,SAMR,,,pending,",  # identical: one event
    ]
    report = import_file(session, "inspections", write(tmp_path, "i.csv", header, rows))
    assert (report.rows, report.new_rows) == (3, 2)
    again = import_file(session, "inspections", write(tmp_path, "i2.csv", header, rows[:2]))
    assert again.new_rows == 0
    unknown = [f"{code(99)},2025-03-01,SAMR,ITEM-X,,no_problem,"]
    with pytest.raises(ImportRejected) as caught:
        import_file(session, "inspections", write(tmp_path, "i3.csv", header, unknown))
    reasons = [str(e) for e in caught.value.errors]
    assert reasons == [
        f"row 2, column credit_code: unknown enterprise '{code(99)}'",
        "row 2, column item_code: unknown item 'ITEM-X'",
    ]
    assert set(session.scalars(select(models.Department.code))) == {"SAMR"}


def test_export_gives_back_the_import_format(session: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", HEADER, enterprise_lines(4))
    import_file(session, "enterprises", path)
    out = tmp_path / "out.csv"
    assert export_directory(session, "enterprises", out) == 4
    assert repo.count(session, models.AuditEntry) == 1
    before = session.scalars(select(models.Enterprise).order_by(models.Enterprise.credit_code))
    snapshot = [(e.credit_code, e.name, e.licences, e.registered_on) for e in before]
    report = import_file(session, "enterprises", out)
    assert report.new_rows == 0
    after = session.scalars(select(models.Enterprise).order_by(models.Enterprise.credit_code))
    assert [(e.credit_code, e.name, e.licences, e.registered_on) for e in after] == snapshot


def test_bulk_path_upserts_and_skips_like_the_small_one(session: Session, tmp_path: Path) -> None:
    """600 rows take the bulk path on PostgreSQL (COPY); the outcome must not differ."""
    lines = enterprise_lines(600)
    import_file(session, "enterprises", write(tmp_path, "a.csv", HEADER, lines))
    lines[599] = lines[599].replace("企业599", "改名企业")
    report = import_file(session, "enterprises", write(tmp_path, "b.csv", HEADER, lines))
    assert (report.rows, report.new_rows) == (600, 0)
    renamed = session.get(models.Enterprise, code(599))
    assert renamed is not None and renamed.name == "改名企业"
    header = "credit_code,received_on,category,substantiated"
    events = [f"{code(i)},2025-01-01,food,{'true' if i % 2 else 'false'}" for i in range(600)]
    path = write(tmp_path, "c.csv", header, events)
    assert import_file(session, "complaints", path).new_rows == 600
    assert import_file(session, "complaints", path).new_rows == 0


def test_free_text_spaces_are_normalised_counted_and_export_round_trips(
    session: Session, tmp_path: Path
) -> None:
    """A real registry's names and addresses carry trailing, repeated, full-width (U+3000)
    and non-breaking spaces: they import normalised, the warnings count them, and the
    exported file imports back with nothing changed."""
    header = HEADER + ",address"
    lines = [
        f"{code(0)},企业0  ,company,H62,440106,440106-01,2020-01-01,active,,天河路1号 ",
        f"{code(1)},\u3000广州\u3000\u3000某某店,individual,H62,440106,440106-01,2020-01-01,"
        "active,,天河路\u00a02号",
        f"{code(2)},企业2,company,H62,440106,440106-01,2020-01-01,active,,天河路3号",
    ]
    report = import_file(session, "enterprises", write(tmp_path, "e.csv", header, lines))
    assert report.new_rows == 3
    assert "name: 2 values had surrounding or repeated spaces, normalised" in report.warnings
    assert "address: 2 values had surrounding or repeated spaces, normalised" in report.warnings
    stored = {
        e.credit_code: (e.name, e.address) for e in session.scalars(select(models.Enterprise))
    }
    assert stored == {
        code(0): ("企业0", "天河路1号"),
        code(1): ("广州 某某店", "天河路 2号"),
        code(2): ("企业2", "天河路3号"),
    }
    out = tmp_path / "out.csv"
    assert export_directory(session, "enterprises", out) == 3
    again = import_file(session, "enterprises", out)
    assert again.new_rows == 0
    assert not [w for w in again.warnings if "normalised" in w]
    assert {
        e.credit_code: (e.name, e.address) for e in session.scalars(select(models.Enterprise))
    } == stored


def test_codes_dates_and_numbers_keep_their_strict_rules(session: Session, tmp_path: Path) -> None:
    """Only free text is forgiven: a credit code, a date or a unit code with a space is
    still refused, with its row and column."""
    good = enterprise_lines(1)[0]
    spaced = [
        good.replace(code(0), code(0) + " "),
        good.replace("2020-01-01", "2020-01-01\u3000"),
        good.replace("440106-00", " 440106-00"),
    ]
    for line in spaced:
        with pytest.raises(ImportRejected) as caught:
            import_file(session, "enterprises", write(tmp_path, "e.csv", HEADER, [line]))
        assert caught.value.errors[0].row == 2 and caught.value.errors[0].column in {
            "credit_code",
            "registered_on",
            "unit",
        }
