"""Data access helpers shared by the workflows. No business rules, no commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.base import Base
from models.snapshots import ColumnSnapshot


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


def insert_rows(
    session: Session,
    model: type[Base],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    batch: int = 50_000,
) -> int:
    """Plain INSERT of many new rows given as tuples in `columns` order; returns the count.

    The driver does the work (COPY on PostgreSQL, one executemany per batch on SQLite): at
    millions of rows the ORM's per-row bookkeeping costs more than the database itself.
    Values go through the columns' own bind conversions, so what is stored is what an ORM
    insert would store."""
    table: Table = model.__table__  # type: ignore[assignment]
    dialect = session.get_bind().dialect
    names = ", ".join(f'"{c}"' for c in columns)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    count = 0
    iterator = iter(rows)
    if dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in iterator:
                copy.write_row(row)
                count += 1
        return count
    # Conversions column by column, each remembering its answers: a column such as the
    # scoring day repeats one value millions of times.
    converters = [table.c[c].type.bind_processor(dialect) for c in columns]
    convert = [(i, _remembering(f)) for i, f in enumerate(converters) if f]
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})'
    cursor = raw.cursor()
    try:
        while chunk := list(islice(iterator, batch)):
            if convert:
                fields = [list(c) for c in zip(*chunk, strict=True)]
                for i, process in convert:
                    fields[i] = [None if v is None else process(v) for v in fields[i]]
                chunk = list(zip(*fields, strict=True))
            cursor.executemany(sql, chunk)
            count += len(chunk)
    finally:
        cursor.close()
    return count


def _remembering(process: Any) -> Any:
    """`process` with its answers kept for hashable values (a few distinct ones at most
    repeat; an unhashable value, e.g. a JSON list, is converted every time)."""
    known: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return known[value]
        except KeyError:
            if len(known) < 1024:
                known[value] = process(value)
                return known[value]
        except TypeError:
            pass
        return process(value)

    return convert


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


def add_to_count(
    session: Session, model: type[Base], key: dict[str, Any], column: str, amount: int = 1
) -> None:
    """Add `amount` to a counter row, creating it at `amount`: one statement, so that
    concurrent requests never lose a count."""
    table: Table = model.__table__  # type: ignore[assignment]
    stmt = _insert(session, table).values(**key, **{column: amount})
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key), set_={column: table.c[column] + amount}
    )
    session.connection().execute(stmt)


def bump_revision(session: Session, name: str) -> None:
    """Count one more write to table `name` (its columnar snapshot is then out of date).

    Every writer calls this in its own transaction; on PostgreSQL the row lock it takes
    also orders concurrent writers, so a snapshot can never be labelled with a revision
    whose rows it does not hold."""
    table: Table = ColumnSnapshot.__table__  # type: ignore[assignment]
    stmt = _insert(session, table).values(name=name, revision=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"], set_={"revision": table.c.revision + 1}
    )
    session.connection().execute(stmt)  # Core: also safe inside a flush
