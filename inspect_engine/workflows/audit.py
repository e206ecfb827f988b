"""Append-only, hash-chained audit log: every step that changes the plan leaves a row.

An entry's hash covers the previous entry's hash and every stored field except the id
(time, actor, action, subject, details). Editing a field, deleting an entry or slipping one
in therefore breaks the chain where it happened, and `verify_audit_chain` names the place.
Ids are only storage keys: PostgreSQL skips ids of rolled-back inserts, so a gap in them
proves nothing; the chain position (1, 2, ...) is the sequence. A deleted *last* entry
leaves no break behind it; only a head (position and hash) kept outside the database shows
it, hence `ChainHead` and `expect_head`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, String, func, select, text, type_coerce, update
from sqlalchemy.orm import Session

from inspect_engine.errors import InvalidInput
from models import AuditEntry, PublishedHead
from models.base import utcnow

GENESIS = "0" * 64
# Key of the PostgreSQL advisory lock that queues appenders (any fixed 64-bit number).
APPEND_LOCK_KEY = 0x1E_A0D1_7C4A_1400
CHUNK = 10_000  # entries read per query while verifying: bounds memory, not the log size
MAX_PROBLEMS = 20  # problems listed by a verification; the rest are counted

Progress = Callable[[str, int, int], None]


def _utc_text(at: datetime) -> str:
    """The same text whether the database kept the time zone (PostgreSQL) or not (SQLite)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def entry_hash(
    prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
) -> str:
    payload = _canonical([prev_hash, _utc_text(at), actor, action, subject, details])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    session: Session, actor: str, action: str, subject: str, details: dict[str, Any] | None = None
) -> AuditEntry:
    _queue_for_tail(session)
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last.entry_hash if last is not None else GENESIS
    at = utcnow()
    # Store the details as they read back from JSON (string keys, lists for tuples), so
    # that the hash recomputed from the stored row is the hash computed here.
    body = json.loads(_canonical(details or {}))
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=body,
        prev_hash=prev,
        entry_hash=entry_hash(prev, at, actor, action, subject, body),
    )
    session.add(entry)
    session.flush()
    return entry


def _queue_for_tail(session: Session) -> None:
    """Holds, until the transaction ends, the right to append: two transactions that read
    the same last entry would otherwise both chain to it and fork the log.

    PostgreSQL (read committed): an advisory lock, taken before the last entry is read, so
    the read sees the entry of the transaction that held the lock before. SQLite allows one
    writer and refuses a write on an outdated snapshot, so a fork cannot happen; a no-op
    UPDATE takes the write lock now, so that a transaction whose first write is this entry
    waits for the other writer instead of failing."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
    elif dialect == "sqlite":
        session.execute(
            update(AuditEntry)
            .where(AuditEntry.id.is_(None))
            .values(id=AuditEntry.id)
            .execution_options(synchronize_session=False)
        )


# --------------------------------------------------------------------------- the head


_HEAD = re.compile(r"(\d+):([0-9a-f]{64})")


@dataclass(frozen=True)
class ChainHead:
    """How far the chain reached: `sequence` entries, the last one hashing to `entry_hash`
    (0 and the genesis hash for an empty log). Written SEQ:HASH."""

    sequence: int
    entry_hash: str

    def __str__(self) -> str:
        return f"{self.sequence}:{self.entry_hash}"

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        match = _HEAD.fullmatch(text.strip().lower())
        if match is None:
            raise InvalidInput(
                f"the chain head {text!r} is not SEQ:HASH "
                "(an entry count, a colon, 64 hexadecimal digits)"
            )
        return cls(int(match[1]), match[2])


def chain_head(session: Session) -> ChainHead:
    """The stored log's head, unverified: its entry count and last entry hash."""
    count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    last = session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    return ChainHead(count, last or GENESIS)


# --------------------------------------------------------------------------- published heads

OCCASIONS = ("daily", "freeze", "draw", "publication")


def publish_head(session: Session, occasion: str, subject: str) -> PublishedHead:
    """Records the head for the public site and feed. Called in the transaction of a
    freeze, draw or publication, after its own entry: that transaction holds the right to
    append (`_queue_for_tail`), so the head is exactly the log up to that entry."""
    if occasion not in OCCASIONS:
        raise ValueError(f"unknown occasion {occasion!r}")
    _queue_for_tail(session)
    head = chain_head(session)
    row = PublishedHead(
        sequence=head.sequence, entry_hash=head.entry_hash, occasion=occasion, subject=subject
    )
    session.add(row)
    session.flush()
    return row


def publish_daily_head(session: Session, day: str) -> PublishedHead:
    """The day's head (`audit publish-head`, run daily); once per day (Asia/Shanghai)."""
    done = session.scalars(
        select(PublishedHead).where(PublishedHead.occasion == "daily", PublishedHead.subject == day)
    ).first()
    return done if done is not None else publish_head(session, "daily", day)


def latest_published_head(session: Session) -> PublishedHead | None:
    return session.scalars(select(PublishedHead).order_by(PublishedHead.id.desc()).limit(1)).first()


