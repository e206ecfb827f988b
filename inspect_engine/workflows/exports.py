"""Export the directories back in their import formats (DATA-FORMATS.md)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_engine.formats.csv_safety import SafeWriter
from inspect_engine.formats.spec import FORMATS
from inspect_engine.workflows.imports import TABLES, canonical_text

EXPORTABLE = ("enterprises", "inspectors", "items")


def export_directory(session: Session, kind: str, path: Path) -> int:
    """Writes the directory `kind` to `path`, ordered by its key; returns the row count."""
    if kind not in EXPORTABLE:
        raise ValueError(f"cannot export {kind!r}; one of {', '.join(EXPORTABLE)}")
    fmt = FORMATS[kind]
    model = TABLES[kind]
    assert fmt.key is not None
    columns = [getattr(model, name) for name in fmt.names]
    query = select(*columns).order_by(getattr(model, fmt.key)).execution_options(yield_per=10_000)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = SafeWriter(out, [column.numeric for column in fmt.columns])
        writer.writerow(fmt.names)
        for record in session.execute(query):
            writer.writerow([canonical_text(value) for value in record])
            rows += 1
    return rows
