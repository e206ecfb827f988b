"""Load the city from the database into the columnar kernel types, in one streaming
query per table (never a query per enterprise)."""

from __future__ import annotations

import gc
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import CursorResult, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from inspect_engine.sampling.frames import (
    Coded,
    EnterpriseColumns,
    InspectionHistory,
    TagSet,
)
from models import ColumnSnapshot, RiskScore
from models.repositories import bump_revision, insert_new

CHUNK = 100_000
IN_BATCH = 5_000


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cycle collector off while millions of row tuples stream through: they hold
    no cycles, yet each collection would walk every one still alive (at 2.7 million rows
    that tripled the time of a load)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def driver_chunks(session: Session, sql: str, size: int = CHUNK) -> Iterator[list[Any]]:
    """The rows of `sql`, `size` at a time, as tuples from the driver's own cursor (a
    server-side cursor on PostgreSQL, so the server streams them too): SQLAlchemy's row
    objects would cost more than the query at millions of rows."""
    raw: Any = session.connection().connection.driver_connection
    postgres = session.get_bind().dialect.name == "postgresql"
    cursor = raw.cursor(name="inspect_engine_rows") if postgres else raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


class _Encoder:
    """Incremental categorical encoding: value -> small integer, vocabulary in order seen."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}

    def encode(self, values: Sequence[str]) -> NDArray[np.int32]:
        vocab = self.vocabulary
        for value in dict.fromkeys(values):  # new values in order of first appearance
            if value not in vocab:
                vocab[value] = len(vocab)
        return np.fromiter(map(vocab.__getitem__, values), np.int32, count=len(values))

    def coded(self, parts: list[NDArray[np.int32]]) -> Coded:
        codes = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        return Coded(codes, tuple(self.vocabulary))


def latest_model_version(session: Session) -> int | None:
    return session.scalar(select(func.max(RiskScore.model_version_id)))


PROFILE_SEPARATOR = "|"
# One text per enterprise for everything categorical: a city has far fewer distinct
# profiles than enterprises, so each is split and encoded once, not once per row.
_PROFILE = (
    "e.status || '|' || e.entity_type || '|' || e.industry || '|' || e.district || '|' || "
    "e.unit || '|' || COALESCE(e.licences, '')"
)


def load_enterprise_columns(
    session: Session,
    *,
    as_of: date,
    year: int,
    departments: Iterable[str],
    only: Sequence[str] | None = None,
    recent_since: date | None = None,
) -> EnterpriseColumns:
    """The directory sorted by credit code, with each enterprise's current risk class
    (from the latest scores; '' where unclassed) and the history the exclusions need:
    inspections in `year` before `as_of` and the last inspection per department.

    Read through the driver's cursor in chunks: at 2.7 million rows the ORM's row objects
    would cost more than the whole draw. `only` restricts the load to some enterprises
    (e.g. the month's selections); their history is then left empty, as only frames use it.
    `recent_since` (the exclusion window's first day) leaves out older last inspections,
    which no exclusion looks at: most of the history is older than the window.
    """
    with paused_gc():
        return _load_enterprise_columns(session, as_of, year, departments, only, recent_since)


def _load_enterprise_columns(
    session: Session,
    as_of: date,
    year: int,
    departments: Iterable[str],
    only: Sequence[str] | None,
    recent_since: date | None,
) -> EnterpriseColumns:
    version = latest_model_version(session)
    if only is None:
        (credit_code, profile, vocabulary, registered_on), keys = _whole_directory(session)
        find = CodeRows(credit_code, keys)  # one lookup table for the classes and the history
        risk_class = _risk_classes(session, version, find)
    else:
        credit_code, profile, vocabulary, registered_on, risk_class = _some_enterprises(
            session, version, only
        )
    split = [p.split(PROFILE_SEPARATOR) for p in vocabulary]
    return EnterpriseColumns(
        credit_code=credit_code,
        status=_column(split, 0, profile),
        entity_type=_column(split, 1, profile),
        industry=_column(split, 2, profile),
        district=_column(split, 3, profile),
        unit=_column(split, 4, profile),
        registered_on=registered_on,
        licences=_licences(split, profile),
        risk_class=risk_class,
        history=(
            load_inspection_history(
                session, credit_code, as_of, year, departments, recent_since, find=find
            )
            if only is None
            else InspectionHistory(
                year,
                np.zeros(credit_code.shape[0], np.int32),
                {d: np.full(credit_code.shape[0], np.datetime64("NaT")) for d in departments},
            )
        ),
    )


def _column(split: list[list[str]], position: int, profile: NDArray[np.int32]) -> Coded:
    """One categorical column from the profile codes, by a lookup table per profile."""
    encoder = _Encoder()
    per_profile = encoder.encode([parts[position] for parts in split])
    return Coded(per_profile[profile] if profile.size else profile, tuple(encoder.vocabulary))


def _licences(split: list[list[str]], profile: NDArray[np.int32]) -> TagSet:
    per_profile = TagSet.from_cells([parts[5] or None for parts in split])
    bits = per_profile.bits[profile] if profile.size else np.zeros(0, np.uint64)
    return TagSet(bits, per_profile.vocabulary)


Directory = tuple[NDArray[np.str_], NDArray[np.int32], list[str], NDArray[np.datetime64]]
# A directory with its credit codes as search keys (bytes when ASCII: see _sort_keys).
Keyed = tuple[Directory, NDArray[Any]]
SNAPSHOT = "enterprises"
CLASSES_SNAPSHOT = "risk_scores"  # the latest scoring's classes, by credit code


def _current_snapshot(session: Session, name: str) -> tuple[int, bytes | None]:
    """The table's write count, and the snapshot's payload if no write came after it.

    Read before the rows a fresh snapshot is built from: a write committed in between
    makes that snapshot look older than it is (rebuilt once more), never newer."""
    state = session.execute(
        select(ColumnSnapshot.revision, ColumnSnapshot.built_revision).where(
            ColumnSnapshot.name == name
        )
    ).one_or_none()
    if state is None:
        return 0, None
    if state.built_revision != state.revision:
        return state.revision, None
    payload = session.scalar(select(ColumnSnapshot.payload).where(ColumnSnapshot.name == name))
    return state.revision, payload


def _whole_directory(session: Session) -> Keyed:
    """Credit codes, profile codes with their vocabulary, and registration days of every
    enterprise, sorted by credit code: from the directory's snapshot when it is current,
    else read from the table (and the snapshot stored for the next reader)."""
    revision, payload = _current_snapshot(session, SNAPSHOT)
    if payload is not None:
        return _unpack(payload)
    keyed = _read_directory(session)
    _store_snapshot(session, revision, keyed)
    return keyed


def refresh_directory_snapshot(session: Session, written: Iterable[str] | None = None) -> int:
    """Bring the directory's snapshot up to date; called by the directory's writers (after
    `bump_revision`) so that the month's freeze finds it current. Returns its rows.

    `written`: the credit codes this writer stored. When they are few and the snapshot was
    current just before this writer's count, only those rows are read and patched in (a
    correction of a few enterprises then costs seconds, not a read of the whole table);
    otherwise the snapshot is rebuilt from the table."""
    revision = session.scalar(
        select(ColumnSnapshot.revision).where(ColumnSnapshot.name == SNAPSHOT)
    )
    keyed = None
    if written is not None and revision:
        changed = sorted(set(written))
        if len(changed) <= PATCH_LIMIT:
            keyed = _patched_directory(session, revision - 1, changed)
    if keyed is None:
        with paused_gc():
            keyed = _read_directory(session)
    _store_snapshot(session, revision or 0, keyed)
    return int(keyed[1].shape[0])


PATCH_LIMIT = 50_000  # rows written: beyond, reading the whole table is the cheaper way


def _patched_directory(session: Session, current_at: int, changed: list[str]) -> Keyed | None:
    """The snapshot current at revision `current_at`, with the rows of `changed` read again
    from the table: updated where the code was there, inserted in code order where not,
    profiles renumbered as a read of the whole table numbers them. None if that snapshot
    is not there (then the caller reads the table)."""
    state = session.execute(
        select(ColumnSnapshot.built_revision, ColumnSnapshot.payload).where(
            ColumnSnapshot.name == SNAPSHOT
        )
    ).one_or_none()
    if state is None or state.built_revision != current_at or state.payload is None:
        return None
    (codes, profile, vocabulary, registered), keys = _unpack(state.payload)
    new_codes, new_profile, new_registered = _directory_rows(session, changed, vocabulary)
    new_keys = _sort_keys(new_codes)
    if new_keys.dtype != keys.dtype:  # a non-ASCII code on one side: compare as the table
        return None
    at = np.searchsorted(keys, new_keys)
    there = at < keys.shape[0]
    there[there] = keys[at[there]] == new_keys[there]
    profile, registered = profile.copy(), registered.copy()
    profile[at[there]] = new_profile[there]
    registered[at[there]] = new_registered[there]
    fresh, where = ~there, at[~there]
    codes = np.insert(codes, where, new_codes[fresh])
    keys = np.insert(keys, where, new_keys[fresh])
    profile = np.insert(profile, where, new_profile[fresh])
    registered = np.insert(registered, where, new_registered[fresh])
    profile, vocabulary = _numbered_as_seen(profile, vocabulary)
    return (codes, profile, vocabulary, registered), keys


def _directory_rows(
    session: Session, changed: list[str], vocabulary: list[str]
) -> tuple[NDArray[np.str_], NDArray[np.int32], NDArray[np.datetime64]]:
    """Credit codes (sorted, as given), profile numbers in `vocabulary` (extended with new
    profiles) and registration days of the enterprises `changed`, from the table."""
    statement = text(
        f"SELECT e.credit_code, {_PROFILE}, CAST(e.registered_on AS TEXT) FROM enterprises e "
        "WHERE e.credit_code IN :codes"
    ).bindparams(bindparam("codes", expanding=True))
    rows: list[Any] = []
    for start in range(0, len(changed), IN_BATCH):
        batch = changed[start : start + IN_BATCH]
        rows += session.connection().execute(statement, {"codes": batch}).all()
    rows.sort(key=lambda row: row[0].encode("utf-8"))  # the table's (byte) order
    number = {text: i for i, text in enumerate(vocabulary)}
    profiles = [number.setdefault(row[1], len(number)) for row in rows]
    vocabulary[:] = list(number)  # dicts keep insertion order: old numbers, then new ones
    return (
        np.array([row[0] for row in rows], dtype="<U18"),
        np.array(profiles, dtype=np.int32),
        np.array([row[2] for row in rows], dtype="datetime64[D]"),
    )


def refresh_class_snapshot(session: Session) -> int:
    """Keep the latest scores' classes as a snapshot if they are not already (what scoring
    leaves behind; for databases scored before snapshots existed). Returns its rows."""
    version = latest_model_version(session)
    if version is None:
        return 0
    (codes, *_), keys = _whole_directory(session)
    return int((_risk_classes(session, version, CodeRows(codes, keys)) != "").sum())


def _store_snapshot(session: Session, revision: int, keyed: Keyed) -> None:
    _store(session, SNAPSHOT, revision, int(keyed[1].shape[0]), _pack(keyed))


def _store(session: Session, name: str, revision: int, rows: int, payload: bytes) -> None:
    """Keep `payload` as the snapshot of `name` at `revision`, unless a write came since."""
    values = {"built_revision": revision, "built_at": datetime.now(UTC), "rows": rows}
    updated: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(ColumnSnapshot)
        .where(ColumnSnapshot.name == name, ColumnSnapshot.revision == revision)
        .values(payload=payload, **values)
        .execution_options(synchronize_session=False)
    )
    if not updated.rowcount and revision == 0:
        # No writer has counted itself yet: the first snapshot row. If one has meanwhile,
        # its row stays and this snapshot is not kept.
        first = {"name": name, "revision": 0, "payload": payload, **values}
        insert_new(session, ColumnSnapshot, [first], "name")


def store_class_snapshot(
    session: Session, version: int, codes: NDArray[np.str_], letters: NDArray[np.str_]
) -> None:
    """Scoring's classes kept as a snapshot, in the transaction that wrote the scores:
    the next freeze then places them without reading millions of score rows."""
    bump_revision(session, CLASSES_SNAPSHOT)
    revision = session.scalar(
        select(ColumnSnapshot.revision).where(ColumnSnapshot.name == CLASSES_SNAPSHOT)
    )
    payload = _pack_classes(version, codes, letters)
    _store(session, CLASSES_SNAPSHOT, revision or 0, len(codes), payload)


def _pack_classes(version: int, codes: NDArray[Any], letters: NDArray[Any]) -> bytes:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        version=np.array([version], np.int64),
        credit_code=_sort_keys(np.asarray(codes, dtype="<U18")),
        risk_class=np.asarray(letters, dtype="<U1"),
    )
    return buffer.getvalue()


def _snapshot_classes(
    payload: bytes, version: int, find: CodeRows, risk_class: NDArray[np.str_]
) -> bool:
    """Place the snapshot's classes if they are `version`'s; False if they are not."""
    with np.load(io.BytesIO(payload), allow_pickle=False) as stored:
        if int(stored["version"][0]) != version:
            return False
        risk_class[find(stored["credit_code"])] = stored["risk_class"]
    return True


def _pack(keyed: Keyed) -> bytes:
    """The snapshot as an uncompressed .npz (numpy's own format, no pickled objects):
    credit codes are random characters, so compression would cost time for little."""
    (_, profile, vocabulary, registered_on), keys = keyed
    buffer = io.BytesIO()
    np.savez(
        buffer,
        credit_code=keys,
        profile=profile,
        vocabulary=np.frombuffer(json.dumps(vocabulary).encode("utf-8"), np.uint8),
        registered_on=registered_on.astype("datetime64[D]"),
    )
    return buffer.getvalue()


def _unpack(payload: bytes) -> Keyed:
    with np.load(io.BytesIO(payload), allow_pickle=False) as stored:
        keys = stored["credit_code"]
        directory = (
            keys.astype("<U18"),
            stored["profile"].astype(np.int32),
            list(json.loads(stored["vocabulary"].tobytes().decode("utf-8"))),
            stored["registered_on"],
        )
        return directory, keys


def _read_directory(session: Session) -> Keyed:
    """The directory read from the table, sorted by credit code.

    The table is read in storage order and sorted here: asking the database for credit-code
    order walks the index and fetches each row from a random page, several times slower at
    2.7 million rows. The profiles are then numbered in order of first appearance in code
    order, exactly as reading in that order would number them."""
    profiles = _Encoder()
    codes: list[NDArray[np.str_]] = []
    profile_parts: list[NDArray[np.int32]] = []
    registered: list[NDArray[np.datetime64]] = []
    for part_codes, part_profiles, part_days in _directory_parts(session):
        codes.append(part_codes)
        profile_parts.append(profiles.encode(part_profiles))
        registered.append(part_days)
    if not codes:
        empty = np.zeros(0, "<U18")
        return (empty, np.zeros(0, np.int32), [], np.zeros(0, "datetime64[D]")), _sort_keys(empty)
    credit_code = np.concatenate(codes)
    keys = _sort_keys(credit_code)
    order = np.argsort(keys, kind="stable")
    profile, vocabulary = _numbered_as_seen(
        np.concatenate(profile_parts)[order], list(profiles.vocabulary)
    )
    directory = (credit_code[order], profile, vocabulary, np.concatenate(registered)[order])
    return directory, keys[order]


_DIRECTORY = f"SELECT e.credit_code, {_PROFILE}, CAST(e.registered_on AS TEXT) FROM enterprises e"
DirectoryPart = tuple[NDArray[np.str_], Sequence[str], NDArray[np.datetime64]]


def _directory_parts(session: Session) -> Iterator[DirectoryPart]:
    """(credit codes, profile texts, registration days) of every enterprise, in parts."""
    if session.get_bind().dialect.name != "sqlite":
        for chunk in driver_chunks(session, _DIRECTORY):
            yield _part_of_rows(chunk)
        return
    connection = session.connection()
    low, high = connection.exec_driver_sql("SELECT min(rowid), max(rowid) FROM enterprises").one()
    if low is None:
        return
    for start in range(int(low) - 1, int(high), CHUNK):
        where = f" WHERE e.rowid > {start} AND e.rowid <= {start + CHUNK}"
        packed = _packed_directory_part(session, where)
        if packed is not None:
            yield packed
        else:  # irregular values: row by row, as on any database
            for chunk in driver_chunks(session, _DIRECTORY + where):
                yield _part_of_rows(chunk)


def _part_of_rows(rows: Sequence[Any]) -> DirectoryPart:
    columns = list(zip(*rows, strict=True))
    return (
        np.array(columns[0], dtype="<U18"),
        columns[1],
        np.array(columns[2], dtype="datetime64[D]"),
    )


def _packed_directory_part(session: Session, where: str) -> DirectoryPart | None:
    """SQLite: a part of the directory as two long strings built inside the database (the
    fixed-width code and day of every row, and the profiles joined by a separator), which
    numpy and str.split take apart in C: about 15% faster than 2.7 million row tuples
    (most of what is left is SQLite reading the rows). None when a value does not fit the
    fixed widths (then the caller reads those rows one by one)."""
    sql = (
        "SELECT group_concat(e.credit_code || CAST(e.registered_on AS TEXT), ''), "
        f"group_concat({_PROFILE}, char(31)), count(*), "
        "sum(length(e.credit_code) != 18 OR length(CAST(e.registered_on AS TEXT)) != 10) "
        f"FROM enterprises e{where}"
    )
    fixed, joined, count, irregular = session.connection().exec_driver_sql(sql).one()
    if not count:
        return np.zeros(0, "<U18"), [], np.zeros(0, "datetime64[D]")
    if irregular or not fixed.isascii() or len(fixed) != 28 * count:
        return None
    profiles = joined.split("\x1f")
    if len(profiles) != count:
        return None
    rows = np.frombuffer(fixed.encode("ascii"), dtype=[("code", "S18"), ("day", "S10")])
    return rows["code"].astype("<U18"), profiles, rows["day"].astype("datetime64[D]")


def _sort_keys(codes: NDArray[np.str_]) -> NDArray[Any]:
    """Credit codes as bytes when they are ASCII (they are, once imported): the same order
    as the strings (the database's byte order), compared several times faster."""
    try:
        return codes.astype("S18")
    except UnicodeEncodeError:
        return codes


def _numbered_as_seen(
    codes: NDArray[np.int32], vocabulary: list[str]
) -> tuple[NDArray[np.int32], list[str]]:
    """Codes renumbered 0, 1, ... in order of first appearance, with their vocabulary."""
    if not codes.size:
        return codes, []
    present, first = np.unique(codes, return_index=True)
    by_first = present[np.argsort(first)]
    renumber = np.zeros(len(vocabulary), np.int32)
    renumber[by_first] = np.arange(by_first.size, dtype=np.int32)
    return renumber[codes], [vocabulary[i] for i in by_first.tolist()]


def _risk_classes(session: Session, version: int | None, find: CodeRows) -> NDArray[np.str_]:
    """Each enterprise's class under the latest model ('' where unclassed), read in one
    pass over that model's scores and placed by credit code."""
    risk_class = np.full(find.codes.shape[0], "", dtype="<U1")
    if version is None:
        return risk_class
    revision, payload = _current_snapshot(session, CLASSES_SNAPSHOT)
    if payload is not None and _snapshot_classes(payload, version, find, risk_class):
        return risk_class
    read = _read_classes(session, version, find, risk_class)
    _store(session, CLASSES_SNAPSHOT, revision, len(read[0]), _pack_classes(version, *read))
    return risk_class


def _read_classes(
    session: Session, version: int, find: CodeRows, risk_class: NDArray[np.str_]
) -> tuple[NDArray[Any], NDArray[Any]]:
    """`version`'s classes from the scores table, placed; returns (codes, classes) read."""
    where = f"WHERE model_version_id = {int(version)}"  # an integer read from the database
    if session.get_bind().dialect.name == "sqlite":
        # As for the directory: one string of fixed-width (code, class) pairs, built inside
        # the database, instead of millions of row tuples.
        packed = (
            "SELECT group_concat(credit_code || risk_class, ''), count(*), "
            f"sum(length(credit_code) != 18 OR length(risk_class) != 1) FROM risk_scores {where}"
        )
        fixed, count, irregular = session.connection().exec_driver_sql(packed).one()
        if not count:
            return np.zeros(0, "<U18"), np.zeros(0, "<U1")
        if not irregular and fixed.isascii() and len(fixed) == 19 * count:
            pairs = np.frombuffer(fixed.encode("ascii"), dtype=[("code", "S18"), ("cls", "S1")])
            classes = pairs["cls"].astype("<U1")
            risk_class[find(pairs["code"])] = classes
            return pairs["code"].astype("<U18"), classes
    sql = f"SELECT credit_code, risk_class FROM risk_scores {where}"
    all_codes: list[NDArray[Any]] = []
    all_classes: list[NDArray[Any]] = []
    for chunk in driver_chunks(session, sql):
        codes, letters = zip(*chunk, strict=True)
        all_codes.append(np.array(codes, dtype="<U18"))
        all_classes.append(np.array([c or "" for c in letters], dtype="<U1"))
        risk_class[find(codes)] = all_classes[-1]
    if not all_codes:
        return np.zeros(0, "<U18"), np.zeros(0, "<U1")
    return np.concatenate(all_codes), np.concatenate(all_classes)


def _some_enterprises(
    session: Session, version: int | None, only: Sequence[str]
) -> tuple[
    NDArray[np.str_], NDArray[np.int32], list[str], NDArray[np.datetime64], NDArray[np.str_]
]:
    """The same columns for a few enterprises (e.g. the month's selections), by key."""
    order = ' COLLATE "C"' if session.get_bind().dialect.name == "postgresql" else ""
    sql = (
        f"SELECT e.credit_code, {_PROFILE}, CAST(e.registered_on AS TEXT), r.risk_class "
        "FROM enterprises e LEFT OUTER JOIN risk_scores r "
        "ON r.credit_code = e.credit_code AND r.model_version_id = :version "
        f"WHERE e.credit_code IN :codes ORDER BY e.credit_code{order}"
    )
    statement = text(sql).bindparams(bindparam("codes", expanding=True))
    profiles = _Encoder()
    codes: list[NDArray[np.str_]] = []
    profile_parts: list[NDArray[np.int32]] = []
    registered: list[NDArray[np.datetime64]] = []
    risk_classes: list[NDArray[np.str_]] = []
    wanted = sorted(set(only))
    connection = session.connection()
    for start in range(0, len(wanted), IN_BATCH):
        batch = wanted[start : start + IN_BATCH]
        rows = connection.execute(statement, {"version": version, "codes": batch}).all()
        if not rows:
            continue
        columns = list(zip(*rows, strict=True))
        codes.append(np.array(columns[0], dtype="<U18"))
        profile_parts.append(profiles.encode(columns[1]))
        registered.append(np.array(columns[2], dtype="datetime64[D]"))
        risk_classes.append(np.array([c or "" for c in columns[3]], dtype="<U1"))
    if not codes:
        empty_codes = np.zeros(0, "<U18")
        return empty_codes, np.zeros(0, np.int32), [], np.zeros(0, "datetime64[D]"), empty_codes
    return (
        np.concatenate(codes),
        np.concatenate(profile_parts),
        list(profiles.vocabulary),
        np.concatenate(registered),
        np.concatenate(risk_classes).astype("<U1"),
    )


class CodeRows:
    """Row of each credit code in a sorted directory (the import guarantees they exist).

    Codes are searched as bytes (a plain memory compare) and in sorted order (numpy's binary
    search starts from the previous hit): several times faster than searching unicode
    strings in arrival order, which counts for the 10 million rows of the history."""

    def __init__(self, codes: NDArray[np.str_], keys: NDArray[Any] | None = None) -> None:
        self.codes = codes
        self.keys = _sort_keys(codes) if keys is None else keys  # keys: _sort_keys(codes)

    def __call__(
        self, wanted: Sequence[Any] | NDArray[Any], *, check: bool = False
    ) -> NDArray[np.int64]:
        """Rows of the `wanted` codes; with `check`, ValueError for codes not found."""
        if not len(wanted):
            return np.zeros(0, np.int64)
        try:
            queries: NDArray[Any] = np.asarray(wanted, dtype=self.keys.dtype)
            keys = self.keys
        except UnicodeEncodeError:
            queries, keys = np.asarray(wanted, dtype=str), self.codes
        order = np.argsort(queries, kind="stable")
        rows = np.empty(len(wanted), np.int64)
        rows[order] = np.searchsorted(keys, queries[order])
        if check:
            found = rows < keys.shape[0]
            found[found] = keys[rows[found]] == queries[found]
            if not found.all():
                unknown = [str(c) for c in np.asarray(wanted)[~found][:5].tolist()]
                raise ValueError(f"credit codes not in the directory: {unknown}")
        return rows


def load_inspection_history(
    session: Session,
    credit_code: NDArray[np.str_],
    as_of: date,
    year: int,
    departments: Iterable[str],
    recent_since: date | None = None,
    *,
    find: CodeRows | None = None,
) -> InspectionHistory:
    """Every inspection counts here, random or not (the caps are about total burden). The
    last inspection per department is looked for from `recent_since` on (all when None).
    `find`: the caller's lookup table for these codes, if it has one."""
    size = credit_code.shape[0]
    find = CodeRows(credit_code) if find is None else find
    # ISO dates compare as the stored dates do on both databases; written inline for the
    # driver's cursor (they come from date objects, never from input text).
    before = f"inspected_on < '{as_of.isoformat()}'"
    counted = (
        "SELECT credit_code, COUNT(*) FROM inspections "
        f"WHERE {before} AND inspected_on >= '{date(year, 1, 1).isoformat()}' "
        "GROUP BY credit_code"
    )
    counts = np.zeros(size, np.int32)
    for rows in driver_chunks(session, counted):
        codes, numbers = zip(*rows, strict=True)
        counts[find(codes, check=True)] = np.asarray(numbers, np.int32)
    if recent_since is not None:
        before += f" AND inspected_on >= '{recent_since.isoformat()}'"
    latest = (
        "SELECT department, credit_code, CAST(MAX(inspected_on) AS TEXT) FROM inspections "
        f"WHERE {before} GROUP BY department, credit_code"
    )
    last: dict[str, NDArray[np.datetime64]] = {
        d: np.full(size, np.datetime64("NaT"), "datetime64[D]") for d in departments
    }
    for rows in driver_chunks(session, latest):
        columns = list(zip(*rows, strict=True))
        depts = np.array(columns[0], dtype=str)
        at = find(columns[1], check=True)
        days = np.array(columns[2], dtype="datetime64[D]")
        for department in np.unique(depts).tolist():
            column = last.setdefault(
                department, np.full(size, np.datetime64("NaT"), "datetime64[D]")
            )
            mine = depts == department
            column[at[mine]] = days[mine]
    return InspectionHistory(year, counts, last)
