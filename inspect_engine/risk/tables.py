"""Columnar inputs of the risk kernel: the enterprise directory and its history.

Every table is a frozen dataclass of aligned numpy arrays for the whole city at once.
Categorical columns are small integer codes into a vocabulary tuple stored beside them;
history rows point at enterprises by their row index in `EnterpriseTable` (the loader maps
credit codes to rows once). Dates are numpy `datetime64[D]`; NaT means unknown/absent.

`from_strings` constructors turn plain string columns into codes, for loaders and tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from inspect_engine.publication import result_codes

ENTITY_TYPES: tuple[str, ...] = ("company", "individual", "cooperative", "branch", "foreign_rep")
SEVERITIES: tuple[str, ...] = ("minor", "general", "serious")
LISTS: tuple[str, ...] = ("abnormal", "serious_violation")
ABNORMAL, SERIOUS_VIOLATION = 0, 1
MAX_FLAGS = 63  # licences and tags are bits of an int64


def _days(values: Any) -> NDArray[np.datetime64]:
    return np.asarray(values, dtype="datetime64[D]")


def as_day(value: Any) -> np.datetime64:
    """One day (datetime64[D]) from a string, a date or a datetime64."""
    return cast(np.datetime64, np.asarray(value, dtype="datetime64[D]")[()])


def _check_aligned(table: object) -> None:
    """All array fields of a table have the same length."""
    lengths = {
        f.name: len(getattr(table, f.name))
        for f in fields(table)  # type: ignore[arg-type]
        if isinstance(getattr(table, f.name), np.ndarray)
    }
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{type(table).__name__}: columns differ in length: {lengths}")


def factorize(
    values: Sequence[str | None] | NDArray[Any], vocabulary: Sequence[str] | None = None
) -> tuple[NDArray[np.int32], tuple[str, ...]]:
    """Integer codes for string values (-1 for None/empty) and the vocabulary used.

    With `vocabulary` given, values outside it get -1; otherwise the sorted distinct values
    become the vocabulary. Vectorised through np.unique, so it is fine on millions of rows.
    """
    raw = np.asarray(["" if v is None else str(v) for v in values], dtype=str)
    if raw.size == 0:
        return np.zeros(0, dtype=np.int32), tuple(vocabulary or ())
    unique, inverse = np.unique(raw, return_inverse=True)
    vocab = tuple(vocabulary) if vocabulary is not None else tuple(u for u in unique if u != "")
    position = {v: i for i, v in enumerate(vocab)}
    table = np.array([position.get(str(u), -1) for u in unique], dtype=np.int32)
    return table[inverse.reshape(-1)], vocab


def flag_mask(
    values: Sequence[str | None], names: Sequence[str] | None = None
) -> tuple[NDArray[np.int64], tuple[str, ...]]:
    """Bit masks for ';'-separated flag lists (licences, tags) and the flag names.

    Only the distinct list strings are parsed, so a city-sized column costs one np.unique.
    """
    raw = np.asarray(["" if v is None else str(v) for v in values], dtype=str)
    unique, inverse = np.unique(raw, return_inverse=True) if raw.size else (raw, raw)
    parsed = [[p for p in str(u).split(";") if p] for u in unique]
    if names is None:
        names = sorted({p for parts in parsed for p in parts})
    if len(names) > MAX_FLAGS:
        raise ValueError(f"at most {MAX_FLAGS} distinct flags are supported, got {len(names)}")
    bit = {name: 1 << i for i, name in enumerate(names)}
    table = np.array([sum(bit.get(p, 0) for p in parts) for parts in parsed], dtype=np.int64)
    masks = table[inverse.reshape(-1)] if raw.size else np.zeros(0, dtype=np.int64)
    return masks, tuple(names)


@dataclass(frozen=True)
class EnterpriseTable:
    """The inspection-object directory (检查对象名录库), one row per enterprise.

    `address` is an address-cluster id (-1 unknown): enterprises registered at the same
    normalised address share it. Status is deliberately absent: it carries no date, so it
    cannot be used as of a past date without leaking; the caller scores the active rows.
    """

    credit_code: NDArray[np.str_]
    entity_type: NDArray[np.int32]  # code into entity_types, -1 unknown
    industry: NDArray[np.int32]  # code into industries (GB/T 4754 division, e.g. 'H62')
    district: NDArray[np.int32]  # code into districts (GB/T 2260)
    registered_on: NDArray[np.datetime64]
    registered_capital: NDArray[np.float64]  # CNY, NaN unknown
    licences: NDArray[np.int64]  # bit i = licence_names[i]
    tags: NDArray[np.int64]  # bit i = tag_names[i]
    address: NDArray[np.int64]  # address-cluster id, -1 unknown
    entity_types: tuple[str, ...] = ENTITY_TYPES
    industries: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    licence_names: tuple[str, ...] = ()
    tag_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "credit_code", np.asarray(self.credit_code, dtype=str))
        for name in ("entity_type", "industry", "district"):
            set_(self, name, np.asarray(getattr(self, name), dtype=np.int32))
        set_(self, "registered_on", _days(self.registered_on))
        set_(self, "registered_capital", np.asarray(self.registered_capital, dtype=np.float64))
        for name in ("licences", "tags", "address"):
            set_(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        _check_aligned(self)

    def __len__(self) -> int:
        return len(self.credit_code)

    @classmethod
    def from_strings(
        cls,
        credit_code: Sequence[str],
        entity_type: Sequence[str],
        industry: Sequence[str],
        district: Sequence[str],
        registered_on: Sequence[str] | NDArray[np.datetime64],
        registered_capital: Sequence[float | None] | None = None,
        licences: Sequence[str | None] | None = None,
        tags: Sequence[str | None] | None = None,
        address: Sequence[str | None] | None = None,
    ) -> EnterpriseTable:
        """Build from string columns as they come out of enterprises.csv or a query."""
        n = len(credit_code)
        types, type_vocab = factorize(entity_type, ENTITY_TYPES)
        industries, industry_vocab = factorize(industry)
        districts, district_vocab = factorize(district)
        capital = (
            np.full(n, np.nan)
            if registered_capital is None
            else np.array([np.nan if c is None else c for c in registered_capital], dtype=float)
        )
        licence_mask, licence_names = flag_mask(licences if licences is not None else [""] * n)
        tag_mask, tag_names = flag_mask(tags if tags is not None else [""] * n)
        addresses = factorize(address if address is not None else [None] * n)[0]
        return cls(
            credit_code=np.asarray(credit_code, dtype=str),
            entity_type=types,
            industry=industries,
            district=districts,
            registered_on=_days(registered_on),
            registered_capital=capital,
            licences=licence_mask,
            tags=tag_mask,
            address=addresses.astype(np.int64),
            entity_types=type_vocab,
            industries=industry_vocab,
            districts=district_vocab,
            licence_names=licence_names,
            tag_names=tag_names,
        )


@dataclass(frozen=True)
class Inspections:
    """Past inspections, one row per item inspected (inspections.csv).

    `result` uses the integer encoding of `publication.result_codes`; `inspector` is a row
    index into the caller's inspector directory (-1 unknown); `inclusion_probability` is the
    draw's π for random inspections and NaN where unknown (complaint-driven, legacy): the
    item's own probability, through the task that carried it. `visit_probability` is the
    visit's probability under the whole plan (any of its tasks drawing the enterprise),
    recorded by the engine on the rows it derives from published results; NaN for imported
    rows (empty, the default: NaN on every row). Labels weight a visit by it
    (`labels.group_visits`).
    """

    enterprise: NDArray[np.int64]
    inspected_on: NDArray[np.datetime64]
    result: NDArray[np.int8]
    inspector: NDArray[np.int64]
    inclusion_probability: NDArray[np.float64]
    department: NDArray[np.int32]
    departments: tuple[str, ...] = ()
    # Empty (the default): unknown for every row.
    visit_probability: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "enterprise", np.asarray(self.enterprise, dtype=np.int64))
        visit_pi = np.asarray(self.visit_probability, dtype=float)
        if visit_pi.size == 0:
            visit_pi = np.full(len(self.enterprise), np.nan)
        set_(self, "visit_probability", visit_pi)
        set_(self, "inspected_on", _days(self.inspected_on))
        set_(self, "result", np.asarray(self.result, dtype=np.int8))
        set_(self, "inspector", np.asarray(self.inspector, dtype=np.int64))
        set_(self, "inclusion_probability", np.asarray(self.inclusion_probability, dtype=float))
        set_(self, "department", np.asarray(self.department, dtype=np.int32))
        _check_aligned(self)
        if self.result.size and (
            self.result.min() < 0 or self.result.max() >= len(result_codes.RESULT_CODES)
        ):
            raise ValueError("Inspections.result holds a code outside the result-code table")
        for pi in (self.inclusion_probability, self.visit_probability):
            if np.any((pi <= 0) | (pi > 1)):
                raise ValueError("inclusion probabilities must lie in (0, 1] or be NaN")

    def __len__(self) -> int:
        return len(self.enterprise)

    @classmethod
    def empty(cls) -> Inspections:
        return cls(
            enterprise=np.zeros(0, np.int64),
            inspected_on=np.zeros(0, "datetime64[D]"),
            result=np.zeros(0, np.int8),
            inspector=np.zeros(0, np.int64),
            inclusion_probability=np.zeros(0),
            department=np.zeros(0, np.int32),
        )


@dataclass(frozen=True)
class Penalties:
    """Administrative penalties (penalties.csv); severity codes index SEVERITIES."""

    enterprise: NDArray[np.int64]
    decided_on: NDArray[np.datetime64]
    severity: NDArray[np.int8]

    def __post_init__(self) -> None:
        object.__setattr__(self, "enterprise", np.asarray(self.enterprise, dtype=np.int64))
        object.__setattr__(self, "decided_on", _days(self.decided_on))
        object.__setattr__(self, "severity", np.asarray(self.severity, dtype=np.int8))
        _check_aligned(self)

    @classmethod
    def empty(cls) -> Penalties:
        return cls(np.zeros(0, np.int64), np.zeros(0, "datetime64[D]"), np.zeros(0, np.int8))


@dataclass(frozen=True)
class Complaints:
    """Complaints received (complaints.csv)."""

    enterprise: NDArray[np.int64]
    received_on: NDArray[np.datetime64]
    substantiated: NDArray[np.bool_]

    def __post_init__(self) -> None:
        object.__setattr__(self, "enterprise", np.asarray(self.enterprise, dtype=np.int64))
        object.__setattr__(self, "received_on", _days(self.received_on))
        object.__setattr__(self, "substantiated", np.asarray(self.substantiated, dtype=bool))
        _check_aligned(self)

    @classmethod
    def empty(cls) -> Complaints:
        return cls(np.zeros(0, np.int64), np.zeros(0, "datetime64[D]"), np.zeros(0, bool))


@dataclass(frozen=True)
class AnnualReports:
    """Annual reports (annual_reports.csv): report year and filing date (NaT = not filed)."""

    enterprise: NDArray[np.int64]
    year: NDArray[np.int32]
    filed_on: NDArray[np.datetime64]

    def __post_init__(self) -> None:
        object.__setattr__(self, "enterprise", np.asarray(self.enterprise, dtype=np.int64))
        object.__setattr__(self, "year", np.asarray(self.year, dtype=np.int32))
        object.__setattr__(self, "filed_on", _days(self.filed_on))
        _check_aligned(self)

    @classmethod
    def empty(cls) -> AnnualReports:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, "datetime64[D]"))


@dataclass(frozen=True)
class ListEntries:
    """Entries on the abnormal-operation list (经营异常名录) and the serious-violation list
    (严重违法失信名单) (lists.csv); `list` indexes LISTS; removed_on NaT = still listed."""

    enterprise: NDArray[np.int64]
    list: NDArray[np.int8]
    listed_on: NDArray[np.datetime64]
    removed_on: NDArray[np.datetime64]

    def __post_init__(self) -> None:
        object.__setattr__(self, "enterprise", np.asarray(self.enterprise, dtype=np.int64))
        object.__setattr__(self, "list", np.asarray(self.list, dtype=np.int8))
        object.__setattr__(self, "listed_on", _days(self.listed_on))
        object.__setattr__(self, "removed_on", _days(self.removed_on))
        _check_aligned(self)

    @classmethod
    def empty(cls) -> ListEntries:
        none = np.zeros(0, "datetime64[D]")
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int8), none, none.copy())


@dataclass(frozen=True)
class HistoryEvents:
    """Everything that happened to the enterprises, each event with its date."""

    inspections: Inspections
    penalties: Penalties
    complaints: Complaints
    annual_reports: AnnualReports
    lists: ListEntries

    @classmethod
    def empty(cls) -> HistoryEvents:
        return cls(
            Inspections.empty(),
            Penalties.empty(),
            Complaints.empty(),
            AnnualReports.empty(),
            ListEntries.empty(),
        )
