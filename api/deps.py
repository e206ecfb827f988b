"""Dependencies as `Annotated` aliases: the request's session, the settings, the user and
the role guards.

The request owns the transaction: `SessionDep` opens one session per request, commits it
when the endpoint returns and rolls it back when it raises, before the response is sent
(scope="function"), so a client never sees success for work that was not committed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.settings import Settings
from inspect_engine.workflows.drawing import Transactions
from inspect_engine.workflows.planning import EVERY_STATE, claim_plan
from inspect_engine.workflows.users import Forbidden, Principal, Role, authenticate
from models import Item, Plan, Task
from models.db import WRITE_INTENT, owned


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


READING = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    if request.method not in READING:
        # SQLite: a request that may write takes the write lock when it begins, so it
        # waits for the writer before it instead of failing once it has read.
        session.connection(execution_options={WRITE_INTENT: True})
    with owned(session):
        yield session


def request_steps(session: Session) -> Transactions:
    """Successive transactions of one request on its own session (a draw: accept, then
    complete or record the failure), each committed when its step ends, rolled back when
    it raises; the next one begins with the write intent again (SQLite's write lock)."""

    @contextmanager
    def step() -> Iterator[Session]:
        if not session.in_transaction():
            session.connection(execution_options={WRITE_INTENT: True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    return step


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="a token from `inspect-engine users token`")


def current_user(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return authenticate(session, credentials.credentials if credentials else None)


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    allowed = frozenset(roles)
    names = " or ".join(sorted(r.value for r in allowed))

    def guard(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            raise Forbidden(f"this needs the role {names}; you are {user.role.value}")
        return user

    return guard


# Admins may do everything a supervisor does, in every department.
SupervisorUser = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.ADMIN))]
InspectorUser = Annotated[Principal, Depends(require(Role.INSPECTOR))]
AuditorUser = Annotated[Principal, Depends(require(Role.AUDITOR, Role.ADMIN))]
AdminUser = Annotated[Principal, Depends(require(Role.ADMIN))]


def scope_of(user: Principal) -> frozenset[str] | None:
    """The departments a user acts for; None means all (admins)."""
    return None if user.is_admin else user.departments


def actor(user: Principal) -> str:
    return user.username


def plan_departments(session: Session, month: str) -> set[str]:
    """Departments whose items the month's tasks carry."""
    items: set[str] = set()
    query = select(Task.items).join(Plan, Plan.id == Task.plan_id).where(Plan.month == month)
    for codes in session.scalars(query):
        items.update(codes)
    if not items:
        return set()
    return set(session.scalars(select(Item.department).where(Item.item_code.in_(items))))


def require_whole_plan(session: Session, user: Principal, month: str) -> None:
    """A month-wide act (plan, freeze, draw, assign, publish) concerns every department of
    the joint plan: only a supervisor responsible for all of them, or an admin, may do it.

    The plan is claimed first (docs/concurrency.md): the departments checked are those of
    the tasks the act then works on, since a concurrent upload of other tasks waits for
    this request to end instead of replacing them in between."""
    claim_plan(session, month, EVERY_STATE)
    needed = plan_departments(session, month)
    if not user.covers(needed):
        missing = ", ".join(sorted(needed - user.departments))
        raise Forbidden(f"the plan for {month} also covers department(s) {missing}")


def exclusion_policy(settings: Settings) -> ExclusionPolicy:
    return ExclusionPolicy(
        recent_window_days=settings.recent_window_days,
        yearly_cap=settings.yearly_cap,
        grace_days=settings.grace_days,
    )
