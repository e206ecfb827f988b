"""Load the city from the database into the columnar kernel types, in one streaming
query per table (never a query per enterprise)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from inspect_engine.sampling.frames import (
    Coded,
    EnterpriseColumns,
    InspectionHistory,
    TagSet,
    rows_of,
)
from models import Inspection, RiskScore

CHUNK = 100_000
IN_BATCH = 5_000


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


PROFILE_SEPARATOR = "|"
# One text per enterprise for everything categorical: a city has far fewer distinct
# profiles than enterprises, so each is split and encoded once, not once per row.
_PROFILE = (
    "e.status || '|' || e.entity_type || '|' || e.industry || '|' || e.district || '|' || "
    "e.unit || '|' || COALESCE(e.licences, '')"
)


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

    Read through the driver's cursor in chunks: at 2.7 million rows the ORM's row objects
    would cost more than the whole draw. `only` restricts the load to some enterprises
    (e.g. the month's selections); their history is then left empty, as only frames use it.
    """
    version = latest_model_version(session)
    order = ' COLLATE "C"' if session.get_bind().dialect.name == "postgresql" else ""
    sql = (
        f"SELECT e.credit_code, {_PROFILE}, CAST(e.registered_on AS TEXT), r.risk_class "
        "FROM enterprises e LEFT OUTER JOIN risk_scores r "
        "ON r.credit_code = e.credit_code AND r.model_version_id = :version"
    )
    profiles = _Encoder()
    codes: list[NDArray[np.str_]] = []
    profile_parts: list[NDArray[np.int32]] = []
    registered: list[NDArray[np.datetime64]] = []
    risk_classes: list[NDArray[np.str_]] = []
    for chunk in _raw_chunks(session, sql, order, version, only):
        columns = list(zip(*chunk, strict=True))
        codes.append(np.array(columns[0], dtype="<U18"))
        profile_parts.append(profiles.encode(columns[1]))
        registered.append(np.array(columns[2], dtype="datetime64[D]"))
        risk_classes.append(np.array([c or "" for c in columns[3]], dtype="<U1"))
    credit_code = np.concatenate(codes) if codes else np.zeros(0, "<U18")
    profile = np.concatenate(profile_parts) if profile_parts else np.zeros(0, np.int32)
    split = [p.split(PROFILE_SEPARATOR) for p in profiles.vocabulary]
    return EnterpriseColumns(
        credit_code=credit_code,
        status=_column(split, 0, profile),
        entity_type=_column(split, 1, profile),
        industry=_column(split, 2, profile),
        district=_column(split, 3, profile),
        unit=_column(split, 4, profile),
        registered_on=np.concatenate(registered) if registered else np.zeros(0, "datetime64[D]"),
        licences=_licences(split, profile),
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


def _column(split: list[list[str]], position: int, profile: NDArray[np.int32]) -> Coded:
    """One categorical column from the profile codes, by a lookup table per profile."""
    encoder = _Encoder()
    per_profile = encoder.encode([parts[position] for parts in split])
    return Coded(per_profile[profile] if profile.size else profile, tuple(encoder.vocabulary))


def _licences(split: list[list[str]], profile: NDArray[np.int32]) -> TagSet:
    per_profile = TagSet.from_cells([parts[5] or None for parts in split])
    bits = per_profile.bits[profile] if profile.size else np.zeros(0, np.uint64)
    return TagSet(bits, per_profile.vocabulary)


def _raw_chunks(
    session: Session, sql: str, order: str, version: int | None, only: Sequence[str] | None
) -> Iterator[Sequence[Any]]:
    connection = session.connection()
    if only is None:
        statement = text(f"{sql} ORDER BY e.credit_code{order}")
        result = connection.execute(statement, {"version": version})
        while rows := result.fetchmany(CHUNK):
            yield rows
        return
    wanted = sorted(set(only))
    for start in range(0, len(wanted), IN_BATCH):
        batch = wanted[start : start + IN_BATCH]
        statement = text(f"{sql} WHERE e.credit_code IN :codes ORDER BY e.credit_code{order}")
        statement = statement.bindparams(bindparam("codes", expanding=True))
        rows = connection.execute(statement, {"version": version, "codes": batch}).all()
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
