"""Append-only, hash-chained audit log: every step that changes the plan leaves a row."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEntry
from models.base import utcnow

GENESIS = "0" * 64


def _utc_text(at: datetime) -> str:
    """The same text whether the database kept the time zone (PostgreSQL) or not (SQLite)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def entry_hash(
    prev_hash: str, at: datetime, actor: str, action: str, subject: str, details: dict[str, Any]
) -> str:
    payload = json.dumps(
        [prev_hash, _utc_text(at), actor, action, subject, details],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record(
    session: Session, actor: str, action: str, subject: str, details: dict[str, Any] | None = None
) -> AuditEntry:
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last.entry_hash if last is not None else GENESIS
    at = utcnow()
    body = details or {}
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
