"""Frames (抽取范围 / 名单库): the enterprises a task may draw, each with its λ.

A task (抽查任务) brings items, optional targeted filters, a ratio per risk class and a
floor. `build_frame` turns the city's enterprise columns plus one task into its frame:

1. scope: enterprises to which at least one of the task's items applies;
2. filters: for a targeted (定向) task, only those passing every filter;
3. exclusions, in the fixed order of `EXCLUSION_REASONS`, each excluded enterprise keeping
   the first reason that applies; they are recorded apart from the frame;
4. λ: the ratio of the enterprise's risk class (unclassed counts as B), never below the
   floor, capped at 1 (only a task with a key item may reach 1), scaled so that the frame's
   λ sum to a whole n ≥ 1; these are the promised probabilities (targets), and where the
   exact Pareto πps probability π of a class misses its target by more than 1 % the
   ranking λ are adjusted (`inclusion.calibrate`). Each distinct λ's π is recorded.

Everything is columnar: categorical columns are small integer codes into a vocabulary, so
each rule is decided once per distinct value and then looked up for millions of rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from inspect_engine.sampling.inclusion import FloorError, calibrate, whole_targets
from inspect_engine.sampling.protocol import format_lambda

RISK_CLASSES: tuple[str, ...] = ("A", "B", "C", "D")
UNCLASSED_AS = "B"  # an enterprise not yet classed is sampled as general risk (一般)
ENTITY_TYPES: tuple[str, ...] = ("company", "individual", "cooperative", "branch", "foreign_rep")
STATUSES: tuple[str, ...] = ("active", "revoked", "cancelled", "moved_out")

# The order in which exclusions are tested; an enterprise keeps the first that applies.
EXCLUSION_REASONS: tuple[str, ...] = (
    "status_not_active",
    "inspected_recently_by_department",
    "yearly_cap_reached",
    "grace_period_new_enterprise",
)

DEFAULT_FLOOR = 0.002
MAX_DECIMALS = 9  # ie-draw-v1 writes λ with at most 9 decimals
MAX_TAGS = 64  # licences / tags are bit masks in one uint64 per enterprise

_INDUSTRY_PREFIX = re.compile(r"[A-T][0-9]{0,2}")  # GB/T 4754-2017: section, or division
_DISTRICT = re.compile(r"[0-9]{6}")  # GB/T 2260 county-level code

BoolArray = NDArray[np.bool_]
IndexArray = NDArray[np.intp]


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True, eq=False)
class Coded:
    """A categorical column: `codes[i]` indexes `vocabulary` (like a pandas Categorical).

    Rules are evaluated once per vocabulary value and looked up per row, which is what
    makes a 2.7-million-row frame cheap.
    """

    codes: NDArray[np.int32]
    vocabulary: tuple[str, ...]

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes)
        if codes.ndim != 1 or not np.issubdtype(codes.dtype, np.integer):
            raise ValueError("Coded.codes must be a one-dimensional integer array")
        vocabulary = tuple(str(v) for v in self.vocabulary)
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("Coded.vocabulary has repeated values")
        if codes.size and (int(codes.min()) < 0 or int(codes.max()) >= len(vocabulary)):
            raise ValueError("Coded.codes point outside the vocabulary")
        object.__setattr__(self, "codes", codes.astype(np.int32, copy=False))
        object.__setattr__(self, "vocabulary", vocabulary)

    @classmethod
    def encode(cls, values: ArrayLike) -> Coded:
        """Encode one string per row (e.g. a database column)."""
        vocabulary, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
        return cls(codes.astype(np.int32), tuple(vocabulary.tolist()))

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def where(self, predicate: Callable[[str], bool], rows: IndexArray | None = None) -> BoolArray:
        """Rows (all, or the given ones) whose value satisfies `predicate`."""
        lut = np.fromiter((predicate(v) for v in self.vocabulary), bool, len(self.vocabulary))
        codes = self.codes if rows is None else self.codes[rows]
        return lut[codes]

    def isin(self, wanted: Collection[str], rows: IndexArray | None = None) -> BoolArray:
        return self.where(lambda value: value in wanted, rows)

    def value(self, row: int) -> str:
        return self.vocabulary[int(self.codes[row])]


@dataclass(frozen=True, eq=False)
class TagSet:
    """A set of tags per row (licences, supervision tags) as uint64 bit masks."""

    bits: NDArray[np.uint64]
    vocabulary: tuple[str, ...]

    def __post_init__(self) -> None:
        bits = np.asarray(self.bits, dtype=np.uint64)
        if bits.ndim != 1:
            raise ValueError("TagSet.bits must be one-dimensional")
        vocabulary = tuple(str(v) for v in self.vocabulary)
        if len(vocabulary) > MAX_TAGS:
            raise ValueError(
                f"at most {MAX_TAGS} distinct tags fit a TagSet, got {len(vocabulary)}"
            )
        if len(set(vocabulary)) != len(vocabulary):
            raise ValueError("TagSet.vocabulary has repeated values")
        object.__setattr__(self, "bits", bits)
        object.__setattr__(self, "vocabulary", vocabulary)

    @classmethod
    def empty(cls, size: int) -> TagSet:
        return cls(np.zeros(size, np.uint64), ())

    @classmethod
    def from_cells(cls, cells: Iterable[str | Iterable[str] | None]) -> TagSet:
        """One cell per row: a ';'-list as in the import files, an iterable, or None."""
        vocabulary: dict[str, int] = {}
        seen: dict[str, int] = {}  # many rows share a cell: parse each distinct text once
        out: list[int] = []
        for cell in cells:
            if cell is None:
                out.append(0)
                continue
            if isinstance(cell, str):
                if cell not in seen:
                    seen[cell] = _tag_bits(cell.split(";"), vocabulary)
                out.append(seen[cell])
            else:
                out.append(_tag_bits(cell, vocabulary))
        return cls(np.array(out, dtype=np.uint64), tuple(vocabulary))

    @classmethod
    def from_pairs(cls, size: int, rows: ArrayLike, tags: ArrayLike) -> TagSet:
        """From (row, tag) pairs, e.g. a normalised licence table joined to the rows."""
        row_index = np.asarray(rows, dtype=np.intp)
        tag_coded = Coded.encode(tags) if np.size(tags) else Coded(np.zeros(0, np.int32), ())
        if row_index.shape != tag_coded.codes.shape:
            raise ValueError("TagSet.from_pairs needs as many rows as tags")
        if row_index.size and (row_index.min() < 0 or row_index.max() >= size):
            raise ValueError("TagSet.from_pairs: a row index is outside the columns")
        bits = np.zeros(size, np.uint64)
        flags = np.left_shift(np.uint64(1), tag_coded.codes.astype(np.uint64))
        np.bitwise_or.at(bits, row_index, flags)
        return cls(bits, tag_coded.vocabulary)

    def __len__(self) -> int:
        return int(self.bits.shape[0])

    def mask_of(self, wanted: Collection[str]) -> np.uint64:
        bits = 0
        for position, tag in enumerate(self.vocabulary):
            if tag in wanted:
                bits |= 1 << position
        return np.uint64(bits)

    def has_any(self, wanted: Collection[str], rows: IndexArray | None = None) -> BoolArray:
        """Rows holding at least one of `wanted` (a tag nobody holds matches nobody)."""
        bits = self.bits if rows is None else self.bits[rows]
        holds: BoolArray = np.bitwise_and(bits, self.mask_of(wanted)) != 0
        return holds

    def tags(self, row: int) -> frozenset[str]:
        value = int(self.bits[row])
        return frozenset(tag for i, tag in enumerate(self.vocabulary) if value >> i & 1)


def _tag_bits(tags: Iterable[str], vocabulary: dict[str, int]) -> int:
    bits = 0
    for raw in tags:
        tag = raw.strip()
        if not tag:
            continue
        if tag not in vocabulary:
            if len(vocabulary) == MAX_TAGS:
                raise ValueError(f"more than {MAX_TAGS} distinct tags")
            vocabulary[tag] = len(vocabulary)
        bits |= 1 << vocabulary[tag]
    return bits


@dataclass(frozen=True, eq=False)
class InspectionHistory:
    """What the exclusions need from past inspections, one value per enterprise.

    Every inspection counts: random or not, complaint-driven, special campaigns, any
    department (the caps are about the enterprise's total burden).
    """

    year: int  # the calendar year that `inspections_this_year` counts
    inspections_this_year: NDArray[np.int32]
    # department -> last inspection day by that department (NaT: never). A department the
    # task uses must be present: an all-NaT array says "never", a missing key is an error.
    last_inspected_on: Mapping[str, NDArray[np.datetime64]]

    def __post_init__(self) -> None:
        counts = np.asarray(self.inspections_this_year)
        if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
            raise ValueError("inspections_this_year must be a one-dimensional integer array")
        if counts.size and int(counts.min()) < 0:
            raise ValueError("inspections_this_year cannot be negative")
        last = {}
        for department, days in self.last_inspected_on.items():
            array = np.asarray(days, dtype="datetime64[D]")
            if array.shape != counts.shape:
                raise ValueError(f"last_inspected_on[{department!r}] has the wrong length")
            last[department] = array
        object.__setattr__(self, "inspections_this_year", counts.astype(np.int32, copy=False))
        object.__setattr__(self, "last_inspected_on", MappingProxyType(last))

    @classmethod
    def from_events(
        cls,
        credit_code: ArrayLike,
        year: int,
        event_credit_code: ArrayLike,
        inspected_on: ArrayLike,
        department: ArrayLike,
        departments: Iterable[str] = (),
    ) -> InspectionHistory:
        """Fold inspection events (inspections.csv rows) into per-enterprise columns.

        `credit_code` is the directory's sorted code column; `departments` lists the
        departments that must have a column even without any event.
        """
        rows = rows_of(np.asarray(credit_code, dtype=str), event_credit_code)
        days = np.asarray(inspected_on, dtype="datetime64[D]")
        dept = np.asarray(department, dtype=str)
        if not rows.shape == days.shape == dept.shape:
            raise ValueError("inspection events need one date and one department per code")
        size = int(np.asarray(credit_code).shape[0])
        in_year = days.astype("datetime64[Y]").astype(np.int64) + 1970 == year
        counts = np.bincount(rows[in_year], minlength=size).astype(np.int32)
        last: dict[str, NDArray[np.datetime64]] = {}
        for name in sorted(set(dept.tolist()) | set(departments)):
            # NaT is the smallest int64, so a running maximum on the int view keeps it
            # exactly where no event exists.
            latest = np.full(size, np.datetime64("NaT"), dtype="datetime64[D]").view(np.int64)
            mine = dept == name
            np.maximum.at(latest, rows[mine], days[mine].view(np.int64))
            last[name] = latest.view("datetime64[D]")
        return cls(year, counts, last)


@dataclass(frozen=True, eq=False)
class EnterpriseColumns:
    """The inspection-object directory (检查对象名录库) as aligned columns, one row per
    enterprise, sorted by credit code (byte order) so that every frame comes out sorted.

    The lead fills it from the database once per month; build categorical columns with
    `Coded.encode`, tag columns with `TagSet.from_cells` / `TagSet.from_pairs`, history
    with `InspectionHistory.from_events`.
    """

    credit_code: NDArray[np.str_]  # '<U18', strictly increasing
    status: Coded  # active | revoked | cancelled | moved_out
    entity_type: Coded  # company | individual | cooperative | branch | foreign_rep
    industry: Coded  # GB/T 4754 division, e.g. 'H62'
    district: Coded  # GB/T 2260, e.g. '440106'
    unit: Coded  # supervision office (属地监管所)
    registered_on: NDArray[np.datetime64]  # datetime64[D]
    licences: TagSet
    risk_class: NDArray[np.str_]  # 'A'..'D', '' for unclassed
    history: InspectionHistory
    tags: TagSet | None = None  # supervision tags; not used by frames yet

    def __post_init__(self) -> None:
        codes = np.asarray(self.credit_code, dtype=str)
        if codes.ndim != 1:
            raise ValueError("credit_code must be one-dimensional")
        size = codes.shape[0]
        if size and codes.dtype.itemsize // 4 != 18:
            raise ValueError("credit codes have 18 characters")
        if size > 1 and not bool((codes[1:] > codes[:-1]).all()):
            raise ValueError("credit_code must be sorted ascending without repeats")
        object.__setattr__(self, "credit_code", codes)
        object.__setattr__(
            self, "registered_on", np.asarray(self.registered_on, dtype="datetime64[D]")
        )
        object.__setattr__(self, "risk_class", _risk_class_column(self.risk_class))
        lengths = {
            "status": len(self.status),
            "entity_type": len(self.entity_type),
            "industry": len(self.industry),
            "district": len(self.district),
            "unit": len(self.unit),
            "registered_on": self.registered_on.shape[0],
            "licences": len(self.licences),
            "risk_class": self.risk_class.shape[0],
            "history": self.history.inspections_this_year.shape[0],
        }
        if self.tags is not None:
            lengths["tags"] = len(self.tags)
        wrong = [name for name, length in lengths.items() if length != size]
        if wrong:
            raise ValueError(f"columns {wrong} do not have {size} rows like credit_code")

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, Any]], year: int, departments: Iterable[str] = ()
    ) -> EnterpriseColumns:
        """Columns from one mapping per enterprise, in any order (tests, small cities,
        simulations; a city-sized load should fill the columns directly).

        Keys as in enterprises.csv (credit_code, status, entity_type, industry, district,
        unit, registered_on, optional licences and tags as ';'-text or iterables) plus
        `risk_class` ('' or missing: unclassed), `inspections_this_year` (default 0) and
        `last_inspected_on` ({department: date}); `departments` get a column even if empty.
        """
        rows = sorted(records, key=lambda record: str(record["credit_code"]))
        names = sorted(set(departments).union(*(r.get("last_inspected_on", {}) for r in rows)))
        last = {
            name: np.array(
                [r.get("last_inspected_on", {}).get(name) or "NaT" for r in rows],
                dtype="datetime64[D]",
            )
            for name in names
        }
        history = InspectionHistory(
            year,
            np.array([r.get("inspections_this_year", 0) for r in rows], dtype=np.int32),
            last,
        )
        tags = [r.get("tags") for r in rows]
        return cls(
            credit_code=np.array([r["credit_code"] for r in rows], dtype=str),
            status=Coded.encode([r["status"] for r in rows]),
            entity_type=Coded.encode([r["entity_type"] for r in rows]),
            industry=Coded.encode([r["industry"] for r in rows]),
            district=Coded.encode([r["district"] for r in rows]),
            unit=Coded.encode([r["unit"] for r in rows]),
            registered_on=np.array([r["registered_on"] for r in rows], dtype="datetime64[D]"),
            licences=TagSet.from_cells(r.get("licences") for r in rows),
            risk_class=np.array([r.get("risk_class") or "" for r in rows], dtype=str),
            history=history,
            tags=TagSet.from_cells(tags) if any(t is not None for t in tags) else None,
        )

    def __len__(self) -> int:
        return int(self.credit_code.shape[0])

    def rows_of(self, codes: ArrayLike) -> IndexArray:
        """Row of each credit code; unknown codes are an error."""
        return rows_of(self.credit_code, codes)


def rows_of(sorted_codes: NDArray[np.str_], codes: ArrayLike) -> IndexArray:
    wanted = np.asarray(codes, dtype=str).reshape(-1)
    rows = np.searchsorted(sorted_codes, wanted)
    found = rows < sorted_codes.shape[0]
    found[found] = sorted_codes[rows[found]] == wanted[found]
    if not found.all():
        unknown = wanted[~found][:5].tolist()
        raise ValueError(f"credit codes not in the directory: {unknown}")
    return rows.astype(np.intp)


def _risk_class_column(values: ArrayLike) -> NDArray[np.str_]:
    classes = np.asarray(values, dtype=str)
    if classes.ndim != 1:
        raise ValueError("risk_class must be one-dimensional")
    if classes.dtype.itemsize > 4 and int(np.char.str_len(classes).max()) > 1:
        raise ValueError("risk_class holds 'A', 'B', 'C', 'D' or '' (unclassed)")
    classes = classes.astype("<U1")
    valid = classes == ""
    for name in RISK_CLASSES:
        valid |= classes == name
    if not valid.all():
        bad = sorted(set(classes[~valid].tolist()))
        raise ValueError(f"risk_class values not in A, B, C, D or '': {bad}")
    return classes


# --------------------------------------------------------------------------- tasks


class ItemKind(StrEnum):
    KEY = "key"  # 重点检查事项: no upper ratio cap
    GENERAL = "general"  # 一般检查事项: strictly limited, never certain


class InspectorMode(StrEnum):
    CROSS_OFFICE = "cross_office"  # 所所交叉: no inspector from the enterprise's own office
    LOCAL = "local"
    LOCAL_CROSS = "local_cross"  # a visit merging local and cross_office tasks: both rules
    ANY = "any"


def _task_mode(value: str, what: str) -> InspectorMode:
    """A task's own mode: local_cross only arises when a visit merges tasks."""
    allowed = [m for m in InspectorMode if m is not InspectorMode.LOCAL_CROSS]
    if value not in allowed:
        names = ", ".join(m.value for m in allowed)
        raise ValueError(f"{what} must be one of {names}, got {value!r}")
    return InspectorMode(value)


def _enum(kind: type[ItemKind] | type[InspectorMode], value: str, what: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"{what} must be one of {allowed}, got {value!r}") from None


def _tag_list(
    what: str, values: Iterable[str] | str, pattern: re.Pattern[str] | None = None
) -> tuple[str, ...]:
    """Normalise a list field (';'-text or iterable) to a sorted tuple without repeats."""
    raw = values.split(";") if isinstance(values, str) else list(values)
    cleaned = sorted({str(v).strip() for v in raw} - {""})
    if pattern is not None:
        bad = [v for v in cleaned if not pattern.fullmatch(v)]
        if bad:
            raise ValueError(f"{what}: not valid codes: {bad}")
    return tuple(cleaned)


def _entity_types(what: str, values: Iterable[str] | str) -> tuple[str, ...]:
    cleaned = _tag_list(what, values)
    bad = [v for v in cleaned if v not in ENTITY_TYPES]
    if bad:
        raise ValueError(f"{what}: unknown entity types {bad}; known: {', '.join(ENTITY_TYPES)}")
    return cleaned


def _is_whole(value: object) -> bool:
    """A whole number, e.g. from a database row (numpy integers too), not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _decimal(what: str, value: object) -> Decimal:
    """A ratio or floor as an exact decimal of at most 9 places (so λ spells exactly)."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}")
    try:
        number = Decimal(str(value).strip()).normalize()
    except InvalidOperation:
        raise ValueError(f"{what} must be a decimal number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be finite, got {value!r}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValueError(f"{what} = {value!r} has more than {MAX_DECIMALS} decimals")
    return number


@dataclass(frozen=True)
class ItemScope:
    """One item of the inspection-item list (抽查事项清单) and the enterprises it applies to.

    Empty `entity_types` / `industries` mean all; empty `licences` means none required;
    otherwise the enterprise must match each given condition (licences: any of them).
    """

    item_code: str
    department: str
    kind: ItemKind | str
    entity_types: Iterable[str] | str = ()
    industries: Iterable[str] | str = ()  # GB/T 4754 prefixes: 'F52', 'H'
    licences: Iterable[str] | str = ()
    qualification: str | None = None  # what an inspector needs for this item
    min_inspectors: int = 2

    def __post_init__(self) -> None:
        if not str(self.item_code).strip():
            raise ValueError("an item needs an item_code")
        where = f"item {self.item_code}"
        if not str(self.department).strip():
            raise ValueError(f"{where}: department is empty")
        set_ = object.__setattr__
        set_(self, "kind", _enum(ItemKind, str(self.kind), f"{where}: kind"))
        set_(self, "entity_types", _entity_types(f"{where}: entity_types", self.entity_types))
        set_(
            self,
            "industries",
            _tag_list(f"{where}: industries", self.industries, _INDUSTRY_PREFIX),
        )
        set_(self, "licences", _tag_list(f"{where}: licences", self.licences))
        if self.qualification is not None and not self.qualification.strip():
            set_(self, "qualification", None)
        if not _is_whole(self.min_inspectors) or self.min_inspectors < 2:
            raise ValueError(
                f"{where}: min_inspectors is {self.min_inspectors!r}; an inspection needs"
                " at least 2 certified inspectors (行政处罚法 Art. 42)"
            )


@dataclass(frozen=True)
class TaskFilters:
    """The filters of a targeted (定向) task; empty lists restrict nothing."""

    entity_types: Iterable[str] | str = ()
    industries: Iterable[str] | str = ()
    districts: Iterable[str] | str = ()
    licences: Iterable[str] | str = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "entity_types", _entity_types("filter entity_types", self.entity_types))
        set_(self, "industries", _tag_list("filter industries", self.industries, _INDUSTRY_PREFIX))
        set_(self, "districts", _tag_list("filter districts", self.districts, _DISTRICT))
        set_(self, "licences", _tag_list("filter licences", self.licences))

    def is_empty(self) -> bool:
        return not (self.entity_types or self.industries or self.districts or self.licences)

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "entity_types": list(self.entity_types),
            "industries": list(self.industries),
            "districts": list(self.districts),
            "licences": list(self.licences),
        }


