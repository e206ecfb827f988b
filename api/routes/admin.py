"""Admins: users and their tokens. And /me, for any signed-in user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, status
from fastapi import Path as PathParam

from api import schemas
from api.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, actor
from api.pagination import Cursor, Limit, decode_cursor, page
from api.schemas import MONTH_PATTERN, Page
from inspect_engine.workflows import drawing, users
from models import User

router = APIRouter(prefix="/admin", tags=["admin"])
account = APIRouter(tags=["account"])

Username = Annotated[str, PathParam(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]


def _user(user: User) -> schemas.UserOut:
    return schemas.UserOut(
        username=user.username,
        role=user.role,
        departments=list(user.departments or []),
        inspector_id=user.inspector_id,
        active=user.active,
    )


@account.get("/me")
def me(user: CurrentUser) -> schemas.MeOut:
    """Who the token belongs to, and what it may do."""
    return schemas.MeOut(
        username=user.username,
        role=user.role.value,
        departments=sorted(user.departments),
        inspector_id=user.inspector_id,
    )


@router.post("/plans/{month}/refreeze")
def refreeze_plan(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminUser,
    month: Annotated[str, PathParam(pattern=MONTH_PATTERN, examples=["2026-12"])],
    body: schemas.RefreezeIn,
) -> schemas.RefreezeOut:
    """Freeze a plan again, in public, when its sealed nonce no longer opens (the key lost
    or changed): the old commitment is voided with the reason and shown on the public
    plan page; the new one is published."""
    done = drawing.refreeze_month(
        session, month, body.reason, actor=actor(admin), nonce_key=settings.sealing_key()
    )
    return schemas.RefreezeOut(
        month=month,
        voided_commitment=done.voided_commitment,
        voided_committed_at=done.voided_committed_at,
        reason=done.reason,
        commitment=done.freeze.commitment,
        committed_at=done.freeze.committed_at,
        group_hash=done.freeze.group_hash,
    )


@router.get("/users")
def list_users(
    session: SessionDep, admin: AdminUser, limit: Limit = 50, cursor: Cursor = None
) -> Page[schemas.UserOut]:
    key = decode_cursor(cursor, str)
    found = users.list_users(session, after=key[0] if key else None, limit=limit + 1)
    kept, next_cursor = page(found, limit, lambda u: [u.username])
    return Page(items=[_user(u) for u in kept], next_cursor=next_cursor)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(session: SessionDep, admin: AdminUser, body: schemas.UserIn) -> schemas.UserOut:
    created = users.create_user(
        session,
        body.username,
        body.role,
        departments=body.departments,
        inspector_id=body.inspector_id,
        actor=actor(admin),
    )
    return _user(created)


@router.post("/users/{username}/tokens", status_code=status.HTTP_201_CREATED)
def issue_token(
    session: SessionDep,
    admin: AdminUser,
    username: Username,
    body: schemas.TokenIn | None = None,
) -> schemas.TokenOut:
    """A new bearer token for a machine or script, valid until revoked or `expires_days`;
    it is shown in this response only, and records the admin who issued it."""
    issued = users.issue_token(
        session, username, actor=actor(admin), expires_days=body.expires_days if body else None
    )
    return schemas.TokenOut(
        token=issued.token,
        token_id=issued.token_id,
        username=username,
        expires_at=issued.expires_at,
        issued_by=actor(admin),
    )


@router.post("/users/{username}/revoke")
def revoke(
    session: SessionDep, admin: AdminUser, username: Username, body: schemas.RevokeIn
) -> schemas.RevokeOut:
    revoked = users.revoke_tokens(session, username, token_id=body.token_id, actor=actor(admin))
    return schemas.RevokeOut(revoked=revoked)


@router.post("/users/{username}/deactivate")
def deactivate(session: SessionDep, admin: AdminUser, username: Username) -> schemas.UserOut:
    return _user(users.deactivate_user(session, username, actor=actor(admin)))
