"""Uploaded CSV files: spooled to a temporary file (the import workflows read paths), and
checked against the uploader's departments before anything is imported."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

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