@dataclass(frozen=True)
class TaskSpec:
    """A sampling task (抽查任务): one frame, one draw record.

    `ratios` maps each risk class A..D to its target inclusion probability, in (0, 1].
    Only a task with at least one key item (重点) may set a ratio of 1 (every enterprise of
    that class inspected); a task of general items (一般) only samples, so its ratios stay
    below 1. The floor (> 0, ≤ every ratio) is the least λ of any enterprise in the frame:
    it is what keeps Horvitz-Thompson estimates possible. Ratios and floor are exact
    decimals of at most 9 places, the precision of a published λ.
    """

    task_code: str
    title: str
    items: Sequence[ItemScope]
    ratios: Mapping[str, float]  # decimal strings are accepted too
    floor: float = DEFAULT_FLOOR
    targeted: bool = False
    filters: TaskFilters = field(default_factory=TaskFilters)
    mode: InspectorMode | str = InspectorMode.CROSS_OFFICE
    team_size: int = 2
    # the mandated least probability of every unit; a hard lower bound when the draw is
    # sized to the staff (None: the floor alone)
    min_ratio: float | None = None

    def __post_init__(self) -> None:
        if not str(self.task_code).strip():
            raise ValueError("a task needs a task_code")
        where = f"task {self.task_code}"
        set_ = object.__setattr__
        items = tuple(self.items)
        if not items:
            raise ValueError(f"{where}: has no items")
        codes = [item.item_code for item in items]
        if len(set(codes)) != len(codes):
            raise ValueError(f"{where}: an item is listed twice")
        set_(self, "items", items)
        set_(self, "mode", _task_mode(str(self.mode), f"{where}: mode"))
        if not _is_whole(self.team_size) or self.team_size < 2:
            raise ValueError(f"{where}: team_size is {self.team_size!r}, at least 2 inspectors")
        self._check_filters(where)
        ratios, floor = self._checked_ratios(where)
        set_(self, "ratios", MappingProxyType(ratios))
        set_(self, "floor", floor)

    def _check_filters(self, where: str) -> None:
        if self.targeted and self.filters.is_empty():
            raise ValueError(f"{where}: targeted (定向) but no filter given")
        if not self.targeted and not self.filters.is_empty():
            raise ValueError(f"{where}: filters given but targeted is false; set targeted=true")

    def _checked_ratios(self, where: str) -> tuple[dict[str, float], float]:
        keys = set(self.ratios)
        if keys != set(RISK_CLASSES):
            raise ValueError(f"{where}: ratios needed for exactly A, B, C, D; got {sorted(keys)}")
        floor = _decimal(f"{where}: floor", self.floor)
        if floor <= 0:
            raise ValueError(f"{where}: floor must be above 0 (every unit keeps a chance)")
        ratios: dict[str, float] = {}
        for name in RISK_CLASSES:
            ratio = _decimal(f"{where}: ratio_{name}", self.ratios[name])
            if not 0 < ratio <= 1:
                raise ValueError(f"{where}: ratio_{name} = {ratio} is outside (0, 1]")
            if ratio == 1 and not self.has_key_item:
                raise ValueError(
                    f"{where}: ratio_{name} = 1 would inspect every such enterprise, which only"
                    " key items (重点检查事项) may do; general items are sampled below 1"
                )
            if floor > ratio:
                raise ValueError(f"{where}: floor {floor} is above ratio_{name} = {ratio}")
            ratios[name] = float(ratio)
        if self.min_ratio is not None:
            least = _decimal(f"{where}: min_ratio", self.min_ratio)
            if not 0 < least <= 1:
                raise ValueError(f"{where}: min_ratio = {least} is outside (0, 1]")
            above = [n for n in RISK_CLASSES if least > Decimal(str(self.ratios[n]))]
            if above:
                raise ValueError(
                    f"{where}: min_ratio {least} is above ratio_{above[0]} ="
                    f" {self.ratios[above[0]]}"
                )
            object.__setattr__(self, "min_ratio", float(least))
        return ratios, float(floor)

    @property
    def has_key_item(self) -> bool:
        return any(item.kind is ItemKind.KEY for item in self.items)

    @property
    def departments(self) -> tuple[str, ...]:
        return tuple(sorted({item.department for item in self.items}))


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class ExclusionPolicy:
    """Which enterprises must not be drawn. City configuration, not constants: the
    defaults are examples. A window or grace of 0 and a cap of None switch a rule off."""

    recent_window_days: int = 180  # same department inspected it fewer days ago than this
    yearly_cap: int | None = 2  # inspections per calendar year, every inspection counted
    grace_days: int = 180  # 包容审慎: new enterprises younger than this are left alone ...
    grace_waived_classes: Iterable[str] = ("C", "D")  # ... unless their risk is high
    allowed_statuses: Iterable[str] = ("active",)

    def __post_init__(self) -> None:
        for name in ("recent_window_days", "grace_days"):
            value = getattr(self, name)
            if not _is_whole(value) or value < 0:
                raise ValueError(f"exclusion policy: {name} must be a whole number ≥ 0")
        cap = self.yearly_cap
        if cap is not None and (not _is_whole(cap) or cap < 1):
            raise ValueError("exclusion policy: yearly_cap must be ≥ 1, or None for no cap")
        waived = frozenset(self.grace_waived_classes)
        if not waived <= set(RISK_CLASSES):
            raise ValueError(f"exclusion policy: grace_waived_classes {sorted(waived)} not A..D")
        statuses = frozenset(self.allowed_statuses)
        if not statuses:
            raise ValueError("exclusion policy: allowed_statuses is empty, nothing could be drawn")
        object.__setattr__(self, "grace_waived_classes", waived)
        object.__setattr__(self, "allowed_statuses", statuses)

    def window_start(self, as_of: date) -> date:
        """The first day whose inspections can still make an enterprise 'recently
        inspected' on `as_of` (`as_of` itself when the rule is off: none can)."""
        if self.recent_window_days == 0:
            return as_of
        return as_of - timedelta(days=self.recent_window_days)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recent_window_days": self.recent_window_days,
            "yearly_cap": self.yearly_cap,
            "grace_days": self.grace_days,
            "grace_waived_classes": sorted(self.grace_waived_classes),
            "allowed_statuses": sorted(self.allowed_statuses),
            "order": list(EXCLUSION_REASONS),
        }


