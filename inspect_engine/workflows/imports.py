"""Import a directory or history file: validate everything, then write everything.

All-or-nothing per file: the first pass validates every row (fields, duplicates,
references) and writes nothing; the second pass writes in batches. The caller owns the
transaction, so a failure in the second pass rolls back the whole file too."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import models
from inspect_engine.errors import InvalidInput
from inspect_engine.formats.reader import FileRejected, ParsedRow, RowError, iter_rows
from inspect_engine.formats.spec import FORMATS, FileFormat
from inspect_engine.workflows import audit
from models import repositories as repo
from models.base import Base

MAX_REPORTED_ERRORS = 100
LOOKUP_BATCH = 2000

PhaseProgress = Callable[[str, int, int], None]

TABLES: dict[str, type[Base]] = {
    "enterprises": models.Enterprise,
    "inspectors": models.Inspector,
    "items": models.Item,
    "inspections": models.Inspection,
    "penalties": models.Penalty,
    "complaints": models.Complaint,
    "annual-reports": models.AnnualReport,
    "lists": models.ListMembership,
    "leave": models.Leave,
    "conflicts": models.Conflict,
}
REFERENCE_TABLES: dict[str, tuple[type[Base], str]] = {
    "enterprise": (models.Enterprise, "credit_code"),
    "inspector": (models.Inspector, "inspector_id"),
    "item": (models.Item, "item_code"),
}


class ImportRejected(InvalidInput):
    """Bad rows: nothing of the file was written."""

    def __init__(self, kind: str, errors: list[RowError], total: int, warnings: list[str]):
        self.kind = kind
        self.errors = errors
        self.total = total
        self.warnings = warnings
        super().__init__(self.report())
        self.message = self.report()

    def report(self) -> str:
        lines = [f"{self.kind}: {self.total} error(s); nothing was imported"]
        lines += [f"  {e}" for e in self.errors]
        if self.total > len(self.errors):
            lines.append(f"  ... and {self.total - len(self.errors)} more")
        return "\n".join(lines)


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    new_rows: int = 0
    warnings: list[str] = field(default_factory=list)


class _Errors:
    def __init__(self) -> None:
        self.first: list[RowError] = []
        self.total = 0

    def add(self, error: RowError) -> None:
        self.total += 1
        if len(self.first) < MAX_REPORTED_ERRORS:
            self.first.append(error)


class _ReferenceCheck:
    """Checks that referenced keys exist; enterprise codes in batches, small tables once."""

    def __init__(self, session: Session, fmt: FileFormat, errors: _Errors):
        self.session = session
        self.fmt = fmt
        self.errors = errors
        self.known: dict[str, set[str]] = {}
        self.pending: list[tuple[int, str, str, str]] = []  # row, column, target, value
        for ref in fmt.references:
            if ref.target != "enterprise":
                model, key = REFERENCE_TABLES[ref.target]
                self.known[ref.target] = repo.all_keys(session, model, key)

    def add(self, row: ParsedRow) -> None:
        for ref in self.fmt.references:
            value = row.values.get(ref.column)
            if value is None:
                continue
            if ref.target in self.known:
                if value not in self.known[ref.target]:
                    self._missing(row.row, ref.column, ref.target, value)
            else:
                self.pending.append((row.row, ref.column, ref.target, value))
        if len(self.pending) >= LOOKUP_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        model, key = REFERENCE_TABLES["enterprise"]
        found = repo.existing_keys(self.session, model, key, (p[3] for p in self.pending))
        for row_no, column, target, value in self.pending:
            if value not in found:
                self._missing(row_no, column, target, value)
        self.pending.clear()

    def _missing(self, row_no: int, column: str, target: str, value: str) -> None:
        self.errors.add(RowError(row_no, column, f"unknown {target} {value!r}"))


def import_file(
    session: Session,
    kind: str,
    path: Path,
    *,
    actor: str = "cli",
    batch_rows: int = 5000,
    progress: PhaseProgress | None = None,
) -> ImportReport:
    fmt = FORMATS.get(kind)
    if fmt is None:
        raise ValueError(f"unknown file kind {kind!r}; one of {', '.join(FORMATS)}")
    report = ImportReport(kind)
    owners = _validate(session, fmt, path, report, progress)
    _ensure_departments_and_units(session, owners)
    model = TABLES[kind]
    before = repo.count(session, model)
    for batch in _batches(_rows_to_store(fmt, path, progress), batch_rows):
        if fmt.key is not None:
            repo.upsert(session, model, batch, fmt.key)
        else:
            repo.insert_new(session, model, batch, "row_hash")
    session.flush()
    report.new_rows = repo.count(session, model) - before
    audit.record(
        session,
        actor,
        f"import.{kind}",
        path.name,
        {"rows": report.rows, "new_rows": report.new_rows, "warnings": report.warnings[:10]},
    )
    return report


@dataclass
class _Owners:
    """Departments and supervision units named by the file (created if unknown)."""

    departments: set[str] = field(default_factory=set)
    units: dict[str, str | None] = field(default_factory=dict)


def _validate(
    session: Session,
    fmt: FileFormat,
    path: Path,
    report: ImportReport,
    progress: PhaseProgress | None,
) -> _Owners:
    errors = _Errors()
    refs = _ReferenceCheck(session, fmt, errors)
    seen_keys: set[str] = set()
    owners = _Owners()
    tick = _phase(progress, "validating")
    try:
        for row in iter_rows(fmt, path, report.warnings, tick):
            report.rows += 1
            for error in row.errors:
                errors.add(error)
            if row.errors:
                continue
            if fmt.key is not None:
                key = row.values[fmt.key]
                if key in seen_keys:
                    errors.add(RowError(row.row, fmt.key, f"{key!r} appears earlier in this file"))
                seen_keys.add(key)
            refs.add(row)
            _note_owners(fmt, row.values, owners)
        refs.flush()
    except FileRejected as exc:
        raise ImportRejected(fmt.kind, exc.errors, len(exc.errors), report.warnings) from None
    if errors.total:
        raise ImportRejected(fmt.kind, errors.first, errors.total, report.warnings)
    return owners


def _note_owners(fmt: FileFormat, values: dict[str, Any], owners: _Owners) -> None:
    if "department" in values and fmt.kind in ("inspectors", "items", "inspections"):
        owners.departments.add(values["department"])
    if fmt.kind in ("enterprises", "inspectors"):
        owners.units.setdefault(values["unit"], values["district"])


def _ensure_departments_and_units(session: Session, owners: _Owners) -> None:
    repo.insert_new(
        session, models.Department, [{"code": d} for d in sorted(owners.departments)], "code"
    )
    repo.insert_new(
        session,
        models.Unit,
        [{"code": u, "district": d} for u, d in sorted(owners.units.items())],
        "code",
    )


def _rows_to_store(
    fmt: FileFormat, path: Path, progress: PhaseProgress | None
) -> Iterator[dict[str, Any]]:
    for row in iter_rows(fmt, path, [], _phase(progress, "writing")):
        values = row.values
        if fmt.key is None:
            values = {"row_hash": event_hash(fmt, values), **values}
        yield values


def event_hash(fmt: FileFormat, values: dict[str, Any]) -> str:
    """Identity of a history event: identical rows hash alike, any difference does not."""
    text = "\x1f".join([fmt.kind, *(canonical_text(values[c]) for c in fmt.names)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def canonical_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while batch := list(islice(rows, size)):
        yield batch


def _phase(progress: PhaseProgress | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None

    def tick(done: int, total: int) -> None:
        progress(name, done, total)

    return tick
