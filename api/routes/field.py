"""Field and trust, as pages: the public verification page of a visit (`/v/{code}`), the
inspectors' phone pages (`/field/...`) with the task document and a result form per item,
and the visit documents as PDF.

People sign in with their username and password (`/login`, api/routes/signin.py): the
cookie holds the random id of a server-side session, and every form that changes
something also carries a token derived from it (CSRF). API clients send
`Authorization: Bearer` as everywhere else. Plain HTML forms: everything works without
JavaScript."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api import problems
from api.deps import SessionDep, SettingsDep, scope_of
from api.ratelimit import VERIFY_LIMIT
from api.schemas import MONTH_PATTERN
from inspect_engine.documents import FontMissing, qr_svg, render_notice, render_task_document
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.publication.result_codes import CODES, LABELS
from inspect_engine.settings import Settings
from inspect_engine.workflows import field, inspector_day, results, signin
from inspect_engine.workflows.users import NotAuthenticated, Principal, Role, authenticate
from models.base import utcnow

router = APIRouter(default_response_class=HTMLResponse)

COOKIE = "ie_session"  # the random id of a server-side session (workflows/signin.py)
RESULT_CHOICES = tuple(zip(CODES, LABELS, strict=True))
VisitCode = Annotated[str, PathParam(max_length=32, examples=["2026-12-000017"])]
CodeText = Annotated[str, PathParam(max_length=120)]
DOCUMENTS = {"task": render_task_document, "notice": render_notice}
DOCUMENT_NAMES = {"task": "检查任务书", "notice": "告知书"}
# Verification pages carry the code in their URL: never send it on as a Referer, never
# cache it, never index it.
PRIVATE_PAGE = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}
FONT_PROBLEM = problems.ProblemType(
    503,
    "documents-unavailable",
    "documents unavailable",
    "No CJK font is installed for the PDF documents: run scripts/install-fonts.sh.",
)


# --------------------------------------------------------------------------- helpers


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    """A page; pages of a signed-in browser get its CSRF token (the logout form needs it)."""
    templates: Jinja2Templates = request.app.state.templates
    if "csrf" not in context and request.cookies.get(COOKIE):
        context["csrf"] = csrf_token(request.app.state.settings, request)
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response


def settings_value(settings: Settings, name: str, default: Any) -> Any:
    """A field setting; the defaults hold until Settings declares them (see docs/field.md)."""
    value = getattr(settings, name, None)
    return default if value is None else value


def document_settings(request: Request, settings: Settings) -> field.DocumentSettings:
    base = settings_value(settings, "public_base_url", str(request.base_url))
    return field.DocumentSettings(
        base_url=str(base),
        issuer=str(settings_value(settings, "document_issuer", field.DEFAULT_ISSUER)),
        contact=settings_value(settings, "document_contact", None),
        grace_days=int(settings_value(settings, "verify_grace_days", field.DEFAULT_GRACE_DAYS)),
    )


def grace_days(settings: Settings) -> int:
    return int(settings_value(settings, "verify_grace_days", field.DEFAULT_GRACE_DAYS))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def session_limits(settings: Settings) -> signin.SessionLimits:
    return signin.SessionLimits(
        idle=timedelta(hours=settings.session_idle_hours),
        absolute=timedelta(days=settings.session_absolute_days),
    )


def signed_in(request: Request, session: SessionDep) -> Principal | None:
    """The user of a bearer token (scripts), else of the session cookie (browsers)."""
    token = _bearer(request)
    cookie = request.cookies.get(COOKIE)
    try:
        if token:
            return authenticate(session, token)
        if cookie:
            settings: Settings = request.app.state.settings
            return signin.session_user(session, cookie, session_limits(settings), utcnow())
    except NotAuthenticated:
        return None
    return None


def csrf_token(settings: Settings, request: Request) -> str:
    """Ties a form to the signed-in browser's session: a page of another site cannot know it."""
    session_id = request.cookies.get(COOKIE) or ""
    key = settings.secret_key.encode("utf-8")
    return hmac.new(key, f"csrf|{session_id}".encode(), hashlib.sha256).hexdigest()[:32]


def check_csrf(settings: Settings, request: Request, sent: str | None) -> None:
    """A form sent with the session cookie must carry its CSRF token; a bearer token cannot
    be sent by another site's page, so it needs none."""
    if _bearer(request):
        return
    # as bytes: compare_digest refuses str with non-ASCII characters (a forged form's)
    expected = csrf_token(settings, request).encode()
    if not hmac.compare_digest((sent or "").encode("utf-8", "replace"), expected):
        raise NotAuthenticated("the form has expired: reload the page and send it again")


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def message(request: Request, status_code: int, title: str, detail: str) -> Response:
    return render(
        request, "field/message.html", status_code, title=title, detail=detail, status=status_code
    )


