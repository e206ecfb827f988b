"""`audit verify`: a month's log verifies clean; an edited, deleted, inserted or cut-off
entry is found and named, in the workflow, the CLI and the auditors' API, on SQLite and
PostgreSQL. Tampering is done with SQL behind the workflow's back, as an intruder would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import models
from api.app import create_app
from inspect_engine.cli import app as cli_app
from inspect_engine.errors import InvalidInput
from inspect_engine.settings import Settings
from inspect_engine.workflows import audit, results
from inspect_engine.workflows.audit import Break, ChainHead, chain_head, verify_audit_chain
from models.base import utcnow
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.api import servicecity
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url

VISITS_REPORTED = 6


def run_month(session: Session, folder: Path) -> servicecity.City:
    """A drawn month with users, then results submitted, approved and published: the
    workflows write the audit entries, nothing here writes one directly."""
    city = servicecity.populate(session, folder)
    reported = 0
    for visit, (team, items) in sorted(city.visits.items()):
        if "SAMR-INFO" not in items or reported == VISITS_REPORTED:
            continue
        row = results.submit_result(
            session,
            inspector_id=team[0],
            visit_code=visit,
            item_code="SAMR-INFO",
            result="no_problem",
            inspected_on=date(2026, 9, 24),
            today=date(2026, 10, 15),
            actor=team[0],
        )
        results.review_result(session, row.id, approve=True, departments=None, actor="sup_samr")
        reported += 1
    results.publish_month(session, servicecity.MONTH, today=date(2026, 10, 15))
    return city


@pytest.fixture
def month(session: Session, tmp_path: Path) -> list[int]:
    """The ids of the month's audit entries, in order."""
    run_month(session, tmp_path)
    return ids(session)


def ids(session: Session) -> list[int]:
    return list(session.scalars(select(models.AuditEntry.id).order_by(models.AuditEntry.id)))


def execute(session: Session, sql: str, **params: Any) -> None:
    session.execute(text(sql), params)
    session.expire_all()


def forge(session: Session, entry_id: int, prev_hash: str, subject: str) -> str:
    """Writes an entry whose hash is computed correctly, as one who knows the formula
    would; returns its hash."""
    at = utcnow()
    details = {"rows": 1}
    digest = audit.entry_hash(prev_hash, at, "intruder", "import.items", subject, details)
    session.execute(
        insert(models.AuditEntry).values(
            id=entry_id,
            at=at,
            actor="intruder",
            action="import.items",
            subject=subject,
            details=details,
            prev_hash=prev_hash,
            entry_hash=digest,
        )
    )
    return digest


def stored_hash(session: Session, entry_id: int) -> str:
    entry = session.get_one(models.AuditEntry, entry_id)
    return entry.entry_hash


def kinds(outcome: audit.ChainVerification) -> list[tuple[Break, int | None]]:
    return [(p.kind, p.entry_id) for p in outcome.problems]


# --------------------------------------------------------------------------- intact


def test_a_months_log_verifies_clean_in_any_chunk_size(session: Session, month: list[int]) -> None:
    actions = set(session.scalars(select(models.AuditEntry.action)))
    assert {"plan.freeze", "plan.draw", "result.submit", "result.publish"} <= actions
    assert len(month) > 2 * VISITS_REPORTED + 10
    whole = verify_audit_chain(session)
    assert whole.intact, whole.problems
    assert whole.entries == len(month)
    assert whole.head == chain_head(session)
    assert whole.head.entry_hash == stored_hash(session, month[-1])
    for chunk in (1, 7, len(month)):  # chunk boundaries fall everywhere
        assert verify_audit_chain(session, whole.head, chunk=chunk) == verify_audit_chain(
            session, whole.head
        )


def test_an_empty_log_is_intact_at_the_genesis(session: Session) -> None:
    outcome = verify_audit_chain(session)
    assert outcome.intact and outcome.entries == 0
    assert outcome.head == ChainHead(0, audit.GENESIS)


def test_details_are_stored_as_they_were_hashed(session: Session) -> None:
    # Integer keys sort differently from their text; tuples read back as lists.
    details: dict[Any, Any] = {2: ("a", 1), 10: None}
    entry = audit.record(session, "cli", "plan.tasks", "2026-12", details)
    assert verify_audit_chain(session).intact
    assert entry.details == {"2": ["a", 1], "10": None}


