"""Cursor pagination for every list: `?limit=` (1..500) and `?cursor=` (opaque).

A cursor is the URL-safe base64 of the JSON list holding the sort key of the last row of
the previous page. Keyset pages stay fast and stable while rows are added, unlike OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import Query

from inspect_engine.errors import InvalidInput

MAX_LIMIT = 500
MAX_ID = 2**31 - 1  # row ids are 32-bit integers on PostgreSQL
DEFAULT_LIMIT = 50

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page, at most {MAX_LIMIT}")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="`next_cursor` of the previous page; omit for the first"),
]

T = TypeVar("T")


def encode_cursor(key: Sequence[Any]) -> str:
    text = json.dumps([v.isoformat() if isinstance(v, date) else v for v in key])
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None, *kinds: type) -> tuple[Any, ...] | None:
    """The key a cursor holds, each part checked against `kinds` (str, int or date)."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
        if not isinstance(key, list) or len(key) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_part(value, kind) for value, kind in zip(key, kinds, strict=True))
    except (ValueError, UnicodeError, binascii.Error, TypeError):
        raise InvalidInput("the cursor is not one this list gave out") from None


def _part(value: Any, kind: type) -> Any:
    if kind is date:
        if not isinstance(value, str):
            raise ValueError("not a date")
        return date.fromisoformat(value)
    if kind is int and (
        not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID
    ):
        raise ValueError("not a row number")
    if kind is str and not isinstance(value, str):
        raise ValueError("not a string")
    return value


def page(
    rows: list[T], limit: int, key: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """Rows fetched with limit + 1: the page, and the cursor if there is a next page."""
    if len(rows) <= limit:
        return rows, None
    kept = rows[:limit]
    return kept, encode_cursor(key(kept[-1]))