def published_heads(
    session: Session, *, before_id: int | None = None, limit: int | None = None
) -> list[PublishedHead]:
    """Published heads, newest first."""
    query = select(PublishedHead).order_by(PublishedHead.id.desc())
    if before_id is not None:
        query = query.where(PublishedHead.id < before_id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


# --------------------------------------------------------------------------- verification


class Break(StrEnum):
    EDITED = "edited"  # the entry's fields no longer give its stored hash
    MISSING = "missing"  # the entry does not follow the one before it: entries deleted
    INSERTED = "inserted"  # the entry is outside the chain: the next one skips it
    TRUNCATED = "truncated"  # the log ends before the expected head
    HEAD_MISMATCH = "head mismatch"  # the entry at the expected head's position differs


@dataclass(frozen=True)
class ChainProblem:
    kind: Break
    sequence: int  # position in id order, from 1
    entry_id: int | None  # None when the entry is not there (a truncated log)
    message: str


@dataclass(frozen=True)
class ChainVerification:
    entries: int
    head: ChainHead  # the last entry read
    problems: tuple[ChainProblem, ...]  # the first MAX_PROBLEMS, in log order
    unlisted: int  # further problems, counted only
    expected_head: ChainHead | None = None

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def first(self) -> ChainProblem | None:
        return self.problems[0] if self.problems else None


@dataclass(frozen=True)
class _Link:
    """One entry as the walk remembers it: position, id and hash, never the row."""

    sequence: int
    entry_id: int
    entry_hash: str


def verify_audit_chain(
    session: Session,
    expect_head: ChainHead | None = None,
    *,
    chunk: int = CHUNK,
    progress: Progress | None = None,
    published: bool = False,
) -> ChainVerification:
    """Walks the log in id order, `chunk` entries per query, and reports where the chain
    breaks; with `expect_head`, also whether the log still reaches a head kept earlier;
    with `published`, whether it still reaches every head it published (as stored: one
    who rewrote the log may have rewritten them too, hence the public copies)."""
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    heads: dict[int, list[ChainHead]] = {}
    if expect_head is not None:
        heads.setdefault(expect_head.sequence, []).append(expect_head)
    if published:
        for row in session.execute(select(PublishedHead.sequence, PublishedHead.entry_hash)):
            head = ChainHead(int(row.sequence), row.entry_hash)
            if head not in heads.get(head.sequence, []):
                heads.setdefault(head.sequence, []).append(head)
    walk = _Walk(expect_head, heads)
    for row in _rows(session, chunk):
        walk.step(row)
        if progress is not None and walk.sequence % chunk == 0:
            progress("verify", walk.sequence, total)
    walk.finish()
    if progress is not None:
        progress("verify", walk.sequence, max(total, walk.sequence))
    return walk.result()


def _rows(session: Session, chunk: int) -> Iterator[Row[Any]]:
    # SQLite keeps any text in any column: the time and the details are read as text and
    # decoded here, so that a tampered value is reported instead of failing the read.
    raw = session.get_bind().dialect.name == "sqlite"
    columns = (
        AuditEntry.id,
        type_coerce(AuditEntry.at, String).label("at") if raw else AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.subject,
        type_coerce(AuditEntry.details, String).label("details") if raw else AuditEntry.details,
        AuditEntry.prev_hash,
        AuditEntry.entry_hash,
    )
    after: int | None = None
    while True:
        query = select(*columns).order_by(AuditEntry.id).limit(chunk)
        if after is not None:
            query = query.where(AuditEntry.id > after)
        rows = session.execute(query).all()
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1].id


def _recomputed_hash(row: Row[Any]) -> str | None:
    """The hash the row's fields give, or None when its time or details cannot be read."""
    at, details = row.at, row.details
    try:
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        if isinstance(details, str):
            details = json.loads(details)
    except ValueError:
        return None
    return entry_hash(row.prev_hash, at, row.actor, row.action, row.subject, details)


def _hash_of(link: _Link | None) -> str:
    return link.entry_hash if link is not None else GENESIS


def _name(link: _Link | None) -> str:
    return f"id {link.entry_id}" if link is not None else "the start of the log"


