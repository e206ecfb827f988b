"""Append-only audit log; each row carries the hash of the previous one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class ImportChangeLog(Base):
    """The full list of what one import changed (the audit entry names the first rows and
    carries `changes_sha256`, so the list is bound to the hash chain): gzip'd JSON of the
    changed rows (key, column: [before, after]) and the keys of the rows it added."""

    __tablename__ = "import_change_logs"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    changed: Mapped[int] = mapped_column(Integer)
    added: Mapped[int] = mapped_column(Integer)
    changes_sha256: Mapped[str] = mapped_column(String(64))
    changes_gz: Mapped[bytes] = mapped_column(LargeBinary)
    # Enterprises whose status or licences changed (the board lists them), first few.
    flagged: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    flagged_total: Mapped[int] = mapped_column(Integer, default=0)


class PublishedHead(Base):
    """The audit chain's head as published (public site and feed) daily and at every
    freeze, draw and publication. Copies kept by the public make a rewritten log
    detectable without a head kept in advance by an auditor."""

    __tablename__ = "published_heads"
    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    entry_hash: Mapped[str] = mapped_column(String(64))
    occasion: Mapped[str] = mapped_column(String(16))  # daily|freeze|draw|publication
    subject: Mapped[str] = mapped_column(String(64))  # the month, or the day
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
