"""The FastAPI application. `create_app(settings)` builds everything; importing this module
builds nothing (no engine, no app), so tests and workers choose their own settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.body_limit import RequestBodyLimitMiddleware

from api import problems, security
from api.limits import DeclaredLengthLimit
from api.ratelimit import RateLimiter
from api.routes import (
    admin,
    auditor,
    board,
    desk,
    field,
    inspector,
    inspector_day,
    public,
    signin,
    site,
    supervisor,
)
from inspect_engine.settings import Settings
from models.db import make_engine, make_session_factory

STATIC = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
双随机、一公开 inspections: the service over the same workflows as the `inspect-engine`
command.

* **public** (no login): plans and tasks, draw records (ie-draw-v1) and the verifier,
  published results as JSON, CSV and Atom, a lookup by credit code;
* **supervisor**: directories, tasks, preview, freeze, draw, assign, publish, review,
  corrections, overdue results, inspector outliers (scoped to departments);
* **inspector**: own assignments and results; **auditor**: frames, full draw records and
  the audit log (read-only); **admin**: users and tokens.

Machines authenticate with `Authorization: Bearer <token>` (`inspect-engine users token
NAME`); people sign in to the pages at `/login` with their username and password.
Errors are RFC 9457 problem details (`application/problem+json`). Lists are paginated by
cursor: pass `next_cursor` back as `?cursor=`; `limit` is at most 500.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="inspect-engine",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api/security.py from installed files, not a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.rate_limiter = RateLimiter(settings.rate_limit_storage)
    app.state.templates = site.make_templates()
    app.state.error_page = site.error_page
    problems.install(app)
    build_schema = app.openapi
    app.openapi = lambda: problems.document_problems(build_schema())  # type: ignore[method-assign]
    for router in (public.router, supervisor.router, inspector.router, auditor.router):
        app.include_router(router)
    app.include_router(admin.router)
    app.include_router(admin.account)
    app.include_router(field.router)
    app.include_router(inspector_day.router)
    app.include_router(inspector_day.admin)
    app.include_router(signin.router)
    app.include_router(board.router)
    app.include_router(board.api)
    app.include_router(desk.router)
    app.include_router(site.router)
    app.add_api_route(
        "/problems/{slug}", _problem_page, include_in_schema=False, response_class=HTMLResponse
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # 413 past max_upload_bytes before the multipart parser spools an upload to disk:
    # Starlette counts a body as it arrives; a declared length is refused first (outer)
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_upload_bytes)
    app.add_middleware(DeclaredLengthLimit, max_bytes=settings.max_upload_bytes)
    security.install(app, settings)  # last: the proxy middleware is the outermost
    return app


def _problem_page(slug: str) -> HTMLResponse:
    """What a problem `type` URI points at: its title and meaning."""
    kind = problems.all_problem_types().get(slug)
    if kind is None:
        return HTMLResponse("<h1>unknown problem type</h1>", status_code=404)
    return HTMLResponse(
        f"<!doctype html><meta charset=utf-8><title>{kind.title}</title>"
        f"<h1>{kind.title} ({kind.status})</h1><p>{kind.description}</p>"
    )
