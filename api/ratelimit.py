"""Rate limits per client, with the `limits` library (moving windows).

The client is `request.client.host`: the connection's address, or the address a trusted
proxy forwarded (api/security.py; INSPECT_TRUSTED_PROXIES), never an X-Forwarded-For sent
by anyone else. Over the limit a request gets 429 with Retry-After, before its body or
the database is touched.

Use it as a dependency: `dependencies=[VERIFY_LIMIT]` on a route, or
`RateLimiter.check(...)` for another key (e.g. per account)."""

from __future__ import annotations

import math
import time
from typing import Any

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.exceptions import HTTPException

from inspect_engine.settings import Settings


class RateLimiter:
    """The app's counters (app.state.rate_limiter): in this process by default, shared by
    several processes through INSPECT_RATE_LIMIT_STORAGE (e.g. redis://)."""

    def __init__(self, storage_uri: str) -> None:
        self.window = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def check(self, rate: RateLimitItem | str, scope: str, key: str) -> None:
        """Count one request of `key` under `scope`; 429 with Retry-After past `rate`."""
        limit = parse(rate) if isinstance(rate, str) else rate
        if self.window.hit(limit, scope, key):
            return
        reset = self.window.get_window_stats(limit, scope, key).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise HTTPException(
            429,
            f"too many requests: at most {limit} from one address; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def per_client(scope: str, setting: str) -> Any:
    """A dependency that limits each client to the rate named by `setting`."""

    def limit(request: Request) -> None:
        settings: Settings = request.app.state.settings
        limiter: RateLimiter = request.app.state.rate_limiter
        limiter.check(getattr(settings, setting), scope, client_address(request))

    return Depends(limit)


# Sign-in attempts (every login form), and openings of the scan-to-verify page.
VERIFY_LIMIT = per_client("verify", "verify_rate_limit")
