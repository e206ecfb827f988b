"""Load the directory and its history from the database into the risk kernel's tables:
one query per table through the driver's cursor, credit codes mapped to rows once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import text
from sqlalchemy.orm import Session

from inspect_engine.publication import result_codes
from inspect_engine.risk.tables import (
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
)


@dataclass(frozen=True)
class RiskData:
    enterprises: EnterpriseTable
    history: HistoryEvents
    active: NDArray[np.bool_]  # status == active, the rows that get a class
    inspector_ids: tuple[str, ...]


def _rows(session: Session, sql: str) -> list[Sequence[Any]]:
    return [tuple(r) for r in session.connection().execute(text(sql))]


def _columns(rows: list[Sequence[Any]], width: int) -> list[list[Any]]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(c) for c in zip(*rows, strict=True)]


def _order(session: Session) -> str:
    return ' COLLATE "C"' if session.get_bind().dialect.name == "postgresql" else ""


def load_risk_data(session: Session) -> RiskData:
    enterprise_sql = (
        "SELECT credit_code, entity_type, industry, district, CAST(registered_on AS TEXT), "
        "registered_capital, licences, tags, address, status FROM enterprises "
        f"ORDER BY credit_code{_order(session)}"
    )
    cols = _columns(_rows(session, enterprise_sql), 10)
    codes = np.asarray(cols[0], dtype="<U18")
    capital = [None if c is None else float(c) for c in cols[5]]
    table = EnterpriseTable.from_strings(
        cols[0], cols[1], cols[2], cols[3], cols[4], capital, cols[6], cols[7], cols[8]
    )
    inspector_ids = tuple(
        r[0] for r in _rows(session, "SELECT inspector_id FROM inspectors ORDER BY inspector_id")
    )
    history = HistoryEvents(
        inspections=_inspections(session, codes, inspector_ids),
        penalties=_penalties(session, codes),
        complaints=_complaints(session, codes),
        annual_reports=_annual_reports(session, codes),
        lists=_lists(session, codes),
    )
    active = np.asarray(cols[9], dtype=str) == "active" if cols[9] else np.zeros(0, bool)
    return RiskData(table, history, active, inspector_ids)


def rows_of(codes: NDArray[np.str_], wanted: Sequence[str]) -> NDArray[np.int64]:
    """Row of each credit code in the sorted directory (the import guarantees they exist)."""
    if not wanted:
        return np.zeros(0, np.int64)
    position = np.searchsorted(codes, np.asarray(wanted, dtype="<U18"))
    return position.astype(np.int64)


def _dates(values: list[Any]) -> NDArray[np.datetime64]:
    return np.array(["NaT" if v is None else str(v) for v in values], dtype="datetime64[D]")


def _inspections(
    session: Session, codes: NDArray[np.str_], inspector_ids: tuple[str, ...]
) -> Inspections:
    rows = _rows(
        session,
        "SELECT credit_code, CAST(inspected_on AS TEXT), department, inspector_id, result, "
        "inclusion_probability FROM inspections",
    )
    cols = _columns(rows, 6)
    departments, vocabulary = factorize(cols[2])
    inspector_row = {inspector: i for i, inspector in enumerate(inspector_ids)}
    return Inspections(
        enterprise=rows_of(codes, cols[0]),
        inspected_on=_dates(cols[1]),
        result=result_codes.encode(cols[4]),
        inspector=np.array([inspector_row.get(i, -1) for i in cols[3]], dtype=np.int64),
        inclusion_probability=np.array(
            [np.nan if p is None else float(p) for p in cols[5]], dtype=float
        ),
        department=departments,
        departments=vocabulary,
    )


def _penalties(session: Session, codes: NDArray[np.str_]) -> Penalties:
    cols = _columns(
        _rows(session, "SELECT credit_code, CAST(decided_on AS TEXT), severity FROM penalties"), 3
    )
    return Penalties(
        rows_of(codes, cols[0]), _dates(cols[1]), factorize(cols[2], SEVERITIES)[0].astype(np.int8)
    )


def _complaints(session: Session, codes: NDArray[np.str_]) -> Complaints:
    sql = "SELECT credit_code, CAST(received_on AS TEXT), substantiated FROM complaints"
    cols = _columns(_rows(session, sql), 3)
    return Complaints(
        rows_of(codes, cols[0]), _dates(cols[1]), np.array([bool(s) for s in cols[2]], bool)
    )


def _annual_reports(session: Session, codes: NDArray[np.str_]) -> AnnualReports:
    sql = "SELECT credit_code, year, CAST(filed_on AS TEXT) FROM annual_reports"
    cols = _columns(_rows(session, sql), 3)
    return AnnualReports(
        rows_of(codes, cols[0]), np.array(cols[1], dtype=np.int32), _dates(cols[2])
    )


def _lists(session: Session, codes: NDArray[np.str_]) -> ListEntries:
    sql = (
        'SELECT credit_code, "list", CAST(listed_on AS TEXT), CAST(removed_on AS TEXT) '
        "FROM list_memberships"
    )
    cols = _columns(_rows(session, sql), 4)
    return ListEntries(
        rows_of(codes, cols[0]),
        factorize(cols[1], LISTS)[0].astype(np.int8),
        _dates(cols[2]),
        _dates(cols[3]),
    )
