"""Scan-to-verify: every scan of a visit's verification code, and what the enterprise said.

The team's code is `visits.verify_token`; the enterprise's confirmation code is sent to its
liaison and kept only as a hash (`visits.confirm_hash`). Nothing here identifies a person:
a scan keeps at most a keyed hash of the client address, feedback is anonymous, and a
delivery keeps only a masked address."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class VerifyScan(Base):
    """One opening of a verification page, genuine or not (扫码记录)."""

    __tablename__ = "verify_scans"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # genuine | unknown (forged or mistyped) | expired | not_yet (before the month)
    outcome: Mapped[str] = mapped_column(String(16))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    # HMAC-SHA256 of the client address with the secret key: repeated scans from one place
    # can be told apart from many places, but the address itself is never stored.
    client_hash: Mapped[str | None] = mapped_column(String(64))


class VerifyMiss(Base):
    """Openings of verification pages whose code names no visit (forged or mistyped),
    counted per day and client bucket instead of a row per request: a flood of made-up
    codes adds at most one row per bucket and day (257 a day)."""

    __tablename__ = "verify_misses"
    day: Mapped[date] = mapped_column(primary_key=True)  # Asia/Shanghai
    # The first two hex digits of the client's keyed hash (VerifyScan.client_hash); "" when
    # the address is unknown. Enough to tell one source from many, never to find it.
    bucket: Mapped[str] = mapped_column(String(2), primary_key=True)
    count: Mapped[int]


class VisitFeedback(Base):
    """The enterprise's own record of a visit: whether it took place, an anonymous rating
    (1–5) and comment. One per visit; it is never edited."""

    __tablename__ = "visit_feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    took_place: Mapped[bool]
    rating: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    # True: sent with the confirmation code that reached the enterprise's liaison. False:
    # with the team's code, where no liaison is known ("channel not verified"): the team
    # itself could have sent it.
    channel_verified: Mapped[bool] = mapped_column(default=False, server_default=false())

    __table_args__ = (
        CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating_range"),
    )


class ConfirmationDelivery(Base):
    """One sending of a visit's confirmation code to the enterprise's liaison: the channel,
    when, to which (masked) address, and the error if it failed. Never the code."""

    __tablename__ = "confirmation_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    address_masked: Mapped[str] = mapped_column(String(254))  # e.g. z***@example.cn, 138****8000
    error: Mapped[str | None] = mapped_column(Text)  # None: handed to the server or gateway
