"""The calendar import (holidays.csv) and the due dates it settles, across New Year 2027
(the installed package knows 2026 at the latest). The city is drawn for September 2026;
a visit carried to late December reports results whose deadlines fall in January."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.workflows import holidays, results, staffing
from inspect_engine.workflows.imports import ImportRejected, import_file
from tests.api import servicecity
from tests.api.servicecity import MONTH, City

ALL = None
HEADER = "date,kind,name\n"
NOTICE_2027 = (
    HEADER + "2027-01-01,holiday,元旦\n2027-02-08,holiday,春节\n2027-02-14,workday,春节调休\n"
)


@pytest.fixture
def city(session: Session, tmp_path: Path) -> City:
    return servicecity.populate(session, tmp_path)


def _file(tmp_path: Path, text: str, name: str = "holidays.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _reviewed(session: Session, city: City, inspected_on: date) -> int:
    visit = city.visits_of("S01", "SAMR-INFO")[0]
    result_id = results.submit_result(
        session,
        inspector_id="S01",
        visit_code=visit,
        item_code="SAMR-INFO",
        result="no_problem",
        inspected_on=inspected_on,
        today=inspected_on,
    ).id
    results.review_result(session, result_id, approve=True, departments=ALL)
    return result_id


def test_the_overdue_list_gives_provisional_dates_until_the_year_is_imported(
    session: Session, city: City, tmp_path: Path
) -> None:
    late = _reviewed(session, city, date(2026, 12, 21))
    # guessed: 22–25, 28–31 Dec, 1, 4–8, 11–15, 18 Jan → due 18 Jan, overdue on the 19th
    found = results.overdue_results(session, as_of=date(2027, 1, 19), departments=ALL)
    assert [(o.result_id, o.due_on, o.due_provisional) for o in found] == [
        (late, date(2027, 1, 18), True)
    ]
    import_file(session, "holidays", _file(tmp_path, NOTICE_2027), actor="admin")
    # 1 Jan is a holiday: due 19 Jan, final; not overdue on the 19th, overdue on the 20th
    assert results.overdue_results(session, as_of=date(2027, 1, 19), departments=ALL) == []
    found = results.overdue_results(session, as_of=date(2027, 1, 20), departments=ALL)
    assert [(o.result_id, o.due_on, o.due_provisional) for o in found] == [
        (late, date(2027, 1, 19), False)
    ]


def test_importing_the_year_recomputes_stored_provisional_due_dates(
    session: Session, city: City, tmp_path: Path
) -> None:
    result_id = _reviewed(session, city, date(2026, 12, 21))
    results.publish_month(session, MONTH, departments=ALL, today=date(2026, 12, 21))
    results.correct_result(
        session, result_id, result="corrected", reason="企业已整改", departments=ALL,
        today=date(2026, 12, 28),
    )  # fmt: skip
    due = select(models.Publication.due_on, models.Publication.due_provisional)
    assert set(session.execute(due).tuples()) == {(date(2027, 1, 18), True)}
    report = import_file(session, "holidays", _file(tmp_path, NOTICE_2027), actor="admin")
    assert (report.rows, report.due_dates_changed) == (3, 2)  # the original and its correction
    session.expire_all()
    assert set(session.execute(due).tuples()) == {(date(2027, 1, 19), False)}
    entry = session.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "import.holidays")
    ).one()
    assert entry.actor == "admin" and entry.details["years"] == [2027]


def test_a_final_due_date_outside_the_imported_year_is_left_alone(
    session: Session, city: City, tmp_path: Path
) -> None:
    _reviewed(session, city, date(2026, 11, 2))
    results.publish_month(session, MONTH, departments=ALL, today=date(2026, 11, 2))
    before = session.execute(select(models.Publication.due_on)).scalar_one()
    report = import_file(session, "holidays", _file(tmp_path, NOTICE_2027), actor="admin")
    assert report.due_dates_changed == 0
    assert session.execute(select(models.Publication.due_on)).scalar_one() == before


def test_a_reimported_year_replaces_the_earlier_file(session: Session, tmp_path: Path) -> None:
    import_file(session, "holidays", _file(tmp_path, NOTICE_2027))
    assert not holidays.calendar(session).is_workday(date(2027, 2, 8))
    # the corrected notice moves the Spring Festival day off from 8 to 9 February
    fixed = HEADER + "2027-01-01,holiday,元旦\n2027-02-09,holiday,春节\n"
    import_file(session, "holidays", _file(tmp_path, fixed, "fixed.csv"))
    calendar = holidays.calendar(session)
    assert calendar.is_workday(date(2027, 2, 8)) and not calendar.is_workday(date(2027, 2, 9))
    assert not calendar.is_workday(date(2027, 2, 14))  # the old worked Sunday is gone
    assert session.scalars(select(models.CalendarDay.day)).all() == [
        date(2027, 1, 1),
        date(2027, 2, 9),
    ]


@pytest.mark.parametrize(
    ("line", "column", "reason"),
    [
        ("2027-01-02,holiday,元旦", "date", "Saturday, a day off anyway"),
        ("2027-01-04,workday,调休", "date", "Monday, a working day anyway"),
        ("2027-01-04,day_off,元旦", "kind", "not one of holiday, workday"),
        ("2027-02-30,holiday,春节", "date", "not a date"),
    ],
)
def test_a_bad_calendar_row_is_refused_with_its_row_and_reason(
    session: Session, tmp_path: Path, line: str, column: str, reason: str
) -> None:
    path = _file(tmp_path, NOTICE_2027 + line + "\n")
    with pytest.raises(ImportRejected) as refused:
        import_file(session, "holidays", path)
    [error] = refused.value.errors
    assert (error.row, error.column) == (5, column) and reason in error.reason
    assert session.scalars(select(models.CalendarDay)).all() == []


def test_a_file_that_makes_a_whole_season_holidays_is_refused(
    session: Session, tmp_path: Path
) -> None:
    """An importer who would stretch every deadline by declaring months of holidays."""
    weekdays = [date.fromordinal(date(2027, 3, 1).toordinal() + k) for k in range(80)]
    rows = [f"{d.isoformat()},holiday,假\n" for d in weekdays if d.weekday() < 5]
    with pytest.raises(ImportRejected, match="more than 40 holidays in 2027"):
        import_file(session, "holidays", _file(tmp_path, HEADER + "".join(rows)))
    assert holidays.calendar(session).years == frozenset()


def test_the_freeze_counts_the_months_working_days_on_the_imported_year(
    session: Session, tmp_path: Path
) -> None:
    frozen_at = datetime(2026, 12, 28, 2, tzinfo=UTC)
    guessed = staffing.window_month(date(2027, 1, 1), frozen_at, holidays.calendar(session))
    assert guessed.calendar_source == "weekdays" and date(2027, 1, 1) in guessed.working_days
    import_file(session, "holidays", _file(tmp_path, NOTICE_2027))
    final = staffing.window_month(date(2027, 1, 1), frozen_at, holidays.calendar(session))
    assert final.calendar_source == "imported"
    assert set(guessed.working_days) - set(final.working_days) == {date(2027, 1, 1)}
