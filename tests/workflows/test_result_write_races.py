"""Writers of one month's results racing each other: an inspector's (re-)submission, a
supervisor's review, a supervisor's results.csv and `results publish`. Each claims the
month's plan as its first statement, so they queue and each acts on what the one before
committed: a result is published with the value that is stored and that a supervisor
approved, and never changes once published.

Each test drives one bad interleaving deterministically: the first writer is stopped
right after its checks (a hook on a function it calls there), the second is started in
a thread and allowed to run until it has committed or waits for a lock, then the first
goes on and commits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, exists, select, text
from sqlalchemy.orm import Session, sessionmaker

import models
from inspect_engine.errors import Conflict, DomainError
from inspect_engine.workflows import results
from inspect_engine.workflows.closing import CarriedOver, close_month
from inspect_engine.workflows.imports import ImportRejected
from tests.workflows import test_publish_concurrency as publishing

TODAY = publishing.TODAY
INSPECTED_ON = publishing.INSPECTED_ON
STALLED = 0.5  # seconds in one SQLite statement: waiting for the write lock
WAIT = 60.0

# the fixture of test_publish_concurrency: a fresh database (each backend) with a month
# of reviewed, unpublished results
reviewed = publishing.reviewed


# --------------------------------------------------------------------------- driving


@dataclass
class Meanwhile:
    """A call run in a thread while the main thread's transaction is open."""

    thread: threading.Thread | None = None
    done: threading.Event = field(default_factory=threading.Event)
    outcome: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(timeout=WAIT)
        assert not self.thread.is_alive(), "the concurrent writer never finished"


