"""The web surface's hygiene: security headers on every response, the API documentation
served from files installed with the package (no outside host: government networks are
often offline), and the addresses of the trusted reverse proxies.

Headers. The pages use no inline script or style (a `<progress>` draws the board's bar),
so the CSP allows scripts and styles from this site only; framing is refused
(`frame-ancestors 'none'` and `X-Frame-Options: DENY` for older browsers); no response is
content-sniffed. A route that sets one of these headers itself keeps its own value: the
verification pages send `Referrer-Policy: no-referrer`, the documentation pages their own
CSP.

Proxies. Behind a TLS proxy the app sees the proxy's address and plain http: uvicorn's
ProxyHeadersMiddleware takes the client address and scheme from X-Forwarded-For and
X-Forwarded-Proto, but only when the connection comes from an address or network listed
in `INSPECT_TRUSTED_PROXIES`. Anyone else's X-Forwarded-For is ignored, so rate limits
key on the real client and cookies are Secure when the browser used https."""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from inspect_engine.settings import Settings

# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js and favicon.png, installed by
# the fastapi-offline package (MIT; Swagger UI is Apache-2.0, ReDoc MIT).
DOC_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
DOC_ASSETS_URL = "/docs-assets"

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc set styles at run time (ReDoc inserts <style> elements) and ReDoc's
# search runs in a blob: worker; scripts still come from this site only.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# JSON, CSV, PDF, images: nothing in them may run or load anything.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
}


def harden(headers: MutableHeaders) -> None:
    """Adds the security headers a response does not set itself."""
    for name, value in EVERY_RESPONSE.items():
        headers.setdefault(name, value)
    page = headers.get("content-type", "").startswith("text/html")
    headers.setdefault("content-security-policy", PAGE_CSP if page else DATA_CSP)


class SecurityHeaders:
    """Adds the headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                harden(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, settings: Settings) -> None:
    """Security headers, the offline documentation and the trusted proxies. Call last in
    create_app: the proxy middleware must be the outermost, so every other part (the
    rate limits, the cookies' Secure flag) sees the real client."""
    _install_docs(app)
    app.add_middleware(SecurityHeaders)
    # trusted_hosts=[] trusts no one: the headers are then ignored
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))


def _install_docs(app: FastAPI) -> None:
    app.mount(DOC_ASSETS_URL, StaticFiles(directory=DOC_ASSETS), name="docs-assets")
    title = html.escape(app.title)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = html.escape(request.scope.get("root_path", ""))
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – API</title>
<link rel="icon" href="{root}{DOC_ASSETS_URL}/favicon.png">
<link rel="stylesheet" href="{root}{DOC_ASSETS_URL}/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-openapi="{root}/openapi.json"></div>
<script src="{root}{DOC_ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{root}/static/swagger-init.js"></script>
</body></html>
"""
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = html.escape(request.scope.get("root_path", ""))
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – API</title>
<link rel="icon" href="{root}{DOC_ASSETS_URL}/favicon.png">
</head><body>
<redoc spec-url="{root}/openapi.json"></redoc>
<script src="{root}{DOC_ASSETS_URL}/redoc.standalone.js"></script>
</body></html>
"""
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})
