"""Database fixtures: every database test runs on SQLite and on PostgreSQL.

Migrations run once per backend and session; each test then runs inside a transaction
that is rolled back, so tests never see each other's rows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from models.db import make_engine, make_session_factory
from models.migrate import upgrade

DATA = Path(__file__).parent / "data"
BACKENDS = ["sqlite", "postgresql"]
PG_URL = os.environ.get(
    "INSPECT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/inspect_engine_test"
)


def _postgres_database(suffix: str) -> str:
    """Creates a fresh database for this test run; returns its URL."""
    url = make_url(PG_URL)
    name = f"{url.database}_{suffix}_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is part of the test environment
        if os.environ.get("INSPECT_TEST_SKIP_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL not available: {exc}")
        pytest.fail(f"PostgreSQL is required for the tests ({PG_URL}): {exc}")
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def fresh_database_url(backend: str, tmp_path_factory: pytest.TempPathFactory, tag: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(tag) / 'test.db'}"
    return _postgres_database(tag)


def database_url(factory: sessionmaker[Session]) -> str:
    """The URL of the database a session factory opens (to start an app on it)."""
    return str(factory.kw["bind"].url.render_as_string(hide_password=False))


@contextmanager
def own_database(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tag: str, connections: int = 5
) -> Iterator[sessionmaker[Session]]:
    """A migrated database of the test's own, for tests whose transactions must commit
    (concurrent writers, crashes), with `connections` pooled connections; dropped after."""
    url = fresh_database_url(backend, tmp_path_factory, tag)
    engine = make_engine(url, pool_size=connections, max_overflow=0)
    try:
        upgrade(engine)
        yield make_session_factory(engine)
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    url = fresh_database_url(request.param, tmp_path_factory, "main")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    if request.param == "postgresql":
        _drop_postgres_database(url)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()
