"""Users, roles and bearer tokens.

Roles:
- admin: manages users and may do everything a supervisor does, in every department;
- supervisor: plans, draws and reviews, scoped to his departments;
- inspector: linked to one inspector (certificate number); sees his own visits only;
- auditor: reads everything incl. frames and full draw records, changes nothing.

A token is shown once, when issued; only its SHA-256 is stored, so a stolen database does
not hand out working tokens. Tokens are revoked, never deleted (the audit log names them).
Tokens are for machines and scripts; people sign in with a password (workflows/signin.py).
A token may expire; it records who issued it (an admin for another user, or "cli").
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict, DomainError, InvalidInput, NotFound
from inspect_engine.workflows import audit
from models import ApiToken, Department, Inspector, User
from models.base import utcnow

TOKEN_PREFIX = "ie_"
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"


class NotAuthenticated(DomainError):
    """No token, an unknown or revoked token, or an inactive user."""

    title = "authentication required"


class Forbidden(DomainError):
    """The user is known but his role or scope does not allow the request."""

    title = "forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is asking: what the API needs to decide, detached from the session."""

    user_id: int
    username: str
    role: Role
    departments: frozenset[str]
    inspector_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def covers(self, departments: Iterable[str]) -> bool:
        """Whether every one of `departments` is in this user's scope (admins: always)."""
        return self.is_admin or set(departments) <= self.departments


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, never stored
    token_id: int
    username: str
    expires_at: datetime | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        departments=frozenset(user.departments or ()),
        inspector_id=user.inspector_id,
    )


def create_user(
    session: Session,
    username: str,
    role: str,
    *,
    departments: Iterable[str] = (),
    inspector_id: str | None = None,
    actor: str = "cli",
) -> User:
    """A new user. Supervisors need departments, inspectors their inspector_id; both must
    exist (import the directories first), so that a typo never yields an empty scope."""
    if not USERNAME.match(username):
        raise InvalidInput(
            f"username {username!r}: 2 to 64 letters, digits or the characters _ . @ -"
        )
    try:
        kind = Role(role)
    except ValueError:
        raise InvalidInput(
            f"role {role!r} is not one of {', '.join(r.value for r in Role)}"
        ) from None
    scope = sorted(set(departments))
    if kind is Role.SUPERVISOR and not scope:
        raise InvalidInput("a supervisor needs at least one department (--department)")
    if kind is not Role.SUPERVISOR and scope:
        raise InvalidInput("only supervisors are scoped to departments")
    if kind is Role.INSPECTOR and not inspector_id:
        raise InvalidInput("an inspector user needs the inspector_id he is (--inspector-id)")
    if kind is not Role.INSPECTOR and inspector_id:
        raise InvalidInput("only inspector users are linked to an inspector_id")
    known = set(session.scalars(select(Department.code).where(Department.code.in_(scope))))
    unknown = [d for d in scope if d not in known]
    if unknown:
        raise InvalidInput(f"unknown department(s): {', '.join(unknown)}")
    if inspector_id and session.get(Inspector, inspector_id) is None:
        raise InvalidInput(f"unknown inspector {inspector_id!r}")
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise Conflict(f"user {username!r} exists already")
    user = User(username=username, role=kind.value, departments=scope, inspector_id=inspector_id)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "user.create",
        username,
        {"role": kind.value, "departments": scope, "inspector_id": inspector_id},
    )
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"there is no user {username!r}")
    return user


def list_users(session: Session, *, after: str | None = None, limit: int = 100) -> list[User]:
    query = select(User).order_by(User.username).limit(limit)
    if after is not None:
        query = query.where(User.username > after)
    return list(session.scalars(query))


MAX_TOKEN_DAYS = 3660


def issue_token(
    session: Session,
    username: str,
    *,
    actor: str = "cli",
    expires_days: int | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """A new bearer token for the user, valid until revoked or, if given, `expires_days`
    from now; earlier tokens stay valid. The token records its issuer (`actor`)."""
    user = get_user(session, username)
    if not user.active:
        raise Conflict(f"user {username!r} is deactivated")
    if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(f"expires_days {expires_days}: from 1 to {MAX_TOKEN_DAYS} days")
    expires_at = (
        (now or utcnow()) + timedelta(days=expires_days) if expires_days is not None else None
    )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=hash_token(token), expires_at=expires_at, issued_by=actor
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "token.issue",
        username,
        {"token_id": row.id, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return IssuedToken(token, row.id, username, expires_at)


def revoke_tokens(
    session: Session, username: str, *, token_id: int | None = None, actor: str = "cli"
) -> int:
    """Revokes one token of the user, or all of them; returns how many were revoked."""
    user = get_user(session, username)
    query = (
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    revoked = int(session.execute(query).rowcount)  # type: ignore[attr-defined]
    if token_id is not None and not revoked:
        raise NotFound(f"user {username!r} has no active token {token_id}")
    audit.record(
        session, actor, "token.revoke", username, {"token_id": token_id, "revoked": revoked}
    )
    return revoked


def deactivate_user(session: Session, username: str, *, actor: str = "cli") -> User:
    """The user can no longer sign in with any token; his rows stay."""
    user = get_user(session, username)
    user.active = False
    revoke_tokens(session, username, actor=actor)
    audit.record(session, actor, "user.deactivate", username)
    return user


def authenticate(session: Session, token: str | None, now: datetime | None = None) -> Principal:
    """The user behind a bearer token, or NotAuthenticated."""
    if not token:
        raise NotAuthenticated("this request needs a bearer token (Authorization: Bearer …)")
    query = (
        select(User, ApiToken.expires_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    )
    found = session.execute(query).first()
    if found is None or not found[0].active:
        raise NotAuthenticated("the token is unknown, revoked, or its user is deactivated")
    user, expires_at = found
    if expires_at is not None and as_utc(expires_at) <= (now or utcnow()):
        raise NotAuthenticated("the token has expired: ask for a new one")
    return principal_of(user)


def as_utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes; every stored moment is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
