"""Uploaded CSV files: spooled to a temporary file (the import workflows read paths).
Who may import what is decided by the workflows (inspect_engine/workflows/authority.py),
for the CLI and the API alike."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

# The client's file name is not trusted: only a short plain suffix is kept.
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


@contextmanager
def saved_upload(upload: UploadFile) -> Iterator[Path]:
    given = Path(upload.filename or "").suffix
    suffix = given if _SUFFIX.fullmatch(given) else ".csv"
    with tempfile.TemporaryDirectory(prefix="inspect-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as out:
            shutil.copyfileobj(upload.file, out, length=1 << 20)
        yield path
