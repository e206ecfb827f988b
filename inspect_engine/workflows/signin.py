"""People's sign-in: passwords hashed with argon2id, server-side browser sessions that
expire, and repeated failures slowed without letting a stranger lock a real user out.

Failures are counted under two keys, never under the account alone:
- the (account, client) pair: after FREE_FAILURES, each further attempt waits twice as long
  as the one before (up to MAX_DELAY). A guesser on one address is slowed to a crawl; the
  real user on his own phone or desk is not slowed at all.
- the client: at most CLIENT_BUDGET failures per CLIENT_WINDOW over all accounts, so that
  one address cannot spray a common password over every account instead.
A waiting attempt is refused before its password is checked (SlowDown, retry after).
Nothing here ever disables an account: only an administrator deactivates a user.

The clock is the caller's (`now`), so that tests can move it."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_engine.errors import DomainError, InvalidInput
from inspect_engine.workflows import audit
from inspect_engine.workflows.users import (
    NotAuthenticated,
    Principal,
    as_utc,
    get_user,
    principal_of,
)
from models import SignInThrottle, User, WebSession

MIN_PASSWORD = 12
MAX_PASSWORD = 256
FREE_FAILURES = 3
MAX_DELAY = timedelta(minutes=15)
PAIR_MEMORY = timedelta(hours=24)  # a pair's count is forgotten a day after its last failure
CLIENT_BUDGET = 30
CLIENT_WINDOW = timedelta(minutes=15)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
WRONG = "用户名或密码错误。"

# argon2-cffi's defaults: argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes).
HASHER = PasswordHasher()


class SlowDown(DomainError):
    """Too many failed sign-ins from this client: wait before the next attempt."""

    title = "too many sign-in attempts"

    def __init__(self, retry_after: timedelta) -> None:
        self.retry_after = max(1, int(retry_after.total_seconds() + 0.999))
        super().__init__(f"too many failed sign-ins: try again in {self.retry_after} s")


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class OpenedSession:
    session_id: str  # for the cookie only; the database keeps its SHA-256
    user: Principal


# --------------------------------------------------------------------------- passwords


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"the password may have at most {MAX_PASSWORD} characters")
    if password != password.strip():
        raise InvalidInput("the password may not begin or end with a space")


def set_password(
    session: Session, username: str, password: str, *, actor: str, now: datetime
) -> None:
    """Sets (or resets) a user's password and ends all his browser sessions."""
    check_password_rules(password)
    user = get_user(session, username)
    user.password_hash = HASHER.hash(password)
    user.password_changed_at = now
    ended = end_sessions_of(session, user.id, now)
    audit.record(session, actor, "user.password", username, {"sessions_ended": ended})


@functools.cache
def _decoy_hash() -> str:
    """Unknown names are verified against this, so that they take as long as known ones."""
    return HASHER.hash(secrets.token_hex(16))