def test_renumbering_ids_is_not_tampering(session: Session, month: list[int]) -> None:
    # Ids are storage keys (PostgreSQL skips some); the chain is the order.
    execute(session, "UPDATE audit_log SET id = id + 1000 WHERE id > :mid", mid=month[5])
    assert verify_audit_chain(session).intact


# --------------------------------------------------------------------------- edited


EDITS = {
    "actor": "UPDATE audit_log SET actor = 'someone' WHERE id = :id",
    "subject": "UPDATE audit_log SET subject = subject || 'x' WHERE id = :id",
    "details": "UPDATE audit_log SET details = '{\"rows\": 0}' WHERE id = :id",
    "prev_hash": "UPDATE audit_log SET prev_hash = entry_hash WHERE id = :id",
}


@pytest.mark.parametrize("field", [*EDITS, "at"])
def test_an_edited_field_names_its_entry(session: Session, month: list[int], field: str) -> None:
    middle = month[len(month) // 2]
    if field == "at":
        session.execute(
            text("UPDATE audit_log SET at = :at WHERE id = :id"),
            {"at": utcnow() - timedelta(days=3), "id": middle},
        )
    else:
        execute(session, EDITS[field], id=middle)
    outcome = verify_audit_chain(session)
    assert kinds(outcome) == [(Break.EDITED, middle)]
    first = outcome.first
    assert first is not None and first.sequence == month.index(middle) + 1
    assert f"entry id {middle}" in first.message and "changed after it was written" in first.message


def test_unreadable_values_are_reported_not_raised(session: Session, month: list[int]) -> None:
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL refuses such values in timestamp and json columns")
    execute(session, "UPDATE audit_log SET at = 'yesterday' WHERE id = :id", id=month[3])
    execute(session, "UPDATE audit_log SET details = '{not json' WHERE id = :id", id=month[4])
    outcome = verify_audit_chain(session)
    assert kinds(outcome) == [(Break.EDITED, month[3]), (Break.EDITED, month[4])]


def test_an_entry_rewritten_with_a_new_hash_breaks_the_next_link(
    session: Session, month: list[int]
) -> None:
    middle = month[len(month) // 2]
    entry = session.get_one(models.AuditEntry, middle)
    new = audit.entry_hash(
        entry.prev_hash, entry.at, entry.actor, entry.action, "forged", dict(entry.details)
    )
    execute(
        session, "UPDATE audit_log SET subject = 'forged', entry_hash = :h WHERE id = :id",
        h=new, id=middle,
    )  # fmt: skip
    outcome = verify_audit_chain(session)
    following = month[month.index(middle) + 1]
    assert kinds(outcome) == [(Break.MISSING, following)]
    assert f"id {middle} was rewritten" in outcome.problems[0].message


# --------------------------------------------------------------------------- deleted


def test_a_deleted_middle_entry_is_found(session: Session, month: list[int]) -> None:
    gone = month[len(month) // 2]
    execute(session, "DELETE FROM audit_log WHERE id = :id", id=gone)
    outcome = verify_audit_chain(session)
    following = month[month.index(gone) + 1]
    assert kinds(outcome) == [(Break.MISSING, following)]
    message = outcome.problems[0].message
    assert f"ids {gone}–{gone} are absent" in message and "deleted" in message


def test_a_deleted_first_entry_is_found(session: Session, month: list[int]) -> None:
    execute(session, "DELETE FROM audit_log WHERE id = :id", id=month[0])
    outcome = verify_audit_chain(session)
    assert kinds(outcome) == [(Break.MISSING, month[1])]
    assert "first entries of the log were deleted" in outcome.problems[0].message


def test_a_deleted_last_entry_shows_against_a_kept_head(session: Session, month: list[int]) -> None:
    kept = verify_audit_chain(session).head
    execute(session, "DELETE FROM audit_log WHERE id = :id", id=month[-1])
    assert verify_audit_chain(session).intact  # nothing inside the table can show it
    outcome = verify_audit_chain(session, kept)
    assert kinds(outcome) == [(Break.TRUNCATED, None)]
    assert f"expected head is entry #{len(month)}" in outcome.problems[0].message
    # An entry appended in its place reaches the count, not the hash.
    audit.record(session, "cli", "user.create", "late")
    replaced = verify_audit_chain(session, kept)
    last = ids(session)[-1]
    assert kinds(replaced) == [(Break.HEAD_MISMATCH, last)]


def test_a_log_that_grew_since_its_head_was_kept_is_intact(
    session: Session, month: list[int]
) -> None:
    kept = verify_audit_chain(session).head
    audit.record(session, "cli", "user.create", "later")
    outcome = verify_audit_chain(session, kept)
    assert outcome.intact and outcome.entries == kept.sequence + 1


def test_a_rechained_log_passes_alone_but_not_against_its_head(
    session: Session, month: list[int]
) -> None:
    """One who edits an entry and recomputes every hash after it leaves a consistent
    chain: only a head kept outside the database shows it."""
    kept = verify_audit_chain(session).head
    middle = month[len(month) // 2]
    execute(session, "UPDATE audit_log SET subject = 'forged' WHERE id = :id", id=middle)
    prev = stored_hash(session, month[month.index(middle) - 1])
    for entry_id in month[month.index(middle) :]:
        e = session.get_one(models.AuditEntry, entry_id)
        digest = audit.entry_hash(prev, e.at, e.actor, e.action, e.subject, dict(e.details))
        execute(
            session, "UPDATE audit_log SET prev_hash = :p, entry_hash = :h WHERE id = :id",
            p=prev, h=digest, id=entry_id,
        )  # fmt: skip
        prev = digest
    assert verify_audit_chain(session).intact
    assert kinds(verify_audit_chain(session, kept)) == [(Break.HEAD_MISMATCH, month[-1])]


# --------------------------------------------------------------------------- inserted


def test_a_forged_entry_slipped_between_two_is_found(session: Session, month: list[int]) -> None:
    middle = month[len(month) // 2]
    execute(session, "UPDATE audit_log SET id = id + 1000 WHERE id > :mid", mid=middle)
    forge(session, middle + 1, stored_hash(session, middle), "forged.csv")
    outcome = verify_audit_chain(session)
    assert kinds(outcome) == [(Break.INSERTED, middle + 1)]
    assert f"follow id {middle}" in outcome.problems[0].message


def test_a_forged_entry_that_follows_nothing_is_found(session: Session, month: list[int]) -> None:
    middle = month[len(month) // 2]
    execute(session, "UPDATE audit_log SET id = id + 1000 WHERE id > :mid", mid=middle)
    forge(session, middle + 1, "f" * 64, "forged.csv")
    outcome = verify_audit_chain(session)
    assert kinds(outcome) == [(Break.INSERTED, middle + 1)]
    assert "it follows no entry" in outcome.problems[0].message


def test_a_forged_entry_appended_to_an_old_entry_is_found(
    session: Session, month: list[int]
) -> None:
    forge(session, month[-1] + 1, stored_hash(session, month[2]), "forged.csv")
    outcome = verify_audit_chain(session)
    assert [k for k, _ in kinds(outcome)] == [Break.MISSING]
    assert outcome.problems[0].entry_id == month[-1] + 1


def test_problems_beyond_the_listed_are_counted(session: Session, month: list[int]) -> None:
    execute(session, "UPDATE audit_log SET actor = 'someone'")
    outcome = verify_audit_chain(session)
    assert len(outcome.problems) == audit.MAX_PROBLEMS
    assert outcome.unlisted == len(month) - audit.MAX_PROBLEMS


# --------------------------------------------------------------------------- heads


def test_a_head_is_parsed_or_refused_clearly() -> None:
    digest = "ab" * 32
    assert ChainHead.parse(f" 12:{digest.upper()} ") == ChainHead(12, digest)
    assert str(ChainHead(12, digest)) == f"12:{digest}"
    for bad in ("12", f"x:{digest}", "12:abc", f"-1:{digest}"):
        with pytest.raises(InvalidInput, match="is not SEQ:HASH"):
            ChainHead.parse(bad)


# --------------------------------------------------------------------------- writers


WRITERS = 12
ENTRIES_EACH = 4


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_writers_keep_one_chain(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    url = fresh_database_url(backend, tmp_path_factory, "auditwriters")
    engine = make_engine(url, pool_size=WRITERS, max_overflow=0)
    factory = make_session_factory(engine)
    try:
        upgrade(engine)
        barrier = threading.Barrier(WRITERS)
        errors: list[BaseException] = []

        def writer(number: int) -> None:
            try:
                for k in range(ENTRIES_EACH):
                    if k == 0:
                        barrier.wait()
                    with factory.begin() as session:
                        audit.record(session, f"writer{number}", "token.issue", f"w{number}-{k}")
            except BaseException as exc:  # collected and reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        with factory() as session:
            outcome = verify_audit_chain(session)
        assert outcome.intact, outcome.problems
        assert outcome.entries == WRITERS * ENTRIES_EACH
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)


# --------------------------------------------------------------------------- CLI and API


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, Engine, servicecity.City]]:
    """A committed month in a database of its own; INSPECT_DATABASE_URL points to it."""
    url = fresh_database_url(request.param, tmp_path_factory, "auditcli")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with make_session_factory(engine).begin() as session:
            city = run_month(session, tmp_path_factory.mktemp("city"))
        monkeypatch.setenv("INSPECT_DATABASE_URL", url)
        yield url, engine, city
    finally:
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)


def tamper(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as connection:
        connection.execute(text(sql), params)


def entry_ids(engine: Engine) -> list[int]:
    with engine.connect() as connection:
        query = select(models.AuditEntry.id).order_by(models.AuditEntry.id)
        return list(connection.scalars(query))


def test_the_cli_exits_0_when_intact_and_1_naming_the_broken_entry(
    database: tuple[str, Engine, servicecity.City],
) -> None:
    _, engine, _ = database
    runner = CliRunner()
    intact = runner.invoke(cli_app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    head = intact.stdout.strip().splitlines()[-1]
    assert "audit log intact" in intact.output
    assert runner.invoke(cli_app, ["audit", "head"]).stdout.strip() == head
    reached = runner.invoke(cli_app, ["audit", "verify", "--expect-head", head])
    assert reached.exit_code == 0 and "reaching the expected head" in reached.output

    entries = entry_ids(engine)
    tamper(engine, "DELETE FROM audit_log WHERE id = :id", id=entries[-1])
    assert runner.invoke(cli_app, ["audit", "verify", "--no-published"]).exit_code == 0
    # the month's last entry was a publication, whose head was published
    published = runner.invoke(cli_app, ["audit", "verify"])
    assert published.exit_code == 1, published.output
    assert "truncated" in published.output and "the published head" in published.output
    cut = runner.invoke(cli_app, ["audit", "verify", "--expect-head", head])
    assert cut.exit_code == 1
    assert "truncated" in cut.output and "deleted from its end" in cut.output

    middle = entries[len(entries) // 2]
    # The subject is printed: stored text must not be taken for console markup.
    tamper(engine, "UPDATE audit_log SET subject = '[/red] x' WHERE id = :id", id=middle)
    edited = runner.invoke(cli_app, ["audit", "verify"])
    assert edited.exit_code == 1, edited.output
    assert f"audit log broken at entry id {middle}" in edited.output
    assert "edited" in edited.output and "[/red] x) was changed" in edited.output
    assert "Traceback" not in edited.output

    malformed = runner.invoke(cli_app, ["audit", "verify", "--expect-head", "12:abc"])
    assert malformed.exit_code == 2
    assert "is not SEQ:HASH" in malformed.output and "Traceback" not in malformed.output


def test_auditors_verify_the_log_through_the_api(
    database: tuple[str, Engine, servicecity.City],
) -> None:
    url, engine, city = database
    app = create_app(Settings(database_url=url, environment="test"))
    with TestClient(app) as client:

        def get(user: str, **params: str) -> Any:
            return client.get("/auditor/audit/verify", params=params, headers=city.headers(user))

        for user in ("auditor", "admin"):
            body = get(user).json()
            assert body["intact"] is True and body["problems"] == []
        # Users' token checks in those requests append nothing: the head stands.
        head = get("auditor").json()["head"]
        assert get("auditor", expect_head=head).json()["intact"] is True
        for user in ("sup_samr", "insp_s01"):
            assert get(user).status_code == 403
        assert client.get("/auditor/audit/verify").status_code == 401
        assert get("auditor", expect_head="12:abc").status_code == 422

        entries = entry_ids(engine)
        gone = entries[len(entries) // 2]
        tamper(engine, "DELETE FROM audit_log WHERE id = :id", id=gone)
        broken = get("auditor", expect_head=head).json()
        assert broken["intact"] is False
        first = broken["problems"][0]
        assert (first["kind"], first["entry_id"]) == ("missing", entries[entries.index(gone) + 1])
        assert broken["problems"][-1]["kind"] == "truncated"
        with engine.connect() as connection:
            count = connection.scalar(select(func.count()).select_from(models.AuditEntry))
        assert broken["entries"] == count
