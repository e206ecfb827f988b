"""Uploaded CSV files: read only after the login and role are checked, spooled to a
temporary file (the import workflows read paths), and checked against the uploader's
departments before anything is imported.

An `UploadFile` parameter would make FastAPI read and parse the whole body before any
dependency runs, so that a stranger's 60 MB were received before his 401. Upload routes
take `CsvUpload` instead, declared after their user dependency: dependencies run in
order, so the body is read only once the sender is known and allowed. `UPLOAD_BODY`
documents the multipart body in the OpenAPI schema the parameter used to produce."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from inspect_engine.errors import InvalidInput
from inspect_engine.formats.fields import code
from inspect_engine.formats.reader import FileRejected, column_values
from inspect_engine.workflows.users import Forbidden, Principal
from models import Inspector

# Rows of these files belong to the department they name.
DEPARTMENT_COLUMN = ("items", "inspectors", "inspections")
# Rows of these files belong to the department of the inspector they name.
INSPECTOR_COLUMN = ("leave", "conflicts")
# The rest (enterprises, penalties, complaints, annual reports, lists) is the shared
# directory every department maintains: any supervisor may upload it; the audit log
# records who did.
MAX_NAMED_ROWS = 20
# The client's file name is not trusted: only a short plain suffix is kept.
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


FIELD = "file"
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {
                        FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "the CSV file (UTF-8, header row)",
                        }
                    },
                }
            }
        },
    }
}


async def _csv_upload(request: Request) -> AsyncIterator[UploadFile]:
    """The multipart field `file`, parsed from the request only when this runs."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(f"send the CSV as multipart/form-data, in the field {FIELD!r}")
    form = await request.form(max_files=1, max_fields=8)
    try:
        upload = form.get(FIELD)
        if not isinstance(upload, UploadFile):
            raise InvalidInput(f"the multipart body has no file in the field {FIELD!r}")
        yield upload
    finally:
        await form.close()


# Declare it after the route's user: the body is read only once he is allowed.
CsvUpload = Annotated[UploadFile, Depends(_csv_upload)]


@contextmanager
def saved_upload(upload: UploadFile) -> Iterator[Path]:
    given = Path(upload.filename or "").suffix
    suffix = given if _SUFFIX.fullmatch(given) else ".csv"
    with tempfile.TemporaryDirectory(prefix="inspect-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, length=1 << 20)
        yield path


def check_upload_scope(session: Session, user: Principal, kind: str, path: Path) -> None:
    """Forbidden, naming the rows, if the file touches departments outside the user's.
    An unreadable file passes here: the import itself rejects it with row numbers."""
    if user.is_admin or kind not in DEPARTMENT_COLUMN + INSPECTOR_COLUMN:
        return
    column = "department" if kind in DEPARTMENT_COLUMN else "inspector_id"
    values = _column_values(path, column)
    if kind in INSPECTOR_COLUMN:
        wanted = sorted({v for _, v in values})
        owners = dict(
            session.execute(
                select(Inspector.inspector_id, Inspector.department).where(
                    Inspector.inspector_id.in_(wanted)
                )
            )
            .tuples()
            .all()
        )
        # unknown inspectors are left to the import's own reference check
        values = [(row, owners[v]) for row, v in values if v in owners]
    outside = [(row, d) for row, d in values if d not in user.departments]
    if outside:
        named = ", ".join(f"row {row} ({d})" for row, d in outside[:MAX_NAMED_ROWS])
        more = f" and {len(outside) - MAX_NAMED_ROWS} more" if len(outside) > MAX_NAMED_ROWS else ""
        raise Forbidden(f"{kind}: rows outside your departments: {named}{more}")


def _column_values(path: Path, column: str) -> list[tuple[int, str]]:
    """Read as the import reads it, so that both see the same rows. Values that are not
    codes (NUL, 10 MB) are left to the import's row-numbered report, never echoed here."""
    try:
        found = column_values(path, column)
    except FileRejected:
        return []
    return [(row, value) for row, value in found if _is_code(value)]


def _is_code(value: str) -> bool:
    try:
        code()(value)
    except ValueError:
        return False
    return True
