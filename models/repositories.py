"""Data access helpers shared by the workflows. No business rules, no commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.base import Base


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"database {dialect} is not supported")


def upsert(session: Session, model: type[Base], rows: Sequence[dict[str, Any]], key: str) -> None:
    """Insert rows, or update every other column where the natural key exists."""
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[assignment]
    if _use_copy(session, rows):
        _copy_then_insert(session, table, rows, key, update=True)
        return
    stmt = _insert(session, table)
    columns = [c for c in rows[0] if c != key]
    stmt = stmt.on_conflict_do_update(
        index_elements=[key], set_={c: getattr(stmt.excluded, c) for c in columns}
    )
    session.execute(stmt, list(rows))


def insert_new(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], key: str
) -> None:
    """Insert rows whose key is not yet stored; leave existing rows alone."""
    if not rows:
        return
    table: Table = model.__table__  # type: ignore[assignment]
    if _use_copy(session, rows):
        _copy_then_insert(session, table, rows, key, update=False)
        return
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=[key])
    session.execute(stmt, list(rows))


COPY_THRESHOLD = 500


def _use_copy(session: Session, rows: Sequence[dict[str, Any]]) -> bool:
    return len(rows) >= COPY_THRESHOLD and session.get_bind().dialect.name == "postgresql"


def _copy_then_insert(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str, *, update: bool
) -> None:
    """PostgreSQL bulk path: COPY into a temporary table, then one INSERT ... ON CONFLICT.
    Several times faster than row-by-row parameters for directory-sized files."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    staging = f"staging_{table.name}"
    if update:
        updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c != key)
        conflict = f"DO UPDATE SET {updates}"
    else:
        conflict = "DO NOTHING"
    raw = session.connection().connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        cursor.execute(
            f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" '
            f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DROP'
        )
        with cursor.copy(f'COPY "{staging}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        cursor.execute(
            f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}" '
            f'ON CONFLICT ("{key}") {conflict}'
        )
        cursor.execute(f'TRUNCATE "{staging}"')


def existing_keys(
    session: Session, model: type[Base], key: str, candidates: Iterable[str]
) -> set[str]:
    """Which of the candidate keys are stored (one query per call; keep batches modest)."""
    wanted = list(set(candidates))
    if not wanted:
        return set()
    column = getattr(model, key)
    return set(session.scalars(select(column).where(column.in_(wanted))))


def all_keys(session: Session, model: type[Base], key: str) -> set[str]:
    return set(session.scalars(select(getattr(model, key))))


def count(session: Session, model: type[Base]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)
