"""The inspector's calendar: his feed (iCalendar) behind his sign-in or a personal link,
the page where he creates and revokes his links, and the administrators' revocation.

- `/field/calendar.ics`: the signed-in inspector's feed (session cookie or bearer token);
- `/field/calendar/{token}.ics`: the same feed through a personal link, for calendar apps
  that cannot sign in; an unknown or revoked token is 404 whichever it is, and each client
  may open VERIFY_LIMIT such links a minute (like `/v/{code}`);
- `/field/calendar`: the page; a new link is shown once, on the answer that created it.

Feeds and the page are private: never cached, never sent on as a Referer, never indexed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import problems, schemas
from api.deps import AdminUser, SessionDep, SettingsDep, actor
from api.pagination import MAX_ID
from api.ratelimit import per_client
from api.routes.field import (
    check_csrf,
    csrf_token,
    document_settings,
    login_redirect,
    message,
    render,
    signed_in,
)
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.settings import Settings
from inspect_engine.workflows import calendar_links, inspector_day
from inspect_engine.workflows.users import Forbidden, NotAuthenticated, Principal, Role
from models.base import utcnow

router = APIRouter(default_response_class=HTMLResponse)
admin = APIRouter(prefix="/admin", tags=["admin"])

CALENDAR_LIMIT = per_client("calendar", "verify_rate_limit")
ICS = "text/calendar; charset=utf-8"
PRIVATE = {
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
Token = Annotated[str, PathParam(max_length=200)]
Username = Annotated[str, PathParam(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
Csrf = Annotated[str | None, Form(max_length=64)]


def _inspector_page_user(request: Request, session: SessionDep) -> Principal | Response:
    user = signed_in(request, session)
    if user is None:
        return login_redirect(request)
    if user.role is not Role.INSPECTOR or user.inspector_id is None:
        return message(request, 403, "无权访问", "此页面仅供执法检查人员使用。")
    return user


def _feed(request: Request, session: SessionDep, settings: Settings, inspector_id: str) -> Response:
    base = document_settings(request, settings).base_url
    body = inspector_day.inspector_feed(session, inspector_id, base_url=base, now=utcnow())
    return Response(
        body,
        media_type=ICS,
        headers={**PRIVATE, "Content-Disposition": 'inline; filename="inspections.ics"'},
    )


def subscribe_url(request: Request, settings: Settings, token: str) -> str:
    base = document_settings(request, settings).base_url.rstrip("/")
    return f"{base}/field/calendar/{token}.ics"


@router.get(
    "/field/calendar.ics",
    tags=["inspector"],
    response_class=Response,
    responses={200: {"content": {"text/calendar": {}}, "description": "iCalendar (RFC 5545)"}},
    openapi_extra={"security": [{"HTTPBearer": []}]},  # or the session cookie of /login
)
def my_calendar(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Your visits that have a scheduled day, as an iCalendar feed of all-day events."""
    user = signed_in(request, session)
    if user is None:
        raise NotAuthenticated("sign in (/login) or send a bearer token")
    if user.role is not Role.INSPECTOR or user.inspector_id is None:
        raise Forbidden("calendar feeds are for inspectors")
    return _feed(request, session, settings, user.inspector_id)


@router.get("/field/calendar/{token}.ics", include_in_schema=False, dependencies=[CALENDAR_LIMIT])
def linked_calendar(
    request: Request, session: SessionDep, settings: SettingsDep, token: Token
) -> Response:
    """An inspector's feed through his personal link (no sign-in)."""
    try:
        inspector_id = calendar_links.feed_owner(session, token, now=utcnow())
    except NotFound as exc:
        kind = problems.PROBLEMS[NotFound]
        # the same answer for every token: the path (the token) is not echoed either
        return problems.problem_response(
            request, kind, str(exc), headers=PRIVATE, instance="/field/calendar/{token}.ics"
        )
    return _feed(request, session, settings, inspector_id)


def _calendar_page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    user: Principal,
    *,
    status_code: int = 200,
    created: calendar_links.IssuedLink | None = None,
    error: str | None = None,
) -> Response:
    url = subscribe_url(request, settings, created.token) if created else None
    page = render(
        request,
        "field/calendar.html",
        status_code,
        user=user,
        links=calendar_links.live_links(session, user.user_id),
        created=created,
        url=url,
        webcal=("webcal://" + url.split("://", 1)[1]) if url else None,
        csrf=csrf_token(settings, request),
        error=error,
        max_label=calendar_links.MAX_LABEL,
    )
    page.headers.update(PRIVATE)
    return page


@router.get("/field/calendar", include_in_schema=False)
def calendar_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """How to subscribe; the inspector's live links, to revoke; a form for a new one."""
    user = _inspector_page_user(request, session)
    if isinstance(user, Response):
        return user
    return _calendar_page(request, session, settings, user)


@router.post("/field/calendar/links", include_in_schema=False)
def create_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    label: Annotated[str, Form(max_length=200)],
    csrf: Csrf = None,
) -> Response:
    """A new personal link, shown on this answer only."""
    user = _inspector_page_user(request, session)
    if isinstance(user, Response):
        return user
    check_csrf(settings, request, csrf)
    try:
        with session.begin_nested():
            issued = calendar_links.create_link(session, user, label, now=utcnow())
    except (InvalidInput, Conflict) as exc:
        status_code = 409 if isinstance(exc, Conflict) else 422
        return _calendar_page(
            request, session, settings, user, status_code=status_code, error=exc.message
        )
    return _calendar_page(request, session, settings, user, created=issued)


@router.post("/field/calendar/links/{link_id}/revoke", include_in_schema=False)
def revoke_link(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    link_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    csrf: Csrf = None,
) -> Response:
    user = _inspector_page_user(request, session)
    if isinstance(user, Response):
        return user
    check_csrf(settings, request, csrf)
    try:
        calendar_links.revoke_link(session, user, link_id, now=utcnow())
    except NotFound:
        return message(request, 404, "链接不存在", "没有这个有效的日历订阅链接，可能已经撤销。")
    return RedirectResponse("/field/calendar", status_code=303)


@admin.post("/users/{username}/calendar-links/revoke")
def revoke_calendar_links(
    session: SessionDep, user: AdminUser, username: Username
) -> schemas.RevokeOut:
    """Revoke every personal calendar link of a user (a lost phone, a departure)."""
    revoked = calendar_links.revoke_links_of(session, username, actor=actor(user), now=utcnow())
    return schemas.RevokeOut(revoked=revoked)