def safe_next(target: str | None) -> str:
    """Only a path of this site: a login must not bounce the browser elsewhere."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/field"


def this_month() -> str:
    return results.today_in_shanghai().strftime("%Y-%m")


# --------------------------------------------------------------------------- sign-in


@router.get("/field/login", include_in_schema=False)
def old_login_page(next: str | None = None) -> Response:
    """Sign-in moved to /login (username and password); old bookmarks follow."""
    return RedirectResponse(f"/login?next={quote(safe_next(next), safe='')}", status_code=303)


@router.get("/field", include_in_schema=False)
def field_home(request: Request, session: SessionDep) -> Response:
    user = signed_in(request, session)
    if user is None:
        return login_redirect(request)
    if user.role is Role.INSPECTOR:
        return RedirectResponse("/field/visits", status_code=303)
    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        return RedirectResponse(f"/board/{this_month()}", status_code=303)
    return message(request, 403, "无权访问", "移动端页面供执法检查人员和监管人员使用。")


# --------------------------------------------------------------------------- inspectors


def _inspector(request: Request, session: SessionDep) -> Principal | Response:
    user = signed_in(request, session)
    if user is None:
        return login_redirect(request)
    if user.role is not Role.INSPECTOR or user.inspector_id is None:
        return message(request, 403, "无权访问", "此页面仅供执法检查人员使用。")
    return user


@router.get("/field/visits", include_in_schema=False)
def my_month(
    request: Request,
    session: SessionDep,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
) -> Response:
    """The signed-in inspector's visits of the month by scheduled day: today, the coming
    days, those not scheduled yet, the past days."""
    user = _inspector(request, session)
    if isinstance(user, Response):
        return user
    assert user.inspector_id is not None
    chosen = month or this_month()
    overview = inspector_day.inspector_days(session, user.inspector_id, chosen)
    return render(request, "field/visits.html", user=user, view=overview)


def _visit_page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    user: Principal,
    visit_code: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    assert user.inspector_id is not None
    doc = field.visit_document(
        session,
        visit_code,
        document_settings(request, settings),
        inspector_id=user.inspector_id,
        actor=user.username,
    )
    visit = results.inspector_visit(session, user.inspector_id, visit_code)
    return render(
        request,
        "field/visit.html",
        status_code,
        user=user,
        doc=doc,
        visit=visit,
        qr=qr_svg(doc.verification.url, module=4, title="核验二维码"),
        choices=RESULT_CHOICES,
        today=results.today_in_shanghai(),
        csrf=csrf_token(settings, request),
        error=error,
        notice=notice,
    )


@router.get("/field/visits/{visit_code}", include_in_schema=False)
def my_visit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visit_code: VisitCode,
    saved: str | None = None,
) -> Response:
    """The task document on the phone, with a result form per item."""
    user = _inspector(request, session)
    if isinstance(user, Response):
        return user
    notice = f"已报送事项 {saved} 的检查结果。" if saved else None
    return _visit_page(request, session, settings, user, visit_code, notice=notice)


@router.post("/field/visits/{visit_code}/results", include_in_schema=False)
def report_result(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visit_code: VisitCode,
    item_code: Annotated[str, Form(max_length=64)],
    result: Annotated[str, Form(max_length=24)],
    inspected_on: Annotated[date, Form()],
    note: Annotated[str | None, Form(max_length=results.MAX_NOTE)] = None,
    csrf: Annotated[str | None, Form(max_length=64)] = None,
) -> Response:
    """The same submission as POST /inspector/visits/{code}/results, from a form."""
    user = _inspector(request, session)
    if isinstance(user, Response):
        return user
    assert user.inspector_id is not None
    check_csrf(settings, request, csrf)
    try:
        with session.begin_nested():
            results.submit_result(
                session,
                inspector_id=user.inspector_id,
                visit_code=visit_code,
                item_code=item_code,
                result=result,
                inspected_on=inspected_on,
                note=note,
                actor=user.username,
            )
    except (InvalidInput, Conflict) as exc:
        status_code = 409 if isinstance(exc, Conflict) else 422
        return _visit_page(
            request, session, settings, user, visit_code, status_code=status_code,
            error=exc.message,
        )  # fmt: skip
    return RedirectResponse(
        f"/field/visits/{quote(visit_code)}?saved={quote(item_code)}", status_code=303
    )


@router.get(
    "/field/visits/{visit_code}/{kind}.pdf",
    tags=["field"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the PDF document"}},
    openapi_extra={"security": [{"HTTPBearer": []}]},  # or the session cookie of /login
)
def visit_pdf(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    visit_code: VisitCode,
    kind: Annotated[str, PathParam(pattern="^(task|notice)$", examples=["task"])],
) -> Response:
    """A visit's task document (检查任务书, `task`) or notice to the enterprise (告知书,
    `notice`) as PDF: for the inspectors of its team, and for supervisors of its
    departments. Issues the visit's verification code on first rendering."""
    user = signed_in(request, session)
    if user is None:
        raise NotAuthenticated("sign in (/login) or send a bearer token")
    if user.role is Role.INSPECTOR:
        scope: dict[str, Any] = {"inspector_id": user.inspector_id or ""}
    elif user.role in (Role.SUPERVISOR, Role.ADMIN):
        scope = {"departments": scope_of(user)}
    else:
        raise NotFound(f"there is no visit {visit_code} for you")
    doc = field.visit_document(
        session, visit_code, document_settings(request, settings), actor=user.username, **scope
    )
    try:
        pdf = DOCUMENTS[kind](doc, settings_value(settings, "cjk_font", None))
    except FontMissing as exc:
        return problems.problem_response(request, FONT_PROBLEM, str(exc))
    filename = f"{visit_code}-{DOCUMENT_NAMES[kind]}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )


