"""What an import changed, row by row, for its audit entry.

Before each batch is written, the stored rows it names are read back and compared column
by column: a changed row is named by its key with the before and after values of the
columns that differ; a new row by its key. The audit entry carries the first rows; the
full list is kept with the import (gzip'd JSON in `import_change_logs`), its SHA-256 in
the entry, so that the chain covers it too."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict, NotFound
from inspect_engine.formats.reader import ParsedRow
from inspect_engine.formats.spec import FileFormat
from models import ImportChangeLog
from models import repositories as repo
from models.base import Base

SHANGHAI = ZoneInfo("Asia/Shanghai")
IN_ENTRY = 50  # changed rows, and added keys, named in the audit entry itself
FLAGGED_KEPT = 500  # enterprises kept for the board per import; the rest are counted
# An enterprise whose status or licences change leaves or enters frames: the board shows it.
WATCHED = {"enterprises": ("status", "licences")}

Canonical = Callable[[Any], str]
EventHash = Callable[[FileFormat, dict[str, Any]], str]


@dataclass
class ChangeList:
    fmt: FileFormat
    model: type[Base]
    text: Canonical
    event_hash: EventHash
    changed: list[dict[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    flagged_total: int = 0
    empty_before: bool = False  # the table held nothing: every row is new, nothing to read

    def observe(self, session: Session, rows: Sequence[ParsedRow]) -> None:
        """Compares a batch with what is stored; call it before the batch is written."""
        if not rows:
            return
        if self.empty_before and self.fmt.key is not None:  # a first import: keys only
            self.added.extend(self.text(r.values[self.fmt.key]) for r in rows)
            return
        if self.fmt.key is None:
            self._observe_events(session, rows)
        elif self.fmt.key not in self.model.__table__.c:
            # stored under another name and replaced whole (holidays: a year's days)
            self.added.extend(self.text(r.values[self.fmt.key]) for r in rows)
        else:
            self._observe_keyed(session, rows, self.fmt.key)

    def _observe_keyed(self, session: Session, rows: Sequence[ParsedRow], key: str) -> None:
        table = self.model.__table__
        columns = [c for c in self.fmt.names if c in table.c]
        wanted = [r.values[key] for r in rows]
        query = select(*(table.c[c] for c in columns)).where(table.c[key].in_(wanted))
        at = columns.index(key)
        stored = {r[at]: r for r in session.execute(query).tuples()}  # tuples: fast to read
        watched = WATCHED.get(self.fmt.kind, ())
        for row in rows:
            code = row.values[key]
            before = stored.get(code)
            if before is None:
                self.added.append(self.text(code))  # keys may be dates (holidays)
                continue
            diff = self._diff(before, row.values, columns)
            if diff:
                self.changed.append({"key": self.text(code), "changes": diff})
                if any(c in diff for c in watched):
                    self._flag(code, row.values.get("name"), diff, watched)

    def _diff(
        self, before: Any, after: dict[str, Any], columns: Sequence[str]
    ) -> dict[str, list[str | None]]:
        diff: dict[str, list[str | None]] = {}
        for c, old in zip(columns, before, strict=True):
            new = after.get(c)
            # equal values are the common case; the text decides the rest (1.50 == 1.5)
            if old == new or self.text(old) == self.text(new):
                continue
            diff[c] = [self._value(old), self._value(new)]
        return diff

    def _observe_events(self, session: Session, rows: Sequence[ParsedRow]) -> None:
        hashes = {self.event_hash(self.fmt, r.values): r for r in rows}
        stored = repo.existing_keys(session, self.model, "row_hash", hashes)
        for digest, row in hashes.items():
            if digest not in stored:
                self.added.append(self._event_key(row.values))

    def _event_key(self, values: dict[str, Any]) -> str:
        """An event's key: its first columns, enough to find it (e.g. inspector/from/to)."""
        return "/".join(self.text(values[c]) for c in self.fmt.names[:3])

    def _value(self, value: Any) -> str | None:
        return None if value is None else self.text(value)

    def _flag(self, code: str, name: Any, diff: dict[str, Any], watched: Sequence[str]) -> None:
        self.flagged_total += 1
        if len(self.flagged) < FLAGGED_KEPT:
            picked = {c: v for c, v in diff.items() if c in watched}
            self.flagged.append({"credit_code": code, "name": name, "changes": picked})

    def summary(self, log: ImportChangeLog | None) -> dict[str, Any]:
        """The audit entry's part: counts, the first rows, and where the rest is."""
        out: dict[str, Any] = {
            "changed_rows": len(self.changed),
            "changed": self.changed[:IN_ENTRY],
            "added": self.added[:IN_ENTRY],
        }
        if log is not None:
            out["change_log"] = log.id
            out["changes_sha256"] = log.changes_sha256
        return out

    def store(self, session: Session, file_name: str, actor: str) -> ImportChangeLog | None:
        """Keeps the full list with the import; None when the file changed nothing."""
        if not self.changed and not self.added:
            return None
        blob = full_list_bytes(self.fmt.kind, file_name, self.changed, self.added)
        log = ImportChangeLog(
            kind=self.fmt.kind,
            file_name=file_name[:255],
            actor=actor,
            changed=len(self.changed),
            added=len(self.added),
            changes_sha256=hashlib.sha256(blob).hexdigest(),
            changes_gz=gzip.compress(blob, compresslevel=6, mtime=0),
            flagged=self.flagged,
            flagged_total=self.flagged_total,
        )
        session.add(log)
        session.flush()
        return log