class _Walk:
    """The state of one verification: the last two chain entries and, when an entry did
    not follow its predecessor, that entry until the next one tells why."""

    def __init__(
        self, expect_head: ChainHead | None, heads: dict[int, list[ChainHead]] | None = None
    ) -> None:
        self.expect_head = expect_head
        # every head the log must reach, by position (the expected and the published ones)
        self.heads = (
            heads
            if heads is not None
            else ({expect_head.sequence: [expect_head]} if expect_head is not None else {})
        )
        self.sequence = 0
        self.before: _Link | None = None  # the chain entry before `last`
        self.last: _Link | None = None
        # An entry that did not follow its predecessor, and that predecessor.
        self.unlinked: tuple[_Link, _Link | None] | None = None
        self.problems: list[ChainProblem] = []
        self.unlisted = 0

    def report(self, kind: Break, sequence: int, entry_id: int | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(ChainProblem(kind, sequence, entry_id, message))
        else:
            self.unlisted += 1

    def step(self, row: Row[Any]) -> None:
        self.sequence += 1
        here = _Link(self.sequence, row.id, row.entry_hash)
        if _recomputed_hash(row) != row.entry_hash:
            self.report(
                Break.EDITED,
                here.sequence,
                here.entry_id,
                f"entry id {row.id} (#{here.sequence}, {row.action} {row.subject}) was "
                "changed after it was written: its fields no longer give its stored hash",
            )
            # Its previous hash is no evidence now; the chain goes on from its stored hash.
            self._settle_unlinked(None)
            self._advance(here)
            return
        if self._settle_unlinked((row.prev_hash, here)):
            return
        if row.prev_hash == _hash_of(self.last):
            self._advance(here)
        elif self.last is not None and row.prev_hash == _hash_of(self.before):
            self._report_fork(self.last, here, self.before)
            self.last = here  # both follow `before`; the walk goes on from the later one
            self._check_head(here)
        else:
            # Entries before this one were deleted, or this one was slipped in: the next
            # entry tells (it follows `last` only if this one is an intruder).
            self.unlinked = (here, self.last)
            self._advance(here)

    def _advance(self, here: _Link) -> None:
        self.before, self.last = self.last, here
        self._check_head(here)

    def _settle_unlinked(self, next_entry: tuple[str, _Link] | None) -> bool:
        """Decides about the pending entry that did not follow its predecessor, from the
        next entry's previous hash; True when that entry continues the chain instead."""
        if self.unlinked is None:
            return False
        intruder, predecessor = self.unlinked
        self.unlinked = None
        if next_entry is not None:
            prev_hash, here = next_entry
            if prev_hash == _hash_of(predecessor) and prev_hash != intruder.entry_hash:
                self.report(
                    Break.INSERTED,
                    intruder.sequence,
                    intruder.entry_id,
                    f"entry id {intruder.entry_id} (#{intruder.sequence}) is not part of the "
                    f"chain: it follows no entry, and the next one, id {here.entry_id}, "
                    f"follows {_name(predecessor)}; id {intruder.entry_id} was inserted",
                )
                self.before, self.last = predecessor, here
                self._check_head(here)
                return True
        self._report_missing(intruder, predecessor)
        return False

    def _report_fork(self, first: _Link, second: _Link, anchor: _Link | None) -> None:
        self.report(
            Break.INSERTED,
            first.sequence,
            first.entry_id,
            f"entries id {first.entry_id} (#{first.sequence}) and id {second.entry_id} "
            f"(#{second.sequence}) both follow {_name(anchor)}: one of them was inserted, "
            "or two writers appended at once",
        )

    def _report_missing(self, entry: _Link, predecessor: _Link | None) -> None:
        if predecessor is None:
            message = (
                f"entry id {entry.entry_id} (#1) does not start the chain: the first "
                "entries of the log were deleted"
            )
        else:
            absent = ""
            if entry.entry_id > predecessor.entry_id + 1:
                absent = f" (ids {predecessor.entry_id + 1}–{entry.entry_id - 1} are absent)"
            message = (
                f"entry id {entry.entry_id} (#{entry.sequence}) does not follow id "
                f"{predecessor.entry_id}{absent}: entries between them were deleted, or "
                f"id {predecessor.entry_id} was rewritten with a new hash"
            )
        self.report(Break.MISSING, entry.sequence, entry.entry_id, message)

    def _check_head(self, here: _Link) -> None:
        for head in self.heads.get(here.sequence, ()):
            if here.entry_hash == head.entry_hash:
                continue
            self.report(
                Break.HEAD_MISMATCH,
                here.sequence,
                here.entry_id,
                f"entry #{head.sequence} (id {here.entry_id}) hashes to {here.entry_hash}, "
                f"not to the {self._which(head)} head {head.entry_hash}: the log was changed "
                "up to there, or the head belongs to another database",
            )

    def _which(self, head: ChainHead) -> str:
        return "expected" if head == self.expect_head else "published"

    def finish(self) -> None:
        self._settle_unlinked(None)
        beyond = [h for hs in self.heads.values() for h in hs if h.sequence > self.sequence]
        if beyond:
            head = max(beyond, key=lambda h: h.sequence)
            self.report(
                Break.TRUNCATED,
                self.sequence + 1,
                None,
                f"the log ends at entry #{self.sequence} ({_name(self.last)}) but the "
                f"{self._which(head)} head is entry #{head.sequence}: "
                f"{head.sequence - self.sequence} entries were deleted from its end",
            )

    def result(self) -> ChainVerification:
        return ChainVerification(
            entries=self.sequence,
            head=ChainHead(self.sequence, _hash_of(self.last)),
            problems=tuple(sorted(self.problems, key=lambda p: p.sequence)),
            unlisted=self.unlisted,
            expected_head=self.expect_head,
        )