# --------------------------------------------------------------------------- scope


def item_applies(
    columns: EnterpriseColumns, item: ItemScope, rows: IndexArray | None = None
) -> BoolArray:
    """Enterprises (all rows, or the given ones) to which `item` applies."""
    size = len(columns) if rows is None else rows.shape[0]
    applies = np.ones(size, dtype=bool)
    if item.entity_types:
        applies &= columns.entity_type.isin(frozenset(item.entity_types), rows)
    if item.industries:
        applies &= columns.industry.where(_starts_with_any(item.industries), rows)
    if item.licences:
        applies &= columns.licences.has_any(frozenset(item.licences), rows)
    return applies


def passes_filters(
    columns: EnterpriseColumns, filters: TaskFilters, rows: IndexArray | None = None
) -> BoolArray:
    """Enterprises passing every given filter of a targeted task."""
    size = len(columns) if rows is None else rows.shape[0]
    passes = np.ones(size, dtype=bool)
    if filters.entity_types:
        passes &= columns.entity_type.isin(frozenset(filters.entity_types), rows)
    if filters.industries:
        passes &= columns.industry.where(_starts_with_any(filters.industries), rows)
    if filters.districts:
        passes &= columns.district.isin(frozenset(filters.districts), rows)
    if filters.licences:
        passes &= columns.licences.has_any(frozenset(filters.licences), rows)
    return passes