def full_list_bytes(
    kind: str, file_name: str, changed: list[dict[str, Any]], added: list[str]
) -> bytes:
    document = {"kind": kind, "file": file_name, "changed": changed, "added": added}
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8")


def import_changes(session: Session, log_id: int) -> dict[str, Any]:
    """An import's full change list, with where it came from; compare `changes_sha256` with
    the one in the import's audit entry (`change_log` names this list)."""
    log = session.get(ImportChangeLog, log_id)
    if log is None:
        raise NotFound(f"there is no import change list {log_id}")
    try:
        document = read_full_list(log)
    except ValueError as exc:
        raise Conflict(str(exc)) from None
    return {
        "id": log.id,
        "kind": log.kind,
        "file": log.file_name,
        "actor": log.actor,
        "created_at": log.created_at.isoformat(),
        "changes_sha256": log.changes_sha256,
        "changed": document["changed"],
        "added": document["added"],
    }


def read_full_list(log: ImportChangeLog) -> dict[str, Any]:
    """The full list of an import's changes; ValueError if it no longer matches its hash."""
    blob = gzip.decompress(log.changes_gz)
    if hashlib.sha256(blob).hexdigest() != log.changes_sha256:
        raise ValueError(f"import change log {log.id} does not match its SHA-256")
    document: dict[str, Any] = json.loads(blob)
    return document


# --------------------------------------------------------------------------- the board


@dataclass(frozen=True)
class EnterpriseChange:
    """An enterprise whose status or licences an import changed (it leaves or enters
    every department's frames)."""

    at: datetime
    credit_code: str
    name: str | None
    changes: dict[str, list[str | None]]  # column: [before, after]
    by: str
    change_log: int


@dataclass(frozen=True)
class EnterpriseChanges:
    changes: tuple[EnterpriseChange, ...]  # the first `limit`, newest import first
    total: int  # every such change in the month, kept or not


def enterprise_changes(session: Session, month: str, limit: int = 200) -> EnterpriseChanges:
    """The month's (Asia/Shanghai calendar month) enterprise status and licence changes."""
    year, number = int(month[:4]), int(month[5:7])
    start = datetime(year, number, 1, tzinfo=SHANGHAI)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=SHANGHAI)
    logs = session.scalars(
        select(ImportChangeLog)
        .where(
            ImportChangeLog.kind == "enterprises",
            ImportChangeLog.flagged_total > 0,
            ImportChangeLog.created_at >= start.astimezone(UTC),
            ImportChangeLog.created_at < end.astimezone(UTC),
        )
        .order_by(ImportChangeLog.id.desc())
    )
    kept: list[EnterpriseChange] = []
    total = 0
    for log in logs:
        total += log.flagged_total
        for flag in log.flagged[: max(0, limit - len(kept))]:
            kept.append(
                EnterpriseChange(
                    at=log.created_at,
                    credit_code=flag["credit_code"],
                    name=flag.get("name"),
                    changes=flag["changes"],
                    by=log.actor,
                    change_log=log.id,
                )
            )
    return EnterpriseChanges(tuple(kept), total)
