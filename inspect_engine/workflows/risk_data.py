"""Load the directory and its history from the database into the risk kernel's tables:
one query per table through the driver's cursor, credit codes mapped to rows once.

At city scale (2.7 million enterprises, 10 million history rows) the rows are read in
chunks and each chunk is turned into numpy columns at once: no list of millions of row
tuples is ever held, and each categorical column is encoded as it streams by, so the kernel's
`factorize` and `flag_mask` only see the few distinct values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from inspect_engine.publication import result_codes
from inspect_engine.risk.tables import (
    ENTITY_TYPES,
    LISTS,
    SEVERITIES,
    AnnualReports,
    Complaints,
    EnterpriseTable,
    HistoryEvents,
    Inspections,
    ListEntries,
    Penalties,
    factorize,
    flag_mask,
)
from inspect_engine.workflows.columns import CodeRows, driver_chunks, paused_gc

CHUNK = 200_000
Column = NDArray[Any]
Converter = Callable[[Sequence[Any]], Column]


@dataclass(frozen=True)
class RiskData:
    enterprises: EnterpriseTable
    history: HistoryEvents
    active: NDArray[np.bool_]  # status == active, the rows that get a class
    inspector_ids: tuple[str, ...]


def _order(session: Session) -> str:
    return ' COLLATE "C"' if session.get_bind().dialect.name == "postgresql" else ""


def _read(session: Session, sql: str, converters: Sequence[Converter]) -> list[Column]:
    """One numpy column per converter; each converter turns one chunk's column into an array."""
    parts: list[list[Column]] = [[] for _ in converters]
    for rows in driver_chunks(session, sql, CHUNK):
        for part, convert, values in zip(parts, converters, zip(*rows, strict=True), strict=True):
            part.append(convert(values))
    return [
        np.concatenate(part) if part else convert(())
        for part, convert in zip(parts, converters, strict=True)
    ]


class _Categories:
    """Streams a text column into provisional integer codes; `factorized` and `flags` then
    apply a kernel encoder (factorize, flag_mask) to the distinct values only, which gives
    exactly what that encoder gives on the whole column (None reads as '', as there)."""

    def __init__(self) -> None:
        self.seen: dict[Any, int] = {}

    def __call__(self, values: Sequence[Any]) -> Column:
        seen = self.seen
        for value in dict.fromkeys(values):  # the chunk's distinct values, at C speed
            if value not in seen:
                seen[value] = len(seen)
        return np.fromiter(map(seen.__getitem__, values), np.int32, count=len(values))

    def distinct(self) -> list[str]:
        return ["" if value is None else value for value in self.seen]

    def factorized(
        self, provisional: Column, vocabulary: Sequence[str] | None = None
    ) -> tuple[NDArray[np.int32], tuple[str, ...]]:
        table, vocab = factorize(self.distinct(), vocabulary)
        return table[provisional] if provisional.size else table[:0], vocab

    def ranks(self, provisional: Column) -> NDArray[np.int32]:
        """`factorize` without a vocabulary, for columns with millions of distinct values
        (addresses): the rank of each value among the sorted distinct non-empty values, -1
        for empty. Python sorts the strings it already holds in code-point order, as numpy
        would, without copying them into a wide unicode array first."""
        values = self.distinct()
        order = np.array(sorted(range(len(values)), key=values.__getitem__), dtype=np.int64)
        empties = sum(1 for value in values if value == "")  # they sort first
        rank = np.empty(len(values), np.int32)
        rank[order] = np.arange(len(values), dtype=np.int32) - empties
        rank[order[:empties]] = -1
        return rank[provisional] if provisional.size else rank[:0]

    def flags(self, provisional: Column) -> tuple[NDArray[np.int64], tuple[str, ...]]:
        table, names = flag_mask(self.distinct())
        return table[provisional] if provisional.size else table[:0], names


def rows_of(codes: NDArray[np.str_], wanted: Sequence[str]) -> NDArray[np.int64]:
    """Row of each credit code in the sorted directory (the import guarantees they exist)."""
    return CodeRows(codes)(wanted)


def _dates(values: Sequence[Any]) -> Column:
    """ISO date texts (CAST AS TEXT) to days; None becomes NaT."""
    return np.array(values, dtype="datetime64[D]")


def _floats(values: Sequence[Any]) -> Column:
    """Numbers (float, int or Decimal) to float64; None becomes NaN."""
    return np.array(values, dtype=float)


def _texts(values: Sequence[Any]) -> Column:
    return np.asarray(values, dtype="<U18") if len(values) else np.zeros(0, "<U18")


def load_risk_data(session: Session) -> RiskData:
    with paused_gc():
        return _load(session)


