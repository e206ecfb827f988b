"""Uploaded CSV files: spooled to a temporary file (the import workflows read paths), and
checked against the uploader's departments before anything is imported."""

from __future__ import annotations

import csv
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

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


@contextmanager
def saved_upload(upload: UploadFile) -> Iterator[Path]:
    suffix = Path(upload.filename or "upload.csv").suffix or ".csv"
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
    try:
        with path.open(encoding="utf-8-sig", newline="") as text:
            reader = csv.reader(text)
            header = next(reader, [])
            if column not in header:
                return []
            at = header.index(column)
            return [
                (number, cells[at])
                for number, cells in enumerate(reader, start=2)
                if len(cells) > at and cells[at]
            ]
    except (UnicodeDecodeError, csv.Error):
        return []