def waits_for_a_lock(engine: Engine, statements: dict[int, float], own: int) -> bool:
    """Whether another writer is stuck behind the transaction of thread `own`: a backend
    waiting on a lock (PostgreSQL), or a statement of another thread running for long
    (SQLite's busy handler, inside the driver). `statements`: when each thread's running
    statement began."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return bool(waiting)
    now = time.monotonic()
    return any(now - began > STALLED for thread, began in statements.items() if thread != own)


def run_meanwhile(engine: Engine, call: Callable[[], Any]) -> Meanwhile:
    """Starts `call` in a thread and returns once it has finished or waits for a lock."""
    other = Meanwhile()
    statements: dict[int, float] = {}

    def before(*_: Any) -> None:
        statements[threading.get_ident()] = time.monotonic()

    def after(*_: Any) -> None:
        statements.pop(threading.get_ident(), None)

    def worker() -> None:
        try:
            other.outcome.append(call())
        except BaseException as exc:  # collected and asserted on by the test
            other.errors.append(exc)
        finally:
            other.done.set()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        other.thread = threading.Thread(target=worker)
        other.thread.start()
        deadline = time.monotonic() + WAIT
        while not other.done.wait(0.05):
            if waits_for_a_lock(engine, statements, threading.get_ident()):
                break
            assert time.monotonic() < deadline, "the concurrent writer neither ran nor waited"
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return other


@contextmanager
def stopping_at(
    monkeypatch: pytest.MonkeyPatch, name: str, engine: Engine, call: Callable[[], Any]
) -> Iterator[Meanwhile]:
    """The first time the main thread calls `results.<name>`, `call` runs meanwhile."""
    main = threading.get_ident()
    original = getattr(results, name)
    other = Meanwhile()

    def hooked(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == main and other.thread is None:
            started = run_meanwhile(engine, call)
            other.thread, other.done = started.thread, started.done
            other.outcome, other.errors = started.outcome, started.errors
        return original(*args, **kwargs)

    monkeypatch.setattr(results, name, hooked)
    try:
        yield other
    finally:
        monkeypatch.setattr(results, name, original)
        if other.thread is not None:
            other.join()
    assert other.thread is not None, f"results.{name} was never called"


def engine_of(factory: sessionmaker[Session]) -> Engine:
    bind = factory.kw["bind"]
    assert isinstance(bind, Engine)
    return bind


# --------------------------------------------------------------------------- the calls


def publish(factory: sessionmaker[Session]) -> results.PublishReport:
    return publishing.publish(factory, 99)


def submit(
    factory: sessionmaker[Session], inspector: str, visit_code: str, item: str, code: str
) -> models.Result:
    with factory.begin() as session:
        return results.submit_result(
            session,
            inspector_id=inspector,
            visit_code=visit_code,
            item_code=item,
            result=code,
            inspected_on=INSPECTED_ON,
            today=TODAY,
            actor=inspector,
        )


def approve(factory: sessionmaker[Session], result_id: int) -> models.Result:
    with factory.begin() as session:
        return results.review_result(
            session, result_id, approve=True, departments=None, actor="supervisor-review"
        )


def import_file(factory: sessionmaker[Session], path: Path) -> results.ResultsImportReport:
    with factory.begin() as session:
        return results.import_results(
            session, path, departments=None, today=TODAY, actor="supervisor-import"
        )


# --------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Record:
    status: str
    result: str
    publications: tuple[tuple[str, str], ...]  # (state, result) of its publications
    history: tuple[str, ...]  # results of its item's rows in the inspections history


def record_of(factory: sessionmaker[Session], result_id: int) -> Record:
    with factory() as session:
        row = session.get_one(models.Result, result_id)
        visit = session.get_one(models.Visit, row.visit_id)
        publications = session.execute(
            select(models.Publication.state, models.Publication.result)
            .where(models.Publication.result_id == result_id)
            .order_by(models.Publication.id)
        ).tuples()
        history = session.scalars(
            select(models.Inspection.result)
            .where(
                models.Inspection.credit_code == visit.credit_code,
                models.Inspection.item_code == row.item_code,
                models.Inspection.inspected_on == row.inspected_on,
            )
            .order_by(models.Inspection.id)
        )
        return Record(row.status, row.result, tuple(publications), tuple(history))


def assert_consistent(record: Record) -> None:
    """A published result is what its publication and its history row say; an unpublished
    one has neither."""
    if record.status == "published":
        assert record.publications == (("current", record.result),), record
        assert record.history == (record.result,), record
    else:
        assert record.publications == (), record
        assert record.history == (), record


def no_database_errors(errors: list[BaseException]) -> None:
    # a database error (a lost snapshot, a deadlock) must never reach the user
    assert [e for e in errors if not isinstance(e, DomainError)] == [], errors


def visit_item(result_id: int, factory: sessionmaker[Session]) -> tuple[str, str]:
    with factory() as session:
        row = session.get_one(models.Result, result_id)
        return session.get_one(models.Visit, row.visit_id).visit_code, row.item_code


def open_visit(reviewed: publishing.ReviewedMonth) -> tuple[str, str, str]:
    """A staffed visit without any result yet: (visit code, its first item, an inspector)."""
    with reviewed.factory() as session:
        visit_code, items, inspector = session.execute(
            select(models.Visit.visit_code, models.Visit.item_codes, models.TeamMember.inspector_id)
            .join(models.TeamMember, models.TeamMember.visit_id == models.Visit.id)
            .where(
                models.TeamMember.replaced_at.is_(None),
                ~exists().where(models.Result.visit_id == models.Visit.id),
            )
            .order_by(models.Visit.visit_code, models.TeamMember.inspector_id)
            .limit(1)
        ).one()
    return visit_code, items[0], inspector


def submitted(reviewed: publishing.ReviewedMonth) -> tuple[int, str, str, str]:
    """A result just submitted (no_problem) on a visit that had none: (result id,
    inspector, visit code, item code)."""
    visit_code, item, inspector = open_visit(reviewed)
    row = submit(reviewed.factory, inspector, visit_code, item, "no_problem")
    return row.id, inspector, visit_code, item


# --------------------------------------------------------------------------- the races


def test_an_import_while_publishing_never_changes_a_published_result(
    reviewed: publishing.ReviewedMonth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publish has read the reviewed results; a results.csv changes one of them. The
    import must wait and then be refused (the result is published: correct it), not
    slip its value under the publication."""
    result_id = min(reviewed.reviewed)
    visit_code, item = visit_item(result_id, reviewed.factory)
    path = tmp_path / "results.csv"
    path.write_text(
        "visit_id,item_code,result,inspected_on,note\n"
        f"{visit_code},{item},not_disclosed,{INSPECTED_ON.isoformat()},\n",
        encoding="utf-8",
    )
    engine = engine_of(reviewed.factory)
    with stopping_at(
        monkeypatch, "known_due_dates", engine, lambda: import_file(reviewed.factory, path)
    ) as other:
        report = publish(reviewed.factory)
    no_database_errors(other.errors)
    record = record_of(reviewed.factory, result_id)
    assert_consistent(record)
    assert report.published == len(reviewed.reviewed)
    assert record.result == "no_problem"  # what was reviewed and published
    assert len(other.errors) == 1 and isinstance(other.errors[0], ImportRejected), other
    assert "correct it instead" in str(other.errors[0].errors)


