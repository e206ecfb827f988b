"""Columnar snapshots of large tables, kept so that the month's freeze need not read
millions of rows back through the driver."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, LargeBinary, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base


class ColumnSnapshot(Base):
    """One snapshot per table (`name`). `revision` counts the writes to that table (every
    writer bumps it in its own transaction, which also serialises writers on the row);
    the payload is valid only while `built_revision` equals `revision`."""

    __tablename__ = "column_snapshots"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    built_revision: Mapped[int | None] = mapped_column(BigInteger)
    built_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rows: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)


@event.listens_for(Session, "before_flush")
def _count_directory_writes(session: Session, context: object, instances: object) -> None:
    """ORM writes to the directory and the scores (tests, admin fixes) count as writes
    too: the importers' and the scoring's bulk statements call `bump_revision` themselves."""
    from models.directory import Enterprise
    from models.repositories import bump_revision
    from models.risk import RiskScore

    changed = [obj for objects in (session.new, session.dirty, session.deleted) for obj in objects]
    for model in (Enterprise, RiskScore):
        if any(isinstance(obj, model) for obj in changed):
            bump_revision(session, model.__tablename__)