def _starts_with_any(prefixes: Iterable[str]) -> Callable[[str], bool]:
    starts = tuple(prefixes)
    return lambda value: value.startswith(starts)


def _class_index(risk_class: NDArray[np.str_]) -> tuple[NDArray[np.int8], BoolArray]:
    """Position of each enterprise's class in RISK_CLASSES (unclassed → B) and who was."""
    index = np.full(risk_class.shape[0], RISK_CLASSES.index(UNCLASSED_AS), dtype=np.int8)
    for position, name in enumerate(RISK_CLASSES):
        index[risk_class == name] = position
    return index, risk_class == ""


# --------------------------------------------------------------------------- frame


@dataclass(frozen=True)
class FrameClass:
    """One risk class of a frame: its units, its λ, the expected sample Σλ, and what was
    promised: the task's ratio, the probability promised after scaling to a whole n
    (target), and the exact probability of selection with this λ (π)."""

    risk_class: str
    units: int
    lam: str  # canonical λ of the class (ie-draw-v1 spelling): what the protocol ranks by
    expected: float
    ratio: str = ""  # the task's ratio for the class, raised to the floor
    target: str = ""  # the promise: ratio scaled to a whole n, floor kept
    pi: str = ""  # exact inclusion probability under Pareto πps in this frame


