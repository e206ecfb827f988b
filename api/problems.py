"""Errors as RFC 9457 problem details (application/problem+json).

ONE table maps the domain errors (which carry no HTTP codes) to a status and a problem
type; FastAPI's own validation errors, unknown routes and unexpected failures are rendered
the same way, so a client parses one error shape. Never a stack trace in a response."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import security
from inspect_engine.errors import Conflict, DomainError, InvalidInput, NotFound
from inspect_engine.sealing import NonceUnavailable
from inspect_engine.workflows.drawing import DrawFailed
from inspect_engine.workflows.imports import ImportRejected
from inspect_engine.workflows.users import Forbidden, NotAuthenticated

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("inspect_engine.api")


@dataclass(frozen=True)
class ProblemType:
    status: int
    slug: str  # the problem type is /problems/<slug>
    title: str
    description: str


# The one table: domain error -> problem. The most specific class wins (looked up along
# the exception's MRO), so ImportRejected is found before InvalidInput.
PROBLEMS: dict[type[Exception], ProblemType] = {
    NotAuthenticated: ProblemType(
        401, "not-authenticated", "authentication required", "Send a valid bearer token."
    ),
    Forbidden: ProblemType(
        403, "forbidden", "forbidden", "Your role or departments do not allow this request."
    ),
    NotFound: ProblemType(404, "not-found", "not found", "No such resource is visible to you."),
    Conflict: ProblemType(
        409,
        "conflict",
        "conflict with the current state",
        "The request clashes with the current state, e.g. a plan already frozen.",
    ),
    NonceUnavailable: ProblemType(
        409,
        "nonce-unavailable",
        "the sealed nonce cannot be opened",
        "The key in the settings does not open the plan's sealed nonce (lost or changed): "
        "the draw is refused. An administrator can freeze the plan again, in public.",
    ),
    DrawFailed: ProblemType(
        500,
        "draw-failed",
        "the draw failed",
        "The draw failed after its contribution was accepted. The failure is recorded; the "
        "draw completes later only with the same contribution.",
    ),
    ImportRejected: ProblemType(
        422,
        "import-rejected",
        "file rejected",
        "Bad rows: nothing of the file was written. `errors` lists them by row and column.",
    ),
    InvalidInput: ProblemType(422, "invalid-input", "invalid input", "A value is not valid."),
    DomainError: ProblemType(400, "request-refused", "request refused", "The rules refuse it."),
}
# The database refused a value the schema let through (e.g. a NUL character in a text, a
# number beyond its column): bad input, not a server failure.
UNSTORABLE = ProblemType(
    422, "invalid-input", "invalid input", "A value cannot be stored, e.g. a NUL character."
)
VALIDATION = ProblemType(
    422,
    "validation-error",
    "invalid request",
    "A parameter or the body does not match the schema; `errors` lists each one.",
)
INTERNAL = ProblemType(500, "internal-error", "internal error", "The failure was logged.")
# A request body over the upload limit (api/limits.py, Starlette's body limit middleware).
TOO_LARGE = ProblemType(
    413,
    "content-too-large",
    "upload too large",
    "The request body is larger than the upload limit (setting INSPECT_MAX_UPLOAD_BYTES).",
)
# A client over a rate limit (api/ratelimit.py); Retry-After says when to try again.
TOO_MANY = ProblemType(
    429,
    "too-many-requests",
    "too many requests",
    "This address sent more requests than the rate limit allows (settings "
    "INSPECT_LOGIN_RATE_LIMIT, INSPECT_VERIFY_RATE_LIMIT): wait for Retry-After seconds.",
)
API_PREFIXES = frozenset(
    {"public", "supervisor", "inspector", "auditor", "admin", "me", "problems", "openapi.json"}
)
HTTP_SLUGS = {
    404: "not-found",
    405: "method-not-allowed",
    401: "not-authenticated",
    413: "content-too-large",
    429: "too-many-requests",
}


def problem_for(exc: Exception) -> ProblemType:
    for cls in type(exc).__mro__:
        if cls in PROBLEMS:
            return PROBLEMS[cls]
    return INTERNAL


def all_problem_types() -> dict[str, ProblemType]:
    types = {p.slug: p for p in (*PROBLEMS.values(), VALIDATION, INTERNAL, TOO_LARGE, TOO_MANY)}
    types.setdefault(
        "method-not-allowed",
        ProblemType(405, "method-not-allowed", "method not allowed", "Use another method."),
    )
    return types


def problem_response(
    request: Request,
    kind: ProblemType,
    detail: str,
    *,
    title: str | None = None,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """The problem as JSON; as an HTML page for the public website's browsers."""
    page = getattr(request.app.state, "error_page", None)
    if page is not None and wants_html(request):
        rendered: Response = page(request, status or kind.status, title or kind.title, detail)
        rendered.headers.update(headers or {})  # e.g. Retry-After
        return rendered
    body: dict[str, Any] = {
        "type": f"/problems/{kind.slug}",
        "title": title or kind.title,
        "status": status or kind.status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status or kind.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def wants_html(request: Request) -> bool:
    """A browser on the website (not the JSON API under its own prefixes)."""
    first = request.url.path.strip("/").split("/", 1)[0]
    if first in API_PREFIXES:
        return False
    return "text/html" in request.headers.get("accept", "")


def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    kind = problem_for(exc)
    extensions: dict[str, Any] = {}
    if isinstance(exc, ImportRejected):
        extensions = {
            "file_kind": exc.kind,
            "total_errors": exc.total,
            "errors": [
                {"row": e.row, "column": e.column, "reason": e.reason}
                | ({"sheet": e.sheet} if e.sheet is not None else {})
                for e in exc.errors
            ],
            "warnings": exc.warnings,
        }
    headers = {"WWW-Authenticate": "Bearer"} if kind.status == 401 else None
    detail = exc.message.splitlines()[0] if extensions else exc.message
    return problem_response(request, kind, detail, title=exc.title, headers=headers, **extensions)


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "location": [str(part) for part in error.get("loc", ())],
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    where = ", ".join(".".join(e["location"]) for e in errors[:5])
    return problem_response(request, VALIDATION, f"invalid value(s): {where}", errors=errors)


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    slug = HTTP_SLUGS.get(exc.status_code, "http-error")
    kind = all_problem_types().get(slug, ProblemType(exc.status_code, slug, "request refused", ""))
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 413:  # Starlette's body limit, set from max_upload_bytes
        detail = too_large(request.app.state.settings.max_upload_bytes)
    return problem_response(
        request, kind, detail, status=exc.status_code, headers=getattr(exc, "headers", None)
    )


def too_large(limit: int) -> str:
    megabytes = f"{limit / 2**20:.{2 if limit >= 2**20 else 4}f}".rstrip("0").rstrip(".")
    return (
        f"the request body is larger than the upload limit of {megabytes} MB "
        f"({limit:,} bytes), set by max_upload_bytes (environment INSPECT_MAX_UPLOAD_BYTES)"
    )


def _unstorable(request: Request, exc: Exception) -> Response:
    log.warning("database refused a value on %s: %s", request.url.path, exc)
    return problem_response(request, UNSTORABLE, "a value cannot be stored (e.g. a NUL character)")


def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    response = problem_response(request, INTERNAL, "the server failed; the error was logged")
    # Starlette sends this answer from its outermost middleware, past SecurityHeaders
    security.harden(response.headers)
    return response


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(Exception, _unexpected)


# What every error answer looks like in the OpenAPI schema (RFC 9457; extensions such as
# `errors` are allowed), so that clients and the schema tests can check it.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
ERROR_TITLES = {
    400: "the rules refuse the request",
    401: "no valid sign-in or bearer token",
    403: "the role or departments do not allow it",
    404: "no such resource is visible to you",
    409: "clashes with the current state",
    413: "the upload is larger than the upload limit",
    422: "a parameter, the body or a row is invalid",
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Documents the problems each operation may answer (FastAPI documents only its own
    422, as JSON of another shape): every operation 404 and 422; writes 400 and 409;
    operations behind a sign-in 401 and 403; those with a body 413; and any other error
    status a route declares in its `responses`. Idempotent."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            statuses = [404, 422]
            if method != "get":
                statuses += [400, 409]
            if operation.get("security"):
                statuses += [401, 403]
            if "requestBody" in operation:
                statuses.append(413)
            for status in statuses:
                operation["responses"][str(status)] = {"description": ERROR_TITLES[status]}
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    response["content"] = problem
    return schema