def _matches(stored: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored or _decoy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# --------------------------------------------------------------------------- throttle


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()


def pair_key(username: str, client: str) -> str:
    return _key("pair", username, client)


def client_key(client: str) -> str:
    return _key("client", client)


def pair_delay(failures: int) -> timedelta:
    """How long after the last failure the next attempt of a pair must wait."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(MAX_DELAY, timedelta(seconds=2 ** (failures - FREE_FAILURES)))


def _wait(session: Session, username: str, client: str, now: datetime) -> timedelta:
    rows = {
        row.key: row
        for row in session.scalars(
            select(SignInThrottle).where(
                SignInThrottle.key.in_([pair_key(username, client), client_key(client)])
            )
        )
    }
    waits = [timedelta(0)]
    pair = rows.get(pair_key(username, client))
    if pair is not None and now - as_utc(pair.last_failed_at) < PAIR_MEMORY:
        waits.append(as_utc(pair.last_failed_at) + pair_delay(pair.failures) - now)
    alone = rows.get(client_key(client))
    if alone is not None and alone.failures >= CLIENT_BUDGET:
        waits.append(as_utc(alone.window_started_at) + CLIENT_WINDOW - now)
    return max(waits)


def _count_failure(session: Session, key: str, now: datetime, window: timedelta) -> None:
    """One more failure under `key`; a count older than `window` starts again."""
    for _ in range(2):  # a concurrent first failure may insert the row in between
        row = session.get(SignInThrottle, key, with_for_update=True)
        try:
            with session.begin_nested():
                if row is None:
                    session.add(
                        SignInThrottle(
                            key=key, failures=1, window_started_at=now, last_failed_at=now
                        )
                    )
                elif now - as_utc(row.window_started_at) >= window:
                    row.failures, row.window_started_at, row.last_failed_at = 1, now, now
                else:
                    row.failures += 1
                    row.last_failed_at = now
            return
        except IntegrityError:
            continue


def _forget(session: Session, key: str) -> None:
    row = session.get(SignInThrottle, key)
    if row is not None:
        session.delete(row)


# --------------------------------------------------------------------------- sessions


def hash_session(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def sign_in(
    session: Session, username: str, password: str, *, client: str, now: datetime
) -> OpenedSession:
    """A new browser session for the user, or NotAuthenticated (and one more failure
    counted), or SlowDown when this client must wait (the password is then not checked)."""
    wait = _wait(session, username, client, now)
    if wait > timedelta(0):
        raise SlowDown(wait)
    user = session.scalars(select(User).where(User.username == username)).first()
    stored = user.password_hash if user is not None else None
    if user is None or not _matches(stored, password) or not user.active:
        _count_failure(session, pair_key(username, client), now, PAIR_MEMORY)
        _count_failure(session, client_key(client), now, CLIENT_WINDOW)
        raise NotAuthenticated(WRONG)
    _forget(session, pair_key(username, client))
    if stored is not None and HASHER.check_needs_rehash(stored):
        user.password_hash = HASHER.hash(password)
    session_id = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            session_hash=hash_session(session_id), user_id=user.id, created_at=now, last_seen_at=now
        )
    )
    session.flush()
    return OpenedSession(session_id, principal_of(user))


def session_user(
    session: Session, session_id: str, limits: SessionLimits, now: datetime
) -> Principal:
    """The user of a live session, or NotAuthenticated: unknown, ended, idle too long,
    past its absolute limit, or its user deactivated."""
    found = session.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.session_hash == hash_session(session_id))
    ).first()
    if found is None:
        raise NotAuthenticated("the session is unknown: sign in again")
    web, user = found
    if web.ended_at is not None or not user.active:
        raise NotAuthenticated("the session has ended: sign in again")
    if (
        now - as_utc(web.created_at) >= limits.absolute
        or now - as_utc(web.last_seen_at) >= limits.idle
    ):
        web.ended_at = now
        raise NotAuthenticated("the session has expired: sign in again")
    if now - as_utc(web.last_seen_at) >= TOUCH_EVERY:
        web.last_seen_at = now
    return principal_of(user)


def end_session(session: Session, session_id: str, now: datetime) -> bool:
    """Logout: the session can no longer be used, whoever holds its cookie."""
    query = (
        update(WebSession)
        .where(WebSession.session_hash == hash_session(session_id), WebSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(query).rowcount)  # type: ignore[attr-defined]


def end_sessions_of(
    session: Session, user_id: int, now: datetime, *, keep: str | None = None
) -> int:
    query = (
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        query = query.where(WebSession.session_hash != hash_session(keep))
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]


def change_password(
    session: Session,
    user: Principal,
    current: str,
    new: str,
    *,
    session_id: str,
    client: str,
    now: datetime,
) -> None:
    """The signed-in user changes his own password: the current one is checked (and its
    failures counted like sign-in failures); his other sessions end, this one stays."""
    wait = _wait(session, user.username, client, now)
    if wait > timedelta(0):
        raise SlowDown(wait)
    row = get_user(session, user.username)
    if not _matches(row.password_hash, current):
        _count_failure(session, pair_key(user.username, client), now, PAIR_MEMORY)
        _count_failure(session, client_key(client), now, CLIENT_WINDOW)
        raise NotAuthenticated("当前密码不正确。")
    check_password_rules(new)
    row.password_hash = HASHER.hash(new)
    row.password_changed_at = now
    ended = end_sessions_of(session, row.id, now, keep=session_id)
    audit.record(session, user.username, "user.password", user.username, {"sessions_ended": ended})