@dataclass(frozen=True)
class Inclusion:
    """One distinct λ of a frame and its exact inclusion probability."""

    lam: str
    pi: str

    def as_dict(self) -> dict[str, str]:
        return {"lambda": self.lam, "pi": self.pi}


@dataclass(frozen=True, eq=False)
class Exclusions:
    """Enterprises in the task's scope that must not be drawn, one reason each.

    Recorded apart from the frame (not hashed, not published per enterprise)."""

    rows: IndexArray
    credit_code: NDArray[np.str_]
    reason: NDArray[np.int8]  # position in EXCLUSION_REASONS

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def counts(self) -> dict[str, int]:
        tally = np.bincount(self.reason, minlength=len(EXCLUSION_REASONS))
        return {name: int(tally[i]) for i, name in enumerate(EXCLUSION_REASONS)}

    def reasons(self) -> list[str]:
        return [EXCLUSION_REASONS[i] for i in self.reason.tolist()]

    def text(self) -> str:
        """`<credit_code>,<reason>` lines sorted by credit code, for storage."""
        return "".join(
            f"{code},{reason}\n"
            for code, reason in zip(self.credit_code.tolist(), self.reasons(), strict=True)
        )


@dataclass(frozen=True)
class FrameSummary:
    """What a supervisor sees before freezing (预览): counts only, no enterprise."""

    task_code: str
    in_scope: int
    units: int
    expected_size: float
    classes: tuple[FrameClass, ...]
    exclusions: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "task_code": self.task_code,
            "in_scope": self.in_scope,
            "units": self.units,
            "expected_size": self.expected_size,
            "classes": {
                c.risk_class: {
                    "units": c.units,
                    "lambda": c.lam,
                    "expected": c.expected,
                    "ratio": c.ratio,
                    "target": c.target,
                    "pi": c.pi,
                }
                for c in self.classes
            },
            "inclusion": [i.as_dict() for i in inclusion_of(self.classes)],
            "exclusions": dict(self.exclusions),
        }


