"""Import a directory or history file: validate everything, then write everything.

All-or-nothing per file: the first pass validates every row (fields, duplicates,
references) and writes nothing; the second pass writes in batches. The caller owns the
transaction, so a failure in the second pass rolls back the whole file too."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

import models
from inspect_engine import faults
from inspect_engine.errors import InvalidInput
from inspect_engine.formats.reader import FileRejected, ParsedRow, RowError, iter_rows
from inspect_engine.formats.spec import FORMATS, FileFormat
from inspect_engine.workflows import audit, holidays, staffing
from inspect_engine.workflows.authority import DepartmentGuard, check_kind
from inspect_engine.workflows.changes import ChangeList
from inspect_engine.workflows.columns import SNAPSHOT, refresh_directory_snapshot
from inspect_engine.workflows.users import Principal
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
    "holidays": models.CalendarDay,
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
    team_events: int = 0  # changes recorded against frozen plans' staffing
    due_dates_changed: int = 0  # publications' deadlines recounted on an imported year
    changed_rows: int = 0  # stored rows whose values the file changed


class _Errors:
    def __init__(self) -> None:
        self.first: list[RowError] = []
        self.total = 0

    def add(self, error: RowError) -> None:
        self.total += 1
        if len(self.first) < MAX_REPORTED_ERRORS:
            self.first.append(error)


class _ReferenceCheck:
    """Checks that referenced keys exist: enterprise codes a batch at a time, the small
    tables (items, inspectors) loaded once."""

    def __init__(self, session: Session, fmt: FileFormat, errors: _Errors):
        self.session = session
        self.fmt = fmt
        self.errors = errors
        self.known: dict[str, set[str]] = {}
        for ref in fmt.references:
            if ref.target != "enterprise":
                model, key = REFERENCE_TABLES[ref.target]
                self.known[ref.target] = repo.all_keys(session, model, key)

    def check(self, rows: list[ParsedRow]) -> None:
        lookups = [r for r in self.fmt.references if r.target == "enterprise"]
        found: set[str] = set()
        if lookups:
            model, key = REFERENCE_TABLES["enterprise"]
            wanted = (row.values[r.column] for row in rows for r in lookups)
            found = repo.existing_keys(self.session, model, key, wanted)
        for row in rows:
            for ref in self.fmt.references:
                value = row.values.get(ref.column)
                if value is None:
                    continue
                known = self.known.get(ref.target, found)
                if value not in known:
                    self.errors.add(
                        RowError(row.row, ref.column, f"unknown {ref.target} {value!r}")
                    )


STAFFING_KINDS = ("conflicts", "leave", "inspectors")


def import_file(
    session: Session,
    kind: str,
    path: Path,
    *,
    actor: str = "cli",
    principal: Principal | None = None,
    batch_rows: int = 5000,
    progress: PhaseProgress | None = None,
) -> ImportReport:
    """One streaming pass: rows are validated a batch at a time and written while the file
    is clean; after the first error nothing more is written and the whole file is
    rejected at the end, when the caller rolls the transaction back.

    `principal` is who imports (None: the operator, as an administrator): a supervisor's
    rows that name another department's codes are refused (Forbidden, with row numbers)."""
    fmt = FORMATS.get(kind)
    if fmt is None:
        raise InvalidInput(f"unknown file kind {kind!r}; one of {', '.join(FORMATS)}")
    check_kind(principal, kind)
    guard = DepartmentGuard(session, principal, kind)
    changes = ChangeList(fmt, TABLES[kind], canonical_text, event_hash)
    report = ImportReport(kind)
    model = TABLES[kind]
    errors = _Errors()
    refs = _ReferenceCheck(session, fmt, errors)
    seen_keys: set[str] = set()
    owners = _Owners()
    before = repo.count(session, model)
    changes.empty_before = before == 0
    if kind == "enterprises":  # first: on PostgreSQL this also queues concurrent imports
        repo.bump_revision(session, SNAPSHOT)
    batch: list[ParsedRow] = []
    staffing_rows: list[dict[str, Any]] = []  # rows that may change a frozen plan's teams
    year_limits = holidays.YearLimits()

    def flush() -> None:
        refs.check(batch)
        guard.check(batch)  # before the write: the owners stored until now
        if errors.total == 0 and guard.refusals.total == 0:
            changes.observe(session, batch)  # before the write: the values it replaces
            _write(session, fmt, model, batch, owners)
            if kind in STAFFING_KINDS:
                staffing_rows.extend(row.values for row in batch)
            faults.checkpoint("import.after_batch")
        batch.clear()

    try:
        for row in iter_rows(fmt, path, report.warnings, _phase(progress, "importing")):
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
            if kind == "holidays":
                too_many = year_limits.problem(row.values["date"], row.values["kind"])
                if too_many:
                    errors.add(RowError(row.row, "kind", too_many))
            batch.append(row)
            if len(batch) >= batch_rows:
                flush()
        flush()
    except FileRejected as exc:
        guard.finish()
        raise ImportRejected(fmt.kind, exc.errors, len(exc.errors), report.warnings) from None
    guard.finish()
    if errors.total:
        raise ImportRejected(fmt.kind, errors.first, errors.total, report.warnings)
    session.flush()
    report.new_rows = repo.count(session, model) - before
    if kind == "enterprises":
        # the month's freeze reads it instead of the table; a few rows are patched in
        refresh_directory_snapshot(session, written=seen_keys)
    # After a freeze, a change to the staffing reaches the teams only as a recorded event.
    report.team_events = staffing.record_directory_changes(
        session, kind, staffing_rows, actor=actor, source=f"import {kind} {path.name}"
    )
    log = changes.store(session, path.name, actor)
    report.changed_rows = len(changes.changed)
    details: dict[str, Any] = {"rows": report.rows, "new_rows": report.new_rows}
    if kind == "holidays":
        years = sorted(owners.years)
        report.due_dates_changed = holidays.recompute_due_dates(session, years)
        # a working day of a frozen month's window that the notice makes a holiday moves
        # that day's visits (ie-teams-v2): an event of each open plan
        report.team_events += staffing.record_holiday_changes(
            session, holidays.calendar(session), actor=actor, source=f"import holidays {path.name}"
        )
        details |= {"years": years, "due_dates_changed": report.due_dates_changed}
    audit.record(
        session,
        actor,
        f"import.{kind}",
        path.name,
        details | {"warnings": report.warnings[:10], **changes.summary(log)},
    )
    return report


