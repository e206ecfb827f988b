"""An import's audit entry names what changed: each changed row by its key with the
before and after values of its changed columns, the first rows in the entry, the full
list kept with the import and bound to the entry by its SHA-256."""

import gzip
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.workflows import changes
from inspect_engine.workflows.imports import import_file
from tests.workflows.test_imports import HEADER, code, enterprise_lines, write


def last_entry(session: Session) -> models.AuditEntry:
    entry = session.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id.desc())).first()
    assert entry is not None
    return entry


def test_an_enterprise_import_names_each_changed_row(session: Session, tmp_path: Path) -> None:
    lines = enterprise_lines(4)
    import_file(session, "enterprises", write(tmp_path, "a.csv", HEADER, lines))
    first = last_entry(session).details
    assert first["changed_rows"] == 0 and first["added"] == [code(i) for i in range(4)]
    revoked = lines[1].replace(",active,", ",revoked,")  # and drops its licence:
    revoked = revoked.removesuffix("food_business")
    renamed = lines[2].replace("企业2", "改名企业")
    report = import_file(
        session, "enterprises", write(tmp_path, "b.csv", HEADER, [lines[0], revoked, renamed])
    )
    assert report.changed_rows == 2
    details = last_entry(session).details
    assert details["changed"] == [
        {
            "key": code(1),
            "changes": {"status": ["active", "revoked"], "licences": ["food_business", None]},
        },
        {"key": code(2), "changes": {"name": ["企业2", "改名企业"]}},
    ]
    assert details["added"] == []
    log = session.get(models.ImportChangeLog, details["change_log"])
    assert log is not None and log.changes_sha256 == details["changes_sha256"]
    assert changes.read_full_list(log)["changed"] == details["changed"]
    # the board's list: the status or licences changed, the name does not count
    assert [f["credit_code"] for f in log.flagged] == [code(1)]
    assert log.flagged[0]["changes"] == {
        "status": ["active", "revoked"],
        "licences": ["food_business", None],
    }


def test_the_entry_is_capped_and_the_full_list_kept(session: Session, tmp_path: Path) -> None:
    count = changes.IN_ENTRY + 30
    lines = enterprise_lines(count)
    import_file(session, "enterprises", write(tmp_path, "a.csv", HEADER, lines))
    moved = [line.replace(",440106-0", ",440106-9") for line in lines]
    import_file(session, "enterprises", write(tmp_path, "b.csv", HEADER, moved))
    details = last_entry(session).details
    assert details["changed_rows"] == count
    assert len(details["changed"]) == changes.IN_ENTRY
    log = session.get(models.ImportChangeLog, details["change_log"])
    assert log is not None
    full = changes.read_full_list(log)
    assert [c["key"] for c in full["changed"]] == [code(i) for i in range(count)]
    assert full["changed"][-1]["changes"]["unit"] == [
        f"440106-0{(count - 1) % 3}",
        f"440106-9{(count - 1) % 3}",
    ]
    assert log.flagged_total == 0


def test_a_tampered_full_list_no_longer_matches(session: Session, tmp_path: Path) -> None:
    import_file(session, "enterprises", write(tmp_path, "a.csv", HEADER, enterprise_lines(2)))
    log = session.get(models.ImportChangeLog, last_entry(session).details["change_log"])
    assert log is not None
    log.changes_gz = gzip.compress(gzip.decompress(log.changes_gz).replace(b"added", b"addeD"))
    with pytest.raises(ValueError, match="does not match its SHA-256"):
        changes.read_full_list(log)


def test_a_repeated_import_changes_nothing_and_keeps_no_list(
    session: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "a.csv", HEADER, enterprise_lines(3))
    import_file(session, "enterprises", path)
    before = session.scalars(select(models.ImportChangeLog)).all()
    import_file(session, "enterprises", path)
    details = last_entry(session).details
    assert details == {
        "rows": 3,
        "new_rows": 0,
        "warnings": [],
        "changed_rows": 0,
        "changed": [],
        "added": [],
    }
    assert session.scalars(select(models.ImportChangeLog)).all() == before


def test_history_rows_are_named_when_new(session: Session, tmp_path: Path) -> None:
    import_file(session, "enterprises", write(tmp_path, "a.csv", HEADER, enterprise_lines(2)))
    penalties = write(
        tmp_path,
        "p.csv",
        "credit_code,decided_on,severity",
        [f"{code(0)},2025-01-02,minor", f"{code(1)},2025-02-03,serious"],
    )
    import_file(session, "penalties", penalties)
    assert last_entry(session).details["added"] == [
        f"{code(0)}/2025-01-02/minor",
        f"{code(1)}/2025-02-03/serious",
    ]
    import_file(session, "penalties", penalties)
    assert last_entry(session).details["added"] == []


def test_the_same_values_in_another_spelling_are_no_change(
    session: Session, tmp_path: Path
) -> None:
    header = HEADER + ",registered_capital,lat"
    lines = [f"{line},1000.5,23.1" for line in enterprise_lines(3)]
    import_file(session, "enterprises", write(tmp_path, "a.csv", header, lines))
    respelled = [line.replace(",1000.5,23.1", ",1000.50,23.10") for line in lines]
    report = import_file(session, "enterprises", write(tmp_path, "b.csv", header, respelled))
    assert report.changed_rows == 0
    raised = [respelled[0].replace(",1000.50,", ",2000,"), *respelled[1:]]
    import_file(session, "enterprises", write(tmp_path, "c.csv", header, raised))
    assert last_entry(session).details["changed"] == [
        {"key": code(0), "changes": {"registered_capital": ["1000.5", "2000"]}}
    ]