def test_a_resubmission_while_reviewing_is_not_approved_unseen(
    reviewed: publishing.ReviewedMonth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A supervisor has checked a submitted result and is approving it; the inspector
    changes it meanwhile. The approval must stand for what the supervisor saw and the
    late re-submission be refused, not the changed value be approved and published."""
    result_id, inspector, visit_code, item = submitted(reviewed)
    engine = engine_of(reviewed.factory)

    def resubmit() -> models.Result:
        return submit(reviewed.factory, inspector, visit_code, item, "not_disclosed")

    errors: list[BaseException] = []
    with stopping_at(monkeypatch, "utcnow", engine, resubmit) as other:
        try:
            approve(reviewed.factory, result_id)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)
    no_database_errors(errors + other.errors)
    assert errors == []
    publish(reviewed.factory)
    record = record_of(reviewed.factory, result_id)
    assert_consistent(record)
    assert (record.status, record.result) == ("published", "no_problem"), record
    assert len(other.errors) == 1 and isinstance(other.errors[0], Conflict), other
    assert "only a supervisor can change it now" in other.errors[0].message


def test_a_resubmission_while_approved_and_published_never_unpublishes(
    reviewed: publishing.ReviewedMonth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inspector re-submits a result he read as still open; meanwhile a supervisor
    approves it and the month is published. The re-submission must come first and be
    the value reviewed and published, not land on the published result afterwards."""
    result_id, inspector, visit_code, item = submitted(reviewed)
    engine = engine_of(reviewed.factory)

    def review_and_publish() -> results.PublishReport:
        approve(reviewed.factory, result_id)
        return publish(reviewed.factory)

    errors: list[BaseException] = []
    with stopping_at(monkeypatch, "utcnow", engine, review_and_publish) as other:
        try:
            submit(reviewed.factory, inspector, visit_code, item, "not_disclosed")
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)
    no_database_errors(errors + other.errors)
    record = record_of(reviewed.factory, result_id)
    assert_consistent(record)
    assert errors == [] and other.errors == [], (errors, other.errors)
    assert (record.status, record.result) == ("published", "not_disclosed"), record


def test_closing_the_month_while_a_result_comes_in_keeps_the_visit_visited(
    reviewed: publishing.ReviewedMonth, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inspector submits the first result of a visit while a supervisor closes the
    month. The close must wait and then see the result, not carry the visit over on top
    of it (and list it among the unvisited)."""
    visit_code, item, inspector = open_visit(reviewed)
    engine = engine_of(reviewed.factory)

    def close() -> tuple[CarriedOver, ...]:
        with reviewed.factory.begin() as session:
            return close_month(session, publishing.MONTH, actor="supervisor-close")

    errors: list[BaseException] = []
    with stopping_at(monkeypatch, "utcnow", engine, close) as other:
        try:
            submit(reviewed.factory, inspector, visit_code, item, "no_problem")
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)
    no_database_errors(errors + other.errors)
    assert errors == [] and other.errors == []
    (carried,) = other.outcome
    assert visit_code not in {c.visit_code for c in carried}
    with reviewed.factory() as session:
        status = session.scalar(
            select(models.Visit.status).where(models.Visit.visit_code == visit_code)
        )
    assert status == "visited"
