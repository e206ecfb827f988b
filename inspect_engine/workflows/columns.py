"""Load the city from the database into the columnar kernel types, in one streaming
query per table (never a query per enterprise)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from inspect_engine.sampling.frames import (
    Coded,
    EnterpriseColumns,
    InspectionHistory,
    TagSet,
    rows_of,
)
from models import Enterprise, Inspection, RiskScore

CHUNK = 100_000
IN_BATCH = 5_000


def byte_order(session: Session, column: Any) -> ColumnElement[Any]:
    """ORDER BY in byte order (ie-draw-v1 sorts credit codes by bytes)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")  # type: ignore[no-any-return]
    return column  # type: ignore[no-any-return]


class _Encoder:
    """Incremental categorical encoding: value -> small integer, vocabulary in order seen."""

    def __init__(self) -> None:
        self.vocabulary: dict[str, int] = {}

    def encode(self, values: Sequence[str]) -> NDArray[np.int32]:
        vocab = self.vocabulary
        return np.fromiter(
            (vocab.setdefault(v, len(vocab)) for v in values), np.int32, count=len(values)
        )

    def coded(self, parts: list[NDArray[np.int32]]) -> Coded:
        codes = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        return Coded(codes, tuple(self.vocabulary))


def latest_model_version(session: Session) -> int | None:
    return session.scalar(select(func.max(RiskScore.model_version_id)))


def load_enterprise_columns(
    session: Session,
    *,
    as_of: date,
    year: int,
    departments: Iterable[str],
    only: Sequence[str] | None = None,
) -> EnterpriseColumns:
    """The directory sorted by credit code, with each enterprise's current risk class
    (from the latest scores; '' where unclassed) and the history the exclusions need:
    inspections in `year` before `as_of` and the last inspection per department.

    `only` restricts the load to some enterprises (e.g. the month's selections); their
    history is then left empty, as only frames need it."""
    version = latest_model_version(session)
    risk = (
        select(RiskScore.credit_code, RiskScore.risk_class)
        .where(RiskScore.model_version_id == version)
        .subquery()
    )
    query = (
        select(
            Enterprise.credit_code,
            Enterprise.status,
            Enterprise.entity_type,
            Enterprise.industry,
            Enterprise.district,
            Enterprise.unit,
            Enterprise.registered_on,
            Enterprise.licences,
            risk.c.risk_class,
        )
        .outerjoin(risk, risk.c.credit_code == Enterprise.credit_code)
        .order_by(byte_order(session, Enterprise.credit_code))
        .execution_options(yield_per=CHUNK)
    )
    encoders = {
        name: _Encoder() for name in ("status", "entity_type", "industry", "district", "unit")
    }
    parts: dict[str, list[Any]] = {name: [] for name in encoders}
    codes: list[NDArray[np.str_]] = []
    registered: list[NDArray[np.datetime64]] = []
    risk_classes: list[NDArray[np.str_]] = []
    licences: list[str | None] = []
    for chunk in _chunks(session, query, only):
        columns = list(zip(*chunk, strict=True))
        codes.append(np.array(columns[0], dtype="<U18"))
        for position, name in enumerate(encoders, start=1):
            parts[name].append(encoders[name].encode(columns[position]))
        registered.append(np.array(columns[6], dtype="datetime64[D]"))
        licences.extend(columns[7])
        risk_classes.append(np.array([c or "" for c in columns[8]], dtype="<U1"))
    credit_code = np.concatenate(codes) if codes else np.zeros(0, "<U18")
    return EnterpriseColumns(
        credit_code=credit_code,
        status=encoders["status"].coded(parts["status"]),
        entity_type=encoders["entity_type"].coded(parts["entity_type"]),
        industry=encoders["industry"].coded(parts["industry"]),
        district=encoders["district"].coded(parts["district"]),
        unit=encoders["unit"].coded(parts["unit"]),
        registered_on=np.concatenate(registered) if registered else np.zeros(0, "datetime64[D]"),
        licences=TagSet.from_cells(licences),
        risk_class=np.concatenate(risk_classes) if risk_classes else np.zeros(0, "<U1"),
        history=(
            load_inspection_history(session, credit_code, as_of, year, departments)
            if only is None
            else InspectionHistory(
                year,
                np.zeros(credit_code.shape[0], np.int32),
                {d: np.full(credit_code.shape[0], np.datetime64("NaT")) for d in departments},
            )
        ),
    )


def _chunks(session: Session, query: Any, only: Sequence[str] | None) -> Iterator[Sequence[Any]]:
    if only is None:
        yield from session.execute(query).partitions(CHUNK)
        return
    wanted = sorted(set(only))
    for start in range(0, len(wanted), IN_BATCH):
        batch = wanted[start : start + IN_BATCH]
        rows = session.execute(query.where(Enterprise.credit_code.in_(batch))).all()
        if rows:
            yield rows


def load_inspection_history(
    session: Session,
    credit_code: NDArray[np.str_],
    as_of: date,
    year: int,
    departments: Iterable[str],
) -> InspectionHistory:
    """Every inspection counts here, random or not (the caps are about total burden)."""
    size = credit_code.shape[0]
    before = Inspection.inspected_on < as_of
    counted = (
        select(Inspection.credit_code, func.count())
        .where(before, Inspection.inspected_on >= date(year, 1, 1))
        .group_by(Inspection.credit_code)
    )
    counts = np.zeros(size, np.int32)
    rows = session.execute(counted).all()
    if rows:
        codes, numbers = zip(*rows, strict=True)
        counts[rows_of(credit_code, codes)] = np.asarray(numbers, np.int32)
    latest = (
        select(Inspection.department, Inspection.credit_code, func.max(Inspection.inspected_on))
        .where(before)
        .group_by(Inspection.department, Inspection.credit_code)
    )
    last: dict[str, NDArray[np.datetime64]] = {
        d: np.full(size, np.datetime64("NaT"), "datetime64[D]") for d in departments
    }
    found = session.execute(latest).all()
    if found:
        depts = np.array([r[0] for r in found], dtype=str)
        at = rows_of(credit_code, [r[1] for r in found])
        days = np.array([r[2] for r in found], dtype="datetime64[D]")
        for department in np.unique(depts).tolist():
            column = last.setdefault(
                department, np.full(size, np.datetime64("NaT"), "datetime64[D]")
            )
            mine = depts == department
            column[at[mine]] = days[mine]
    return InspectionHistory(year, counts, last)
