"""People's sign-in pages: `/login` (username and password), `/logout` and
`/account/password`, server-rendered in the style of the field pages.

The cookie holds only the random id of a server-side session (HttpOnly, SameSite=Lax,
Secure when the request came over TLS); logout ends the session on the server, so a
copied cookie stops working too. Failed sign-ins are slowed per (account, client) and per
client (workflows/signin.py), never by locking the account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SessionDep, SettingsDep
from api.routes.field import (
    COOKIE,
    check_csrf,
    csrf_token,
    login_redirect,
    message,
    render,
    safe_next,
    signed_in,
)
from inspect_engine.errors import InvalidInput
from inspect_engine.settings import Settings
from inspect_engine.workflows import signin
from inspect_engine.workflows.users import NotAuthenticated
from models.base import utcnow

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)

Username = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=signin.MAX_PASSWORD)]
Csrf = Annotated[str | None, Form(max_length=64)]


def client_of(request: Request) -> str:
    """The address failures are counted under (behind a proxy: its trusted setting)."""
    return request.client.host if request.client else "unknown"


def _cookie_seconds(settings: Settings) -> int:
    return int(settings.session_absolute_days * 86400)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "field/login.html", next=safe_next(next), error=None, username="")


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Username,
    password: Password,
    next: Annotated[str | None, Form(max_length=500)] = None,
) -> Response:
    target = safe_next(next)
    try:
        opened = signin.sign_in(
            session, username.strip(), password, client=client_of(request), now=utcnow()
        )
    except signin.SlowDown as exc:
        page = render(
            request,
            "field/login.html",
            429,
            next=target,
            username=username,
            error=f"登录失败次数过多，请 {exc.retry_after} 秒后再试。",
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except NotAuthenticated:
        return render(
            request, "field/login.html", 401, next=target, username=username, error=signin.WRONG
        )
    old = request.cookies.get(COOKIE)
    if old:
        signin.end_session(session, old, utcnow())
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        opened.session_id,
        max_age=_cookie_seconds(settings),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, settings: SettingsDep, csrf: Csrf = None
) -> Response:
    """Ends the session on the server, then forgets the cookie."""
    session_id = request.cookies.get(COOKIE)
    if session_id:
        check_csrf(settings, request, csrf)
        signin.end_session(session, session_id, utcnow())
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _password_page(
    request: Request,
    settings: Settings,
    status_code: int = 200,
    *,
    user: object,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "field/password.html",
        status_code,
        user=user,
        error=error,
        minimum=signin.MIN_PASSWORD,
        csrf=csrf_token(settings, request),
    )


@router.get("/account/password")
def password_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    user = signed_in(request, session)
    if user is None or not request.cookies.get(COOKIE):
        return login_redirect(request)
    return _password_page(request, settings, user=user)


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    current: Password,
    new: Password,
    repeat: Password,
    csrf: Csrf = None,
) -> Response:
    """The signed-in person changes his password; his other sessions end."""
    session_id = request.cookies.get(COOKIE)
    user = signed_in(request, session)
    if user is None or not session_id:
        return login_redirect(request)
    check_csrf(settings, request, csrf)
    if new != repeat:
        return _password_page(request, settings, 422, user=user, error="两次输入的新密码不一致。")
    try:
        # no savepoint: a wrong current password is counted as a failure, and kept
        signin.change_password(
            session,
            user,
            current,
            new,
            session_id=session_id,
            client=client_of(request),
            now=utcnow(),
        )
    except signin.SlowDown as exc:
        page = _password_page(
            request,
            settings,
            429,
            user=user,
            error=f"尝试次数过多，请 {exc.retry_after} 秒后再试。",
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except NotAuthenticated as exc:
        return _password_page(request, settings, 401, user=user, error=exc.message)
    except InvalidInput:
        text = f"新密码至少 {signin.MIN_PASSWORD} 个字符，首尾不能是空格。"
        return _password_page(request, settings, 422, user=user, error=text)
    return message(request, 200, "密码已修改", "其他设备上的登录已全部退出。")