@dataclass(frozen=True, eq=False)
class Frame:
    """A task's frame: units sorted by credit code, each with λ as float and text.

    `lam[i]` is exactly the binary64 value a verifier parses from `lambda_text[i]`."""

    task_code: str
    as_of: date
    rows: IndexArray  # into EnterpriseColumns, ascending, hence by credit code
    credit_code: NDArray[np.str_]
    lam: NDArray[np.float64]
    lambda_text: NDArray[np.object_]
    risk_class: NDArray[np.str_]  # the class λ was taken from (unclassed shown as B)
    classes: tuple[FrameClass, ...]
    exclusions: Exclusions
    lambda_provenance: Mapping[str, Any]

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    @property
    def expected_size(self) -> float:
        """Σλ, correctly rounded (what ie-draw-v1 rounds to get n)."""
        return _exact_sum((c.units, c.lam) for c in self.classes)

    def codes(self) -> list[str]:
        """Credit codes as str, e.g. for `protocol.draw_frame(codes, lambda_texts, seed)`."""
        return list(self.credit_code.tolist())

    def lambda_texts(self) -> list[str]:
        return list(self.lambda_text.tolist())

    @property
    def inclusion(self) -> tuple[Inclusion, ...]:
        """Each distinct λ of the frame with its π, by λ (the record's `inclusion`)."""
        return inclusion_of(self.classes)

    def summary(self) -> FrameSummary:
        return FrameSummary(
            task_code=self.task_code,
            in_scope=len(self) + len(self.exclusions),
            units=len(self),
            expected_size=self.expected_size,
            classes=self.classes,
            exclusions=MappingProxyType(self.exclusions.counts()),
        )


