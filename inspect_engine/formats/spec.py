"""Column specifications of every import file (DATA-FORMATS.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from inspect_engine.formats import fields as f

ENTITY_TYPES = ("company", "individual", "cooperative", "branch", "foreign_rep")
STATUSES = ("active", "revoked", "cancelled", "moved_out")
RESULT_CODES = (
    "no_problem",
    "not_disclosed",
    "false_disclosure",
    "unreachable",
    "corrected",
    "pending",
    "non_cooperation",
    "no_activity",
    "closed",
    "deregistered",
)
SEVERITIES = ("minor", "general", "serious")
LISTS = ("abnormal", "serious_violation")
RAISED_BY = ("inspector", "enterprise", "supervisor")
MODES = ("cross_office", "local", "any")


@dataclass(frozen=True)
class Column:
    name: str
    parse: f.Parser
    required: bool = True
    default: object = None  # value when the cell is empty or the column absent
    numeric: bool = False  # holds numbers: a CSV export writes "-23.1" unescaped

    @property
    def free_text(self) -> bool:
        """Names, addresses, titles, notes, reasons: spaces normalised on import; codes,
        dates and numbers keep their strict rules (a space in them is an error)."""
        return isinstance(self.parse, f.FreeText)


@dataclass(frozen=True)
class Reference:
    """A column that must name a row already in the database."""

    column: str
    target: str  # enterprise | inspector | item


@dataclass(frozen=True)
class FileFormat:
    kind: str
    columns: tuple[Column, ...]
    # Directories upsert on their natural key; history files are events (key None).
    key: str | None = None
    references: tuple[Reference, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


ENTERPRISES = FileFormat(
    "enterprises",
    (
        Column("credit_code", f.credit_code),
        Column("name", f.text(200)),
        Column("entity_type", f.enum(*ENTITY_TYPES)),
        Column("industry", f.industry),
        Column("district", f.district),
        Column("unit", f.code()),
        Column("registered_on", f.iso_date),
        Column("registered_capital", f.decimal_at_least(Decimal(0)), required=False, numeric=True),
        Column("status", f.enum(*STATUSES)),
        Column("contact", f.contact, required=False),  # never public, never to inspectors
        Column("licences", f.token_list, required=False),
        Column("tags", f.token_list, required=False),
        Column("address", f.text(300), required=False),
        Column("lat", f.number_between(-90.0, 90.0), required=False, numeric=True),
        Column("lon", f.number_between(-180.0, 180.0), required=False, numeric=True),
    ),
    key="credit_code",
)

INSPECTORS = FileFormat(
    "inspectors",
    (
        Column("inspector_id", f.code()),
        Column("name", f.text(100)),
        Column("department", f.code()),
        Column("unit", f.code()),
        Column("district", f.district),
        Column("qualifications", f.token_list, required=False),
        Column("certificate_expires", f.iso_date),
        Column("lead", f.boolean, required=False, default=False),
        Column("monthly_capacity", f.integer(0, 1000), numeric=True),
        Column("active", f.boolean, required=False, default=True),
    ),
    key="inspector_id",
)

ITEMS = FileFormat(
    "items",
    (
        Column("item_code", f.code(64)),
        Column("department", f.code()),
        Column("title", f.text(300)),
        Column("legal_basis", f.text(2000)),
        Column("kind", f.enum("key", "general")),
        Column("entity_types", f.enum_list(*ENTITY_TYPES), required=False),
        Column("industries", f.industry_prefix_list, required=False),
        Column("licences", f.token_list, required=False),
        Column("qualification", f.text(64), required=False),
        # The law asks for at least two inspectors (行政处罚法 Art. 42).
        Column("min_inspectors", f.integer(2, 20), required=False, default=2, numeric=True),
    ),
    key="item_code",
)

INSPECTIONS = FileFormat(
    "inspections",
    (
        Column("credit_code", f.credit_code),
        Column("inspected_on", f.iso_date),
        Column("department", f.code()),
        Column("item_code", f.code(64), required=False),
        Column("inspector_id", f.code(), required=False),
        Column("result", f.enum(*RESULT_CODES)),
        Column("inclusion_probability", f.probability, required=False, numeric=True),
    ),
    references=(
        Reference("credit_code", "enterprise"),
        Reference("item_code", "item"),
        Reference("inspector_id", "inspector"),
    ),
)

PENALTIES = FileFormat(
    "penalties",
    (
        Column("credit_code", f.credit_code),
        Column("decided_on", f.iso_date),
        Column("severity", f.enum(*SEVERITIES)),
        Column("amount", f.decimal_at_least(Decimal(0)), required=False, numeric=True),
    ),
    references=(Reference("credit_code", "enterprise"),),
)

COMPLAINTS = FileFormat(
    "complaints",
    (
        Column("credit_code", f.credit_code),
        Column("received_on", f.iso_date),
        Column("category", f.text(64)),
        Column("substantiated", f.boolean),
    ),
    references=(Reference("credit_code", "enterprise"),),
)

ANNUAL_REPORTS = FileFormat(
    "annual-reports",
    (
        Column("credit_code", f.credit_code),
        Column("year", f.integer(1980, 2100), numeric=True),
        Column("filed_on", f.iso_date, required=False),
    ),
    references=(Reference("credit_code", "enterprise"),),
)

LISTS_FORMAT = FileFormat(
    "lists",
    (
        Column("credit_code", f.credit_code),
        Column("list", f.enum(*LISTS)),
        Column("listed_on", f.iso_date),
        Column("removed_on", f.iso_date, required=False),
    ),
    references=(Reference("credit_code", "enterprise"),),
)

LEAVE = FileFormat(
    "leave",
    (
        Column("inspector_id", f.code()),
        Column("starts_on", f.iso_date),
        Column("ends_on", f.iso_date),
        Column("reason", f.text(200), required=False),
    ),
    references=(Reference("inspector_id", "inspector"),),
)

CONFLICTS = FileFormat(
    "conflicts",
    (
        Column("inspector_id", f.code()),
        Column("credit_code", f.credit_code),
        Column("reason", f.text(300)),
        Column("raised_by", f.enum(*RAISED_BY)),
        Column("raised_on", f.iso_date),
    ),
    references=(Reference("inspector_id", "inspector"), Reference("credit_code", "enterprise")),
)

TASKS = FileFormat(
    "tasks",
    (
        Column("task_code", f.url_code(64)),
        Column("title", f.text(300)),
        Column("items", f.code_list),
        Column("targeted", f.boolean, required=False, default=False),
        Column("entity_types", f.enum_list(*ENTITY_TYPES), required=False),
        Column("industries", f.industry_prefix_list, required=False),
        Column("districts", f.district_list, required=False),
        Column("licences", f.token_list, required=False),
        Column("ratio_A", f.ratio, numeric=True),
        Column("ratio_B", f.ratio, numeric=True),
        Column("ratio_C", f.ratio, numeric=True),
        Column("ratio_D", f.ratio, numeric=True),
        Column("floor", f.ratio, required=False, default=Decimal("0.002"), numeric=True),
        Column("mode", f.enum(*MODES), required=False, default="cross_office"),
        Column("team_size", f.integer(2, 20), required=False, default=2, numeric=True),
        Column("min_ratio", f.ratio, required=False, default=None, numeric=True),
    ),
    key="task_code",
    references=(),
)

# The official calendar of a year (国务院办公厅 放假安排): the days that differ from the
# Monday–Friday week. An administrator's file; it overrides the package for its years.
HOLIDAYS = FileFormat(
    "holidays",
    (
        Column("date", f.iso_date),
        Column("kind", f.enum("holiday", "workday")),
        Column("name", f.text(100)),
    ),
    key="date",
)

FORMATS: dict[str, FileFormat] = {
    fmt.kind: fmt
    for fmt in (
        ENTERPRISES,
        INSPECTORS,
        ITEMS,
        INSPECTIONS,
        PENALTIES,
        COMPLAINTS,
        ANNUAL_REPORTS,
        LISTS_FORMAT,
        LEAVE,
        CONFLICTS,
        HOLIDAYS,
    )
}


def cross_field_problems(kind: str, row: dict[str, object]) -> list[tuple[str, str]]:
    """Checks that involve two columns of one row: (column, reason)."""
    if kind == "holidays":
        return _calendar_day_problems(row)
    order = {"leave": ("starts_on", "ends_on"), "lists": ("listed_on", "removed_on")}
    if kind in order:
        first, last = order[kind]
        start, end = row.get(first), row.get(last)
        if start is not None and end is not None and end < start:  # type: ignore[operator]
            return [(last, f"{end} is before {first} {start}")]
    return []


def _calendar_day_problems(row: dict[str, object]) -> list[tuple[str, str]]:
    """A row must differ from the Monday–Friday week: a listed holiday on a weekend, or a
    listed working day on a weekday, is a mistake in the file (often a shifted date)."""
    day, kind = row.get("date"), row.get("kind")
    if not isinstance(day, date) or kind is None:
        return []
    weekday = day.weekday() < 5
    if kind == "holiday" and not weekday:
        return [("date", f"{day} is a {day:%A}, a day off anyway: list only weekday holidays")]
    if kind == "workday" and weekday:
        return [("date", f"{day} is a {day:%A}, a working day anyway: list only worked weekends")]
    return []
