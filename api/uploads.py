"""Uploaded CSV files: read only after the login and role are checked, spooled to a
temporary file (the import workflows read paths). Who may import what is decided by the
workflows (inspect_engine/workflows/authority.py), for the CLI and the API alike.

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
from starlette.datastructures import UploadFile

from inspect_engine.errors import InvalidInput

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