def inclusion_of(classes: Iterable[FrameClass]) -> tuple[Inclusion, ...]:
    """Distinct λ of the classes that hold units, with their π, ordered by λ."""
    seen = {c.lam: c.pi for c in classes if c.units > 0}
    return tuple(Inclusion(lam, seen[lam]) for lam in sorted(seen, key=Fraction))


def _exact_sum(terms: Iterable[tuple[int, str]]) -> float:
    """Σ count·λ computed exactly, then rounded once (equals math.fsum over the units)."""
    return float(sum((Fraction(lam) * count for count, lam in terms), Fraction(0)))


def class_lambdas(task: TaskSpec) -> dict[str, str]:
    """Canonical λ per risk class: the class ratio, raised to the floor, capped at 1."""
    out = {}
    for name in RISK_CLASSES:
        # ratios < 1 are validated for general-only tasks, so only key tasks reach the cap
        lam = min(max(task.ratios[name], task.floor), 1.0)
        out[name] = format_lambda(lam)
    return out


def promised_lambdas(task: TaskSpec, class_units: Sequence[int]) -> dict[str, tuple[str, str, str]]:
    """Per risk class: (promised π, λ the protocol draws with, exact π), canonical text.

    Classes with no unit keep their requested λ (they draw nobody); a frame with no unit at
    all keeps the requested λ everywhere. Raises ValueError naming the task when the floor
    cannot be honoured by this frame."""
    requested = class_lambdas(task)
    present = [name for name, units in zip(RISK_CLASSES, class_units, strict=True) if units]
    out = {name: (requested[name], requested[name], requested[name]) for name in RISK_CLASSES}
    if not present:
        return out
    # Classes asking the same λ are one group: Pareto's π depends on λ alone.
    wanted = sorted({requested[name] for name in present}, key=Fraction)
    counts = [
        sum(u for name, u in zip(RISK_CLASSES, class_units, strict=True) if requested[name] == w)
        for w in wanted
    ]
    try:
        targets = whole_targets(counts, [float(w) for w in wanted], task.floor)
        made = calibrate(counts, targets.tolist())
    except FloorError as error:
        raise ValueError(f"task {task.task_code}: {error}") from None
    for position, w in enumerate(wanted):
        row = (
            format_lambda(float(targets[position])),
            made.lambda_texts[position],
            format_lambda(made.pi[position]),
        )
        for name in present:
            if requested[name] == w:
                out[name] = row
    return out