@dataclass
class _Owners:
    """Departments and supervision units named by the file (created if unknown)."""

    departments: set[str] = field(default_factory=set)
    units: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)  # calendar years replaced (holidays)


def _write(
    session: Session, fmt: FileFormat, model: type[Base], rows: list[ParsedRow], owners: _Owners
) -> None:
    _ensure_departments_and_units(session, fmt, rows, owners)
    values = [row.values for row in rows]
    if fmt.kind == "holidays":  # an imported year replaces all that was stored for it
        holidays.replace_years(session, values, owners.years)
    elif fmt.key is not None:
        repo.upsert(session, model, values, fmt.key)
    else:
        repo.insert_new(
            session, model, [{"row_hash": event_hash(fmt, v), **v} for v in values], "row_hash"
        )


def _ensure_departments_and_units(
    session: Session, fmt: FileFormat, rows: list[ParsedRow], owners: _Owners
) -> None:
    if "department" in fmt.names:
        new = {r.values["department"] for r in rows} - owners.departments
        repo.insert_new(session, models.Department, [{"code": d} for d in sorted(new)], "code")
        owners.departments |= new
    if fmt.kind in ("enterprises", "inspectors"):
        units = {r.values["unit"]: r.values["district"] for r in rows}
        new_units = sorted(set(units) - owners.units)
        rows_to_add = [{"code": u, "district": units[u]} for u in new_units]
        repo.insert_new(session, models.Unit, rows_to_add, "code")
        owners.units |= set(new_units)


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


def _phase(progress: PhaseProgress | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None

    def tick(done: int, total: int) -> None:
        progress(name, done, total)

    return tick
