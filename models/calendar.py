"""Inspectors' calendar feeds: the personal links that open a feed without a sign-in, and
the version of each visit's event, so that calendar apps take up a change.

A link's token is shown once, when it is created; only its SHA-256 is stored, so reading
the database does not hand out anyone's calendar."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class CalendarLink(Base):
    """A revocable personal link to an inspector's calendar feed (one per device)."""

    __tablename__ = "calendar_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(40))  # what the inspector named it ("手机")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class CalendarEventVersion(Base):
    """What a visit's calendar event said when last served: a fingerprint of its content,
    its SEQUENCE and when it last changed (LAST-MODIFIED). Bumped when a feed finds the
    content changed, whoever changed the visit (its day, its team, its result)."""

    __tablename__ = "calendar_event_versions"
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(default=0)
    modified_at: Mapped[datetime] = mapped_column(default=utcnow)
