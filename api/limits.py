"""The upload limit's first check: a request that declares a body over `max_upload_bytes`
is answered 413 at once, as a problem naming the setting, without reading the body.

Starlette's `RequestBodyLimitMiddleware` (added inside this one by create_app, with the
same setting) counts every other body as it arrives (chunked, or a Content-Length that
lies) and raises a 413 that the problem handler formats; for a declared length it would
answer in plain text, hence this."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api import problems


class DeclaredLengthLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _declared_length(scope) > self.max_bytes:
            response = problems.problem_response(
                Request(scope),
                problems.TOO_LARGE,
                problems.too_large(self.max_bytes),
                headers={"Connection": "close"},  # the body is never read: do not drain it
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    """The largest Content-Length that parses (ASGI header names are lower case); 0 if none."""
    lengths = [value for name, value in scope["headers"] if name == b"content-length"]
    return max((int(v) for v in lengths if v.strip().isdigit()), default=0)