def _load(session: Session) -> RiskData:
    enterprise_sql = (
        "SELECT credit_code, entity_type, industry, district, CAST(registered_on AS TEXT), "
        "registered_capital, licences, tags, address, status FROM enterprises "
        f"ORDER BY credit_code{_order(session)}"
    )
    text_columns = {name: _Categories() for name in ("type", "industry", "district")}
    flag_columns = {name: _Categories() for name in ("licences", "tags")}
    address, status = _Categories(), _Categories()
    cols = _read(
        session,
        enterprise_sql,
        [
            _texts,
            text_columns["type"],
            text_columns["industry"],
            text_columns["district"],
            _dates,
            _floats,
            flag_columns["licences"],
            flag_columns["tags"],
            address,
            status,
        ],
    )
    codes = cols[0]
    types, type_vocab = text_columns["type"].factorized(cols[1], ENTITY_TYPES)
    industries, industry_vocab = text_columns["industry"].factorized(cols[2])
    districts, district_vocab = text_columns["district"].factorized(cols[3])
    licences, licence_names = flag_columns["licences"].flags(cols[6])
    tags, tag_names = flag_columns["tags"].flags(cols[7])
    table = EnterpriseTable(
        credit_code=codes,
        entity_type=types,
        industry=industries,
        district=districts,
        registered_on=cols[4],
        registered_capital=cols[5],
        licences=licences,
        tags=tags,
        address=address.ranks(cols[8]).astype(np.int64),
        entity_types=type_vocab,
        industries=industry_vocab,
        districts=district_vocab,
        licence_names=licence_names,
        tag_names=tag_names,
    )
    active_code = status.seen.get("active")
    active = cols[9] == active_code if active_code is not None else np.zeros(len(codes), bool)
    inspector_ids = tuple(
        str(row[0])
        for rows in driver_chunks(
            session, "SELECT inspector_id FROM inspectors ORDER BY inspector_id"
        )
        for row in rows
    )
    find = CodeRows(codes)
    history = HistoryEvents(
        inspections=_inspections(session, find, inspector_ids),
        penalties=_penalties(session, find),
        complaints=_complaints(session, find),
        annual_reports=_annual_reports(session, find),
        lists=_lists(session, find),
    )
    return RiskData(table, history, active, inspector_ids)


def _inspections(session: Session, find: CodeRows, inspector_ids: tuple[str, ...]) -> Inspections:
    inspector_row = {inspector: i for i, inspector in enumerate(inspector_ids)}
    department = _Categories()

    def inspectors(values: Sequence[Any]) -> Column:
        rows = map(inspector_row.get, values, repeat(-1))
        return np.fromiter(rows, np.int64, len(values))

    cols = _read(
        session,
        "SELECT credit_code, CAST(inspected_on AS TEXT), department, inspector_id, result, "
        "inclusion_probability, visit_probability FROM inspections",
        [find, _dates, department, inspectors, result_codes.encode, _floats, _floats],
    )
    departments, vocabulary = department.factorized(cols[2])
    return Inspections(
        enterprise=cols[0],
        inspected_on=cols[1],
        result=cols[4],
        inspector=cols[3],
        inclusion_probability=cols[5],
        department=departments,
        departments=vocabulary,
        visit_probability=cols[6],
    )


def _penalties(session: Session, find: CodeRows) -> Penalties:
    severity = _Categories()
    cols = _read(
        session,
        "SELECT credit_code, CAST(decided_on AS TEXT), severity FROM penalties",
        [find, _dates, severity],
    )
    return Penalties(cols[0], cols[1], severity.factorized(cols[2], SEVERITIES)[0].astype(np.int8))


def _complaints(session: Session, find: CodeRows) -> Complaints:
    def flags(values: Sequence[Any]) -> Column:
        return np.array([bool(s) for s in values], dtype=bool)

    cols = _read(
        session,
        "SELECT credit_code, CAST(received_on AS TEXT), substantiated FROM complaints",
        [find, _dates, flags],
    )
    return Complaints(cols[0], cols[1], cols[2])


def _annual_reports(session: Session, find: CodeRows) -> AnnualReports:
    def years(values: Sequence[Any]) -> Column:
        return np.array(values, dtype=np.int32)

    cols = _read(
        session,
        "SELECT credit_code, year, CAST(filed_on AS TEXT) FROM annual_reports",
        [find, years, _dates],
    )
    return AnnualReports(cols[0], cols[1], cols[2])


def _lists(session: Session, find: CodeRows) -> ListEntries:
    kind = _Categories()
    cols = _read(
        session,
        'SELECT credit_code, "list", CAST(listed_on AS TEXT), CAST(removed_on AS TEXT) '
        "FROM list_memberships",
        [find, kind, _dates, _dates],
    )
    return ListEntries(
        cols[0], kind.factorized(cols[1], LISTS)[0].astype(np.int8), cols[2], cols[3]
    )
