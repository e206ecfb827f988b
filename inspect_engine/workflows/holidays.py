"""The official calendar in force: imported years (holidays.csv) over the package.

`calendar(session)` hands the kernels the imported exceptions as data. Importing a year
replaces everything stored for that year, then recomputes the stored due dates the year
can change (those provisional, and those counted across it)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from inspect_engine.publication import deadlines
from inspect_engine.workcalendar import Calendar
from models import CalendarDay, Publication

# More than this in one year is not a State Council notice (they give 10 to 20 weekday
# holidays and up to about 8 worked weekend days): refuse instead of moving every deadline.
MAX_HOLIDAYS_PER_YEAR = 40
MAX_WORKDAYS_PER_YEAR = 20
RECOMPUTE_BATCH = 5000


def calendar(session: Session) -> Calendar:
    """The imported years' exceptions, for the kernels (the package answers the rest)."""
    rows = session.execute(select(CalendarDay.day, CalendarDay.kind)).tuples().all()
    return Calendar.of(rows)


class YearLimits:
    """Counts a file's rows per year and kind; a year past the limits is refused."""

    def __init__(self) -> None:
        self.counts: dict[tuple[int, str], int] = {}

    def problem(self, day: date, kind: str) -> str | None:
        key = (day.year, kind)
        self.counts[key] = self.counts.get(key, 0) + 1
        limit = MAX_HOLIDAYS_PER_YEAR if kind == "holiday" else MAX_WORKDAYS_PER_YEAR
        if self.counts[key] == limit + 1:
            return (
                f"more than {limit} {kind}s in {day.year}: a State Council notice gives far "
                "fewer; is this the right file?"
            )
        return None


def replace_years(session: Session, rows: list[dict[str, Any]], cleared: set[int]) -> None:
    """Stores a batch of holidays.csv rows; a year's earlier rows go on its first batch."""
    years = {row["date"].year for row in rows} - cleared
    if years:
        session.execute(delete(CalendarDay).where(CalendarDay.year.in_(sorted(years))))
        cleared |= years
    session.add_all(
        CalendarDay(day=r["date"], year=r["date"].year, kind=r["kind"], name=r["name"])
        for r in rows
    )
    session.flush()


def recompute_due_dates(session: Session, years: Iterable[int]) -> int:
    """Recounts the stored due dates an imported year may change: provisional or missing
    ones, and those whose counting touches the year. A correction keeps the deadline of
    the publication it corrects. Returns how many changed."""
    spans = [(date(y, 1, 1), date(y, 12, 31)) for y in sorted(set(years))]
    if not spans:
        return 0
    touched = [Publication.inspected_on.between(a, b) for a, b in spans]
    touched += [Publication.due_on.between(a, b) for a, b in spans]
    query = (
        select(
            Publication.id,
            Publication.corrects_id,
            Publication.inspected_on,
            Publication.due_on,
            Publication.due_provisional,
        )
        .where(or_(Publication.due_provisional, Publication.due_on.is_(None), *touched))
        .order_by(Publication.id)
    )
    rows = session.execute(query).all()
    if not rows:
        return 0
    found = deadlines.due_dates(
        np.array([r.inspected_on for r in rows], dtype="datetime64[D]"),
        calendar=calendar(session),
    )
    new: dict[int, tuple[date, bool]] = {}
    for row, day, guess in zip(rows, found.due_on, found.provisional, strict=True):
        new[row.id] = (day.item(), bool(guess))
        if row.corrects_id is not None:
            new[row.id] = new.get(row.corrects_id) or _stored_due(session, row.corrects_id)
    changed = [
        {"id": r.id, "due_on": new[r.id][0], "due_provisional": new[r.id][1]}
        for r in rows
        if (r.due_on, r.due_provisional) != new[r.id]
    ]
    for start in range(0, len(changed), RECOMPUTE_BATCH):  # ORM bulk update by primary key
        session.execute(update(Publication), changed[start : start + RECOMPUTE_BATCH])
    return len(changed)


def _stored_due(session: Session, publication_id: int) -> tuple[date, bool]:
    due_on, provisional = session.execute(
        select(Publication.due_on, Publication.due_provisional).where(
            Publication.id == publication_id
        )
    ).one()
    # not None: a predecessor without a due date is selected, so found in `new`
    assert due_on is not None, publication_id
    return due_on, bool(provisional)
