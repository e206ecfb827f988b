"""Personal calendar links: a calendar app cannot sign in, so an inspector may create a
link that opens his feed without a session — one per device, named by him, revocable by
him and by an administrator.

The token is 256 random bits, shown once when the link is created; only its SHA-256 is
stored. An unknown, revoked or deactivated link is simply not found, whichever it is, so a
guesser learns nothing. Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.workflows import audit
from inspect_engine.workflows.users import Forbidden, Principal, Role, as_utc, get_user
from models import CalendarLink, User

MAX_LABEL = 40
MAX_LINKS = 5  # live links per inspector: one per phone, tablet or desk calendar
TOUCH_EVERY = timedelta(hours=1)  # last_used_at is written at most this often
UNKNOWN = "there is no such calendar link"


@dataclass(frozen=True)
class IssuedLink:
    token: str  # shown once, never stored
    link_id: int
    label: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _inspector_only(user: Principal) -> str:
    if user.role is not Role.INSPECTOR or user.inspector_id is None:
        raise Forbidden("calendar links are for inspectors")
    return str(user.inspector_id)


def live_links(session: Session, user_id: int) -> list[CalendarLink]:
    query = (
        select(CalendarLink)
        .where(CalendarLink.user_id == user_id, CalendarLink.revoked_at.is_(None))
        .order_by(CalendarLink.id)
    )
    return list(session.scalars(query))


def create_link(session: Session, user: Principal, label: str, *, now: datetime) -> IssuedLink:
    """A new personal link for the signed-in inspector's feed."""
    _inspector_only(user)
    name = " ".join(label.split())
    if not name:
        raise InvalidInput("label: name the device this link is for (e.g. 手机)")
    if len(name) > MAX_LABEL:
        raise InvalidInput(f"label: at most {MAX_LABEL} characters")
    if len(live_links(session, user.user_id)) >= MAX_LINKS:
        raise Conflict(f"you have {MAX_LINKS} calendar links already: revoke one first")
    token = secrets.token_urlsafe(32)
    link = CalendarLink(user_id=user.user_id, token_hash=hash_token(token), label=name)
    link.created_at = now
    session.add(link)
    session.flush()
    audit.record(session, user.username, "calendar.link", user.username, {"link_id": link.id})
    return IssuedLink(token, link.id, name)


def revoke_link(session: Session, user: Principal, link_id: int, *, now: datetime) -> None:
    """The inspector revokes one of his links; another's, or a revoked one, is not found."""
    _inspector_only(user)
    done = session.execute(
        update(CalendarLink)
        .where(
            CalendarLink.id == link_id,
            CalendarLink.user_id == user.user_id,
            CalendarLink.revoked_at.is_(None),
        )
        .values(revoked_at=now, revoked_by=user.username)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound(f"you have no live calendar link {link_id}")
    audit.record(session, user.username, "calendar.revoke", user.username, {"link_id": link_id})


def revoke_links_of(session: Session, username: str, *, actor: str, now: datetime) -> int:
    """An administrator revokes every live link of a user (a lost phone, a departure)."""
    user = get_user(session, username)
    done = session.execute(
        update(CalendarLink)
        .where(CalendarLink.user_id == user.id, CalendarLink.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor)
        .execution_options(synchronize_session=False)
    )
    revoked = int(done.rowcount)  # type: ignore[attr-defined]
    audit.record(session, actor, "calendar.revoke", username, {"revoked": revoked})
    return revoked


def feed_owner(session: Session, token: str, *, now: datetime) -> str:
    """The inspector whose feed a link opens, or NotFound — the same for a token that never
    existed, a revoked link and a deactivated user."""
    found = session.execute(
        select(CalendarLink, User)
        .join(User, User.id == CalendarLink.user_id)
        .where(CalendarLink.token_hash == hash_token(token))
    ).first()
    if found is None:
        raise NotFound(UNKNOWN)
    link, user = found
    if link.revoked_at is not None or not user.active or user.inspector_id is None:
        raise NotFound(UNKNOWN)
    if user.role != Role.INSPECTOR.value:
        raise NotFound(UNKNOWN)
    if link.last_used_at is None or now - as_utc(link.last_used_at) >= TOUCH_EVERY:
        link.last_used_at = now
    return str(user.inspector_id)