# --------------------------------------------------------------------------- the public


@router.get("/v", include_in_schema=False)
def verify_form(
    request: Request, code: Annotated[str | None, Query(max_length=120)] = None
) -> Response:
    """Type the code printed on the notice; a typed code goes to its page."""
    if code:
        typed = field.normalise_code(code)
        if typed is not None:
            return RedirectResponse(f"/v/{typed}", status_code=303)
        return render(
            request,
            "field/verify_form.html",
            422,
            error="核验码应为 40 位字母和数字，请检查后重新输入。",
        )
    return render(request, "field/verify_form.html", error=None)


REFUSALS = {
    "unknown": (404, "核验码无效"),
    "expired": (410, "核验码已过期"),
    "not_yet": (403, "核验码尚未生效"),
}


def _verify_page(
    request: Request,
    session: SessionDep,
    settings: Settings,
    code: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    recorded: bool = False,
) -> Response:
    client = request.client.host if request.client else None
    outcome = field.verify_visit(
        session, code, secret=settings.secret_key, client=client, grace_days=grace_days(settings)
    )
    if outcome.outcome != "genuine":
        status_code, title = REFUSALS[outcome.outcome]
        response = render(
            request, "field/verify_refused.html", status_code, outcome=outcome, title=title
        )
    else:
        response = render(
            request,
            "field/verify.html",
            status_code,
            visit=outcome.visit,
            code=field.normalise_code(code),
            confirming=outcome.confirming,
            error=error,
            recorded=recorded,
        )
    response.headers.update(PRIVATE_PAGE)
    return response


@router.get("/v/{code}", include_in_schema=False, dependencies=[VERIFY_LIMIT])
def verify(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: CodeText,
    recorded: str | None = None,
) -> Response:
    """核验: is the visit genuine? Every opening is logged (made-up codes only counted);
    each address may open VERIFY_LIMIT pages a minute."""
    return _verify_page(request, session, settings, code, recorded=bool(recorded))


@router.post("/v/{code}", include_in_schema=False, dependencies=[VERIFY_LIMIT])
def record_visit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: CodeText,
    took_place: Annotated[str, Form(pattern="^(yes|no)$")],
    rating: Annotated[str | None, Form(max_length=1)] = None,
    comment: Annotated[str | None, Form(max_length=field.MAX_COMMENT)] = None,
) -> Response:
    """The enterprise records the inspection (once), with an anonymous rating and comment:
    with the confirmation code sent to its liaison, or, where it has none, with the team's
    code (then marked "channel not verified")."""
    try:
        score = int(rating) if rating else None
    except ValueError:
        score = 0  # refused below as out of range
    try:
        with session.begin_nested():
            field.record_feedback(
                session,
                code,
                took_place=took_place == "yes",
                rating=score,
                comment=comment,
                grace_days=grace_days(settings),
            )
    except field.CodeRefused:
        return _verify_page(request, session, settings, code)
    except field.LiaisonCodeRequired:
        text = (
            "检查人员出示的核验码只能核验检查组身份。"
            "确认检查并评价，请使用发送给贵单位联络员的链接。"
        )
        return _verify_page(request, session, settings, code, status_code=403, error=text)
    except (InvalidInput, Conflict) as exc:
        status_code = 409 if isinstance(exc, Conflict) else 422
        text = (
            "本次检查已经记录过，无需重复提交。"
            if status_code == 409
            else "评分应为 1–5 分，留言不超过 500 字。"
        )
        return _verify_page(request, session, settings, code, status_code=status_code, error=text)
    normalised = field.normalise_code(code) or code
    return RedirectResponse(f"/v/{normalised}?recorded=1", status_code=303)
