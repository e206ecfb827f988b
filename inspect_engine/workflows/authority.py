"""Who may change what (DATA-FORMATS "Who may change what"), shared by the CLI and the API.

The enterprise directory, its history (penalties, complaints, annual reports, lists),
departments and units are the city's shared registry: an administrator imports them. A
supervisor imports items, inspectors, past inspections, leave, conflicts and tasks of his
own departments only. A row that names a code belonging to another department is refused
with its row number, and nothing of the file is written: an upsert by code would otherwise
move another department's item or inspector into his.

`principal=None` is the operator at the console (the CLI without `--as`), who acts as an
administrator: he can write to the database anyway."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from inspect_engine.errors import InvalidInput
from inspect_engine.workflows.users import Forbidden, Principal, Role, get_user, principal_of
from models import Inspector, Item, Task, Unit

# Only an administrator imports these: they change every department's frames and scores.
REGISTRY_KINDS = ("enterprises", "penalties", "complaints", "annual-reports", "lists", "holidays")
# Kinds a supervisor imports for his departments, and the codes each row names.
DEPARTMENT_KINDS = ("items", "inspectors", "inspections", "leave", "conflicts")
MAX_NAMED_ROWS = 20
# PostgreSQL advisory lock queueing departmental imports (any fixed 64-bit number).
IMPORT_LOCK_KEY = 0x1E_A0D1_1A00_0001


def acting_as(session: Session, username: str | None) -> Principal | None:
    """The CLI's `--as USER`: the rules of that user's role; None without one."""
    if username is None:
        return None
    user = get_user(session, username)
    if not user.active:
        raise InvalidInput(f"user {username!r} is deactivated")
    return principal_of(user)


def acts_as_admin(principal: Principal | None) -> bool:
    return principal is None or principal.is_admin


def check_kind(principal: Principal | None, kind: str) -> None:
    """Whether the principal may import this kind at all (before a row is read)."""
    if acts_as_admin(principal):
        return
    assert principal is not None
    if principal.role is not Role.SUPERVISOR:
        raise Forbidden(f"importing {kind} needs the role supervisor or admin")
    if kind not in DEPARTMENT_KINDS:
        raise Forbidden(
            f"{kind} belongs to the city's shared registry: only an administrator imports it"
        )


@dataclass
class RowRefusals:
    """Rows refused for naming another department's code: the first few, and a count."""

    kind: str
    named: list[str] = field(default_factory=list)
    total: int = 0

    def add(self, row: int, reason: str) -> None:
        self.total += 1
        if len(self.named) < MAX_NAMED_ROWS:
            self.named.append(f"row {row}: {reason}")

    def raise_if_any(self) -> None:
        if not self.total:
            return
        more = f"; and {self.total - len(self.named)} more" if self.total > len(self.named) else ""
        raise Forbidden(
            f"{self.kind}: {self.total} row(s) outside your departments, nothing was "
            f"imported; {'; '.join(self.named)}{more}"
        )


class DepartmentGuard:
    """Checks each batch of parsed rows against a supervisor's departments, reading the
    stored owners of the codes the rows name (before the batch is written)."""

    def __init__(self, session: Session, principal: Principal | None, kind: str):
        if kind in DEPARTMENT_KINDS:
            queue_departmental_imports(session)
        self.session = session
        self.kind = kind
        self.departments = None if acts_as_admin(principal) else principal.departments  # type: ignore[union-attr]
        self.refusals = RowRefusals(kind)

    def check(self, rows: Sequence[Any]) -> None:
        """`rows`: objects with `.row` (the row number) and `.values` (the parsed row)."""
        if self.departments is None or not rows:
            return
        values = [r.values for r in rows]
        items = _owners(self.session, Item.item_code, Item.department, _named(values, "item_code"))
        inspectors = _owners(
            self.session,
            Inspector.inspector_id,
            Inspector.department,
            _named(values, "inspector_id"),
        )
        units = _known_units(self.session, _named(values, "unit"))
        for row in rows:
            for reason in self._problems(row.values, items, inspectors, units):
                self.refusals.add(row.row, reason)

    def _problems(
        self,
        values: dict[str, Any],
        items: dict[str, str],
        inspectors: dict[str, str],
        units: set[str],
    ) -> Iterable[str]:
        mine = self.departments
        assert mine is not None
        named = values.get("department")
        if named is not None and named not in mine:
            yield f"department {named} is not yours"
        item = values.get("item_code")
        if item in items and items[item] not in mine:
            yield f"item {item} belongs to {items[item]}"
        inspector = values.get("inspector_id")
        if inspector in inspectors and inspectors[inspector] not in mine:
            yield f"inspector {inspector} belongs to {inspectors[inspector]}"
        unit = values.get("unit")
        if self.kind == "inspectors" and unit is not None and unit not in units:
            yield f"unit {unit} is not in the registry (an administrator adds units)"

    def finish(self) -> None:
        self.refusals.raise_if_any()


def queue_departmental_imports(session: Session) -> None:
    """Holds, until the transaction ends, the right to import departmental files, before
    the owners are read. PostgreSQL: without it, an item another import is creating is
    invisible to the check, and the upsert waits for that insert, then overwrites its
    department. SQLite admits one writer: the later import fails on its outdated snapshot."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


def check_task_items(
    session: Session, principal: Principal | None, rows: Sequence[tuple[int, Sequence[str]]]
) -> None:
    """Tasks: every item of a task must be of the uploader's departments, so a joint task
    needs a supervisor holding all of them (or an administrator). `rows`: (row number,
    item codes); unknown items are left to the task reader's own errors."""
    if acts_as_admin(principal):
        return
    assert principal is not None
    if principal.role is not Role.SUPERVISOR:
        raise Forbidden("uploading tasks needs the role supervisor or admin")
    owners = _owners(session, Item.item_code, Item.department, {c for _, cs in rows for c in cs})
    refusals = RowRefusals("tasks")
    for row, codes in rows:
        outside = sorted({owners[c] for c in codes if c in owners} - principal.departments)
        if outside:
            refusals.add(row, f"items of department(s) {', '.join(outside)} are not yours")
    refusals.raise_if_any()


def check_replaced_tasks(
    session: Session, principal: Principal | None, month: str, plan_id: int
) -> None:
    """Replacing a plan's tasks also concerns the departments of the tasks it replaces."""
    if acts_as_admin(principal):
        return
    assert principal is not None
    stored = session.scalars(select(Task.items).where(Task.plan_id == plan_id))
    owners = _owners(session, Item.item_code, Item.department, {c for cs in stored for c in cs})
    outside = sorted(set(owners.values()) - principal.departments)
    if outside:
        raise Forbidden(f"the plan for {month} also covers department(s) {', '.join(outside)}")


def _named(rows: Iterable[dict[str, Any]], column: str) -> set[str]:
    return {v for r in rows if (v := r.get(column)) is not None}


def _owners(session: Session, key: Any, owner: Any, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    query = select(key, owner).where(key.in_(sorted(codes)))
    return {k: d for k, d in session.execute(query).tuples()}


def _known_units(session: Session, codes: set[str]) -> set[str]:
    if not codes:
        return set()
    return set(session.scalars(select(Unit.code).where(Unit.code.in_(sorted(codes)))))