def build_frame(
    columns: EnterpriseColumns, task: TaskSpec, policy: ExclusionPolicy, as_of: date
) -> Frame:
    """Freeze-ready frame of `task` on `as_of` (scope → filters → exclusions → λ)."""
    if columns.history.year != as_of.year:
        raise ValueError(
            f"inspection history counts year {columns.history.year}, the frame is for"
            f" {as_of.isoformat()}: rebuild the history for {as_of.year}"
        )
    missing = [d for d in task.departments if d not in columns.history.last_inspected_on]
    if missing:
        raise ValueError(f"no last-inspection column for departments {missing}")

    frame_rows, reason, _ = frame_members(columns, task, policy, as_of)
    excluded = np.flatnonzero(reason >= 0)

    class_index, unclassed = _class_index(columns.risk_class[frame_rows])
    requested = class_lambdas(task)
    class_units = np.bincount(class_index, minlength=len(RISK_CLASSES))
    promise = promised_lambdas(task, [int(x) for x in class_units])
    texts = {name: promise[name][1] for name in RISK_CLASSES}
    values = np.array([float(texts[name]) for name in RISK_CLASSES])
    classes = tuple(
        FrameClass(
            name,
            int(class_units[i]),
            texts[name],
            _exact_sum([(class_units[i], texts[name])]),
            ratio=requested[name],
            target=promise[name][0],
            pi=promise[name][2],
        )
        for i, name in enumerate(RISK_CLASSES)
    )
    raised = 0  # stays 0 while floor ≤ ratios is validated; recorded as a check
    for i, name in enumerate(RISK_CLASSES):
        if task.ratios[name] < task.floor:
            raised += int(class_units[i])
    provenance = {
        "rule": (
            "class ratio (unclassed as B), raised to the floor, capped at 1; scaled to a"
            " whole n >= 1 (floor kept) as the promised probability; ranking lambda adjusted"
            " until the exact Pareto pi is within 1 % of the promise"
        ),
        "as_of": as_of.isoformat(),
        "ratios": {name: format_lambda(task.ratios[name]) for name in RISK_CLASSES},
        "floor": format_lambda(task.floor),
        "requested_lambdas": requested,
        "promised": {name: promise[name][0] for name in RISK_CLASSES},
        "class_lambdas": texts,
        "pi": {name: promise[name][2] for name in RISK_CLASSES},
        "pi_method": "exact: quadrature over the Pareto key, grouped Poisson-binomial",
        "key_items": [i.item_code for i in task.items if i.kind is ItemKind.KEY],
        "cap": "1" if task.has_key_item else "below 1 (general items only)",
        "raised_to_floor": raised,
        "unclassed_as_B": int(unclassed.sum()),
        "targeted": task.targeted,
        "filters": task.filters.as_dict(),
        "history_year": columns.history.year,
        "exclusion_policy": policy.as_dict(),
        "exclusions": {},
    }
    exclusions = Exclusions(
        excluded, columns.credit_code[excluded], reason[excluded].astype(np.int8)
    )
    provenance["exclusions"] = exclusions.counts()
    return Frame(
        task_code=task.task_code,
        as_of=as_of,
        rows=frame_rows,
        credit_code=columns.credit_code[frame_rows],
        lam=values[class_index],
        lambda_text=np.array([texts[name] for name in RISK_CLASSES], dtype=object)[class_index],
        risk_class=np.array(RISK_CLASSES)[class_index],
        classes=classes,
        exclusions=exclusions,
        lambda_provenance=MappingProxyType(provenance),
    )


def frame_members(
    columns: EnterpriseColumns, task: TaskSpec, policy: ExclusionPolicy, as_of: date
) -> tuple[IndexArray, NDArray[np.int8], dict[str, BoolArray]]:
    """The frame's rows (scope → filters → exclusions), each row's exclusion reason (-1:
    none), and per item the rows it applies to (what a visit to the unit carries)."""
    applies = {item.item_code: item_applies(columns, item) for item in task.items}
    in_scope = np.logical_or.reduce(list(applies.values()))
    if task.targeted:
        in_scope &= passes_filters(columns, task.filters)
    reason = _exclusion_reasons(columns, task, policy, as_of, in_scope, applies)
    return np.flatnonzero(in_scope & (reason < 0)), reason, applies


def preview(
    columns: EnterpriseColumns, task: TaskSpec, policy: ExclusionPolicy, as_of: date
) -> FrameSummary:
    """The counts a supervisor checks before freezing: the same computation as the frame."""
    return build_frame(columns, task, policy, as_of).summary()


def _exclusion_reasons(
    columns: EnterpriseColumns,
    task: TaskSpec,
    policy: ExclusionPolicy,
    as_of: date,
    in_scope: BoolArray,
    applies: Mapping[str, BoolArray],
) -> NDArray[np.int8]:
    """Reason position per row (-1: not excluded); tested in EXCLUSION_REASONS order."""
    today = np.datetime64(as_of, "D")
    tests: list[Callable[[], BoolArray]] = [
        lambda: ~columns.status.isin(frozenset(policy.allowed_statuses)),
        lambda: _recently_inspected(columns, task, policy, today, applies),
        lambda: _capped(columns, policy),
        lambda: _in_grace(columns, policy, today),
    ]
    reason = np.full(len(columns), -1, dtype=np.int8)
    open_ = in_scope.copy()
    for position, test in enumerate(tests):
        hit = open_ & test()
        reason[hit] = position
        open_ &= ~hit
    return reason


def _recently_inspected(
    columns: EnterpriseColumns,
    task: TaskSpec,
    policy: ExclusionPolicy,
    today: np.datetime64,
    applies: Mapping[str, BoolArray],
) -> BoolArray:
    """Inspected by one of the task's departments, whose item applies to the enterprise,
    fewer than `recent_window_days` days ago (or later than today). A joint task is one
    frame: the enterprise leaves the whole task, not only that department's items."""
    recent = np.zeros(len(columns), dtype=bool)
    if policy.recent_window_days == 0:
        return recent
    cutoff = today - np.timedelta64(policy.recent_window_days, "D")
    for department in task.departments:
        concerned = np.logical_or.reduce(
            [applies[i.item_code] for i in task.items if i.department == department]
        )
        # NaT (never inspected) compares False
        recent |= concerned & (columns.history.last_inspected_on[department] > cutoff)
    return recent


def _capped(columns: EnterpriseColumns, policy: ExclusionPolicy) -> BoolArray:
    if policy.yearly_cap is None:
        return np.zeros(len(columns), dtype=bool)
    return columns.history.inspections_this_year >= policy.yearly_cap


def _in_grace(
    columns: EnterpriseColumns, policy: ExclusionPolicy, today: np.datetime64
) -> BoolArray:
    """Registered fewer than `grace_days` days ago and not of a waived (high-risk) class."""
    if policy.grace_days == 0:
        return np.zeros(len(columns), dtype=bool)
    young = columns.registered_on > today - np.timedelta64(policy.grace_days, "D")
    waived = np.zeros(len(columns), dtype=bool)
    for name in policy.grace_waived_classes:
        waived |= columns.risk_class == name
    return young & ~waived
