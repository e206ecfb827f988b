"""The directory's columnar snapshot: read by the freeze only while it is current, rebuilt
by imports, never taken when a write has come after it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.sampling.frames import EnterpriseColumns
from inspect_engine.workflows import columns
from inspect_engine.workflows.columns import load_enterprise_columns
from inspect_engine.workflows.imports import import_file
from models import ColumnSnapshot
from models.repositories import bump_revision
from tests.workflows import tinycity
from tests.workflows.test_imports import HEADER, code, enterprise_lines, write

FIRST_DAY = date(2026, 12, 1)


def load(session: Session) -> EnterpriseColumns:
    return load_enterprise_columns(session, as_of=FIRST_DAY, year=2026, departments={"SAMR"})


def snapshot(session: Session) -> ColumnSnapshot:
    row = session.scalar(select(ColumnSnapshot).where(ColumnSnapshot.name == "enterprises"))
    assert row is not None
    session.refresh(row)
    return row


def the_table_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(session: Session) -> None:
        raise AssertionError("the directory table was read although the snapshot is current")

    monkeypatch.setattr(columns, "_read_directory", refuse)


def test_a_current_snapshot_gives_exactly_what_the_table_gives(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    tinycity.build(session)
    from_table, table_keys = columns._read_directory(session)
    load(session)  # stores the snapshot
    stored = snapshot(session)
    assert stored.built_revision == stored.revision
    assert stored.rows == 400
    the_table_is_not_read(monkeypatch)
    from_snapshot, snapshot_keys = columns._whole_directory(session)
    assert np.array_equal(snapshot_keys, table_keys)
    assert np.array_equal(from_snapshot[0], from_table[0])
    assert from_snapshot[0].dtype == from_table[0].dtype
    assert np.array_equal(from_snapshot[1], from_table[1])
    assert from_snapshot[2] == from_table[2]
    assert np.array_equal(from_snapshot[3], from_table[3])


def test_a_write_after_the_snapshot_is_seen_by_the_next_load(session: Session) -> None:
    codes = tinycity.build(session)
    before = load(session)
    enterprise = session.get(models.Enterprise, codes[1])
    assert enterprise is not None and enterprise.status == "active"
    enterprise.status = "revoked"
    session.flush()
    stored = snapshot(session)
    assert stored.built_revision != stored.revision  # the ORM write counted itself
    after = load(session)
    row = int(np.searchsorted(after.credit_code, codes[1]))
    assert before.status.value(row) == "active"
    assert after.status.value(row) == "revoked"
    assert snapshot(session).built_revision == snapshot(session).revision


def test_a_stale_snapshot_is_never_used(session: Session) -> None:
    tinycity.build(session)
    load(session)
    # A snapshot whose payload lacks a row, made stale by a counted write: the load must
    # come from the table and hold all 400 enterprises.
    (codes, profile, vocabulary, registered_on), keys = columns._read_directory(session)
    short = (codes[1:], profile[1:], vocabulary, registered_on[1:])
    stored = snapshot(session)
    stored.payload = columns._pack((short, keys[1:]))
    session.flush()
    assert len(load(session).credit_code) == 399  # current: the (doctored) snapshot is read
    bump_revision(session, "enterprises")
    assert len(load(session).credit_code) == 400


def test_an_enterprise_import_leaves_a_current_snapshot(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(session, "enterprises", write(tmp_path, "e.csv", HEADER, enterprise_lines(6)))
    stored = snapshot(session)
    assert (stored.rows, stored.built_revision) == (6, stored.revision)
    lines = enterprise_lines(9)[6:]
    import_file(session, "enterprises", write(tmp_path, "more.csv", HEADER, lines))
    assert snapshot(session).rows == 9
    the_table_is_not_read(monkeypatch)
    loaded = load(session)
    assert loaded.credit_code.tolist() == sorted(code(i) for i in range(9))


def scored(session: Session, codes: list[str]) -> int:
    """A model version whose scores class every third enterprise C, the others A."""
    version = models.ModelVersion(kind="scorecard", as_of=FIRST_DAY, artefact=b"")
    session.add(version)
    session.flush()
    session.add_all(
        models.RiskScore(
            model_version_id=version.id,
            credit_code=code,
            as_of=FIRST_DAY,
            probability=0.5,
            risk_class="C" if i % 3 == 0 else "A",
        )
        for i, code in enumerate(codes)
    )
    session.flush()
    return version.id


def test_the_classes_snapshot_is_read_while_current_and_never_after_a_write(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = tinycity.build(session)
    version = scored(session, codes)
    first = load(session).risk_class  # read from the scores, and kept as a snapshot
    expected = {code: "C" if i % 3 == 0 else "A" for i, code in enumerate(codes)}
    loaded = load(session)
    assert dict(zip(loaded.credit_code.tolist(), first.tolist(), strict=True)) == expected
    # A current snapshot is what the freeze uses: doctored, it shows through.
    everyone_d = np.full(len(codes), "D")
    columns.store_class_snapshot(session, version, np.array(codes), everyone_d)

    def refuse(*args: object) -> None:
        raise AssertionError("the scores were read although their snapshot is current")

    with monkeypatch.context() as patch:
        patch.setattr(columns, "_read_classes", refuse)
        assert set(load(session).risk_class.tolist()) == {"D"}
    # An ORM write to the scores makes it stale: the scores themselves are read again.
    score = session.get(models.RiskScore, (version, codes[1]))
    assert score is not None
    score.risk_class = "B"
    session.flush()
    again = load(session)
    row = int(np.searchsorted(again.credit_code, codes[1]))
    assert again.risk_class[row] == "B"
    assert set(again.risk_class.tolist()) == {"A", "B", "C"}


def test_refresh_keeps_the_latest_classes_for_the_next_freeze(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = tinycity.build(session)
    assert columns.refresh_class_snapshot(session) == 0  # nothing scored yet
    scored(session, codes)
    assert columns.refresh_class_snapshot(session) == len(codes)
    monkeypatch.setattr(columns, "_read_classes", lambda *args: pytest.fail("scores read"))
    assert (load(session).risk_class != "").all()


def _line(credit_code: str, status: str = "active", district: str = "440106", lic: str = "") -> str:
    unit = f"{district}-01"
    return f"{credit_code},企业,company,H62,{district},{unit},2021-03-04,{status},{lic}"


def assert_snapshot_is_the_table(session: Session) -> None:
    stored = snapshot(session)
    assert stored.built_revision == stored.revision
    (codes, profile, vocabulary, registered), keys = columns._unpack(stored.payload)
    (t_codes, t_profile, t_vocabulary, t_registered), t_keys = columns._read_directory(session)
    assert np.array_equal(keys, t_keys) and keys.dtype == t_keys.dtype
    assert np.array_equal(codes, t_codes)
    assert np.array_equal(profile, t_profile)
    assert vocabulary == t_vocabulary  # numbered as a read of the whole table numbers them
    assert np.array_equal(registered, t_registered)
    assert stored.rows == len(t_codes)


def test_a_small_import_patches_the_snapshot_without_reading_the_table(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = [*enterprise_lines(12), _line(code(20, "91440199"))]
    import_file(session, "enterprises", write(tmp_path, "e.csv", HEADER, first))
    assert_snapshot_is_the_table(session)
    corrections = [
        _line(code(3), status="revoked"),  # a changed profile
        _line(code(5), lic="food_business;drug_retail"),  # a profile never seen before
        enterprise_lines(12)[7],  # written again unchanged
        _line(code(1, "91440100"), district="440103"),  # before every code, new district
        _line(code(2)),  # another unit and registration day
        _line(code(8, "91440150"), district="440111"),  # between codes
        _line(code(9, "91440199")),  # between codes, beside another new one
        _line(code(30, "91440199")),  # after every code
    ]
    read = []
    original = columns._read_directory
    monkeypatch.setattr(columns, "_read_directory", lambda s: read.append(1) or original(s))
    import_file(session, "enterprises", write(tmp_path, "fix.csv", HEADER, corrections))
    assert read == []  # patched: the table was not read
    monkeypatch.setattr(columns, "_read_directory", original)
    assert_snapshot_is_the_table(session)
    the_table_is_not_read(monkeypatch)
    loaded = load(session)
    assert len(loaded.credit_code) == 17
    row = int(np.searchsorted(loaded.credit_code, code(3)))
    assert loaded.status.value(row) == "revoked"


def test_a_small_import_after_an_uncounted_snapshot_reads_the_table(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A snapshot not current before the import (a write came after it) is not patched."""
    import_file(session, "enterprises", write(tmp_path, "e.csv", HEADER, enterprise_lines(6)))
    bump_revision(session, "enterprises")  # a write the snapshot does not hold
    read = []
    original = columns._read_directory
    monkeypatch.setattr(columns, "_read_directory", lambda s: read.append(1) or original(s))
    import_file(session, "enterprises", write(tmp_path, "one.csv", HEADER, [_line(code(40))]))
    assert read == [1]
    monkeypatch.setattr(columns, "_read_directory", original)
    assert_snapshot_is_the_table(session)
