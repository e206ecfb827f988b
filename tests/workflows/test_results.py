"""The results workflow: submit, review, import, publish, correct, withdraw, overdue,
outliers. The city is drawn for September 2026; every enterprise is unclassed, so its λ is
the B ratio of the task: 0.1 in 2026-09-INFO, 0.2 in 2026-09-FOOD (tests/api/servicecity)."""

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.workflows import results
from inspect_engine.workflows.imports import ImportRejected
from inspect_engine.workflows.users import Forbidden
from tests.api import servicecity
from tests.api.servicecity import MONTH, City

TODAY = date(2026, 10, 15)
ALL = None  # every department (admins, the CLI)


@pytest.fixture
def city(session: Session, tmp_path: Path) -> City:
    return servicecity.populate(session, tmp_path)


def _submit(session: Session, inspector: str, visit: str, item: str, code: str, day: date) -> int:
    row = results.submit_result(
        session,
        inspector_id=inspector,
        visit_code=visit,
        item_code=item,
        result=code,
        inspected_on=day,
        today=TODAY,
        actor=inspector,
    )
    return row.id


def _history(session: Session) -> list[models.Inspection]:
    return list(session.scalars(select(models.Inspection).order_by(models.Inspection.id)))


def test_from_submission_to_publication_and_history(session: Session, city: City) -> None:
    visit = city.visits_of("S01", "SAMR-FOOD", "SAMR-INFO")[0]
    food = _submit(session, "S01", visit, "SAMR-FOOD", "pending", date(2026, 9, 24))
    info = _submit(session, "S01", visit, "SAMR-INFO", "no_problem", date(2026, 9, 24))
    results.review_result(session, food, approve=False, reason="日期有误", departments={"SAMR"})
    returned = session.get(models.Result, food)
    assert returned is not None and returned.status == "returned"
    assert returned.review_note == "日期有误"
    food = _submit(session, "S01", visit, "SAMR-FOOD", "corrected", date(2026, 9, 24))
    for result_id in (food, info):
        results.review_result(session, result_id, approve=True, departments={"SAMR"})
    report = results.publish_month(session, MONTH, departments=ALL, today=TODAY)
    assert (report.published, report.visits, report.late, report.history_rows) == (2, 1, 0, 2)
    publications = {p.item_code: p for p in session.scalars(select(models.Publication))}
    # 20 working days after Thu 24 Sep 2026, over Mid-Autumn and National Day: 29 Oct
    assert {p.due_on for p in publications.values()} == {date(2026, 10, 29)}
    assert publications["SAMR-FOOD"].task_code == "2026-09-FOOD"
    assert publications["SAMR-INFO"].task_code == "2026-09-INFO"
    food = publications["SAMR-FOOD"]
    assert food.enterprise_name == city.names[food.credit_code]
    history = {h.item_code: h for h in _history(session)}
    # the 1/π weights use the π each task's frame recorded for the unit, not its λ
    recorded = dict(
        session.execute(
            select(models.Selection.task_code, models.Selection.pi).where(
                models.Selection.credit_code == food.credit_code
            )
        )
        .tuples()
        .all()
    )
    assert history["SAMR-FOOD"].inclusion_probability == float(recorded["2026-09-FOOD"])
    assert history["SAMR-INFO"].inclusion_probability == float(recorded["2026-09-INFO"])
    assert float(recorded["2026-09-FOOD"]) == pytest.approx(0.2, rel=0.02)  # λ asked: 0.2
    assert {h.inspector_id for h in history.values()} == {"S01"}  # the team lead
    assert history["SAMR-FOOD"].result == "corrected"
    assert history["SAMR-FOOD"].department == "SAMR"
    stored = session.scalars(select(models.Visit).where(models.Visit.visit_code == visit)).one()
    assert stored.status == "visited"
    again = results.publish_month(session, MONTH, departments=ALL, today=TODAY)
    assert again.published == 0 and len(_history(session)) == 2
    actions = session.scalars(select(models.AuditEntry.action)).all()
    for action in ("result.submit", "result.return", "result.approve", "result.publish"):
        assert action in actions


def test_an_inspector_reports_only_on_his_own_visits(session: Session, city: City) -> None:
    # a company visit of the INFO task only (the draw's nonce is random: pick, don't assume)
    mine = next(v for v in city.visits_of("S01", "SAMR-INFO") if len(city.visits[v][1]) == 1)
    theirs = city.visits_of("S02", "SAMR-INFO")[0]
    with pytest.raises(NotFound):
        _submit(session, "S01", theirs, "SAMR-INFO", "no_problem", date(2026, 9, 10))
    with pytest.raises(NotFound):
        results.inspector_visit(session, "S01", theirs)
    assert results.inspector_visit(session, "S01", mine).visit_code == mine
    listed = results.inspector_visits(session, "S01", MONTH, limit=1000)
    assert {v.visit_code for v in listed} == set(city.visits_of("S01"))
    with pytest.raises(InvalidInput, match="not part of visit"):
        _submit(session, "S01", mine, "FIRE-CATER", "no_problem", date(2026, 9, 10))
    with pytest.raises(InvalidInput, match="future"):
        _submit(session, "S01", mine, "SAMR-INFO", "no_problem", date(2026, 10, 16))
    with pytest.raises(InvalidInput, match="before the plan month"):
        _submit(session, "S01", mine, "SAMR-INFO", "no_problem", date(2026, 8, 31))
    with pytest.raises(InvalidInput, match="not a result code"):
        _submit(session, "S01", mine, "SAMR-INFO", "fine", date(2026, 9, 10))
    result_id = _submit(session, "S01", mine, "SAMR-INFO", "no_problem", date(2026, 9, 10))
    results.review_result(session, result_id, approve=True, departments={"SAMR"})
    with pytest.raises(Conflict, match="only a supervisor"):
        _submit(session, "S01", mine, "SAMR-INFO", "pending", date(2026, 9, 10))


def test_review_is_scoped_to_the_supervisors_departments(session: Session, city: City) -> None:
    visit = city.visits_of("S01", "FIRE-CATER")[0]
    fire = _submit(session, "S01", visit, "FIRE-CATER", "no_problem", date(2026, 9, 10))
    with pytest.raises(Forbidden):
        results.review_result(session, fire, approve=True, departments={"SAMR"})
    with pytest.raises(InvalidInput, match="reason"):
        results.review_result(session, fire, approve=False, reason=" ", departments={"FIRE"})
    results.review_result(session, fire, approve=True, departments={"FIRE"})
    with pytest.raises(Conflict):
        results.review_result(session, fire, approve=True, departments={"FIRE"})
    # publishing for SAMR leaves FIRE's reviewed result unpublished
    assert results.publish_month(session, MONTH, departments={"SAMR"}, today=TODAY).published == 0
    assert results.publish_month(session, MONTH, departments={"FIRE"}, today=TODAY).published == 1


def _results_file(tmp_path: Path, lines: list[str], name: str = "results.csv") -> Path:
    path = tmp_path / name
    header = "visit_id,item_code,result,inspected_on,note"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def test_results_import_is_validated_all_or_nothing_and_idempotent(
    session: Session, city: City, tmp_path: Path
) -> None:
    first, second = city.visits_of("S02", "SAMR-INFO")[:2]
    good = [
        f"{first},SAMR-INFO,no_problem,2026-09-21,",
        f"{second},SAMR-INFO,not_disclosed,2026-09-22,年报未公示",
    ]
    bad = [
        *good,
        "2026-09-999999,SAMR-INFO,no_problem,2026-09-21,",  # row 4: unknown visit
        f"{first},SAMR-INFO,no_problem,2026-09-21,",  # row 5: twice in the file
        f"{second},SAMR-INFO,maybe,2026-09-21,",  # row 6: not a result code
        f"{second},SAMR-INFO,no_problem,2026-08-01,",  # row 7: before the month
    ]
    with pytest.raises(ImportRejected) as caught:
        results.import_results(session, _results_file(tmp_path, bad), today=TODAY)
    assert [(e.row, e.column) for e in caught.value.errors] == [
        (4, "visit_id"),
        (5, "item_code"),
        (6, "result"),
        (7, "inspected_on"),
    ]
    assert session.scalars(select(models.Result)).all() == []
    report = results.import_results(session, _results_file(tmp_path, good), today=TODAY)
    assert (report.rows, report.new, report.updated, report.unchanged) == (2, 2, 0, 0)
    assert {r.status for r in session.scalars(select(models.Result))} == {"reviewed"}
    again = results.import_results(session, _results_file(tmp_path, good), today=TODAY)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)
    results.publish_month(session, MONTH, departments=ALL, today=TODAY)
    assert (
        results.import_results(session, _results_file(tmp_path, good), today=TODAY).unchanged == 2
    )
    changed = [good[0], good[1].replace("not_disclosed", "no_problem")]
    with pytest.raises(ImportRejected, match="correct it instead"):
        results.import_results(session, _results_file(tmp_path, changed), today=TODAY)
    outside = [f"{first},SAMR-INFO,no_problem,2026-09-21,"]
    with pytest.raises(ImportRejected, match="outside your departments"):
        results.import_results(
            session, _results_file(tmp_path, outside), departments={"FIRE"}, today=TODAY
        )


def _published(session: Session, city: City, tmp_path: Path) -> tuple[int, str]:
    visit = city.visits_of("S02", "SAMR-INFO")[0]
    line = f"{visit},SAMR-INFO,not_disclosed,2026-09-21,"
    results.import_results(session, _results_file(tmp_path, [line]), today=TODAY)
    results.publish_month(session, MONTH, departments=ALL, today=TODAY)
    result_id = session.scalars(select(models.Result.id)).one()
    return result_id, visit


def test_a_correction_adds_a_version_and_keeps_the_old_one(
    session: Session, city: City, tmp_path: Path
) -> None:
    result_id, _ = _published(session, city, tmp_path)
    new = results.correct_result(
        session, result_id, result="no_problem", reason="企业异议成立", departments={"SAMR"},
        today=TODAY,
    )  # fmt: skip
    old = session.scalars(
        select(models.Publication).where(models.Publication.result_id == result_id)
    ).one()
    assert (old.state, old.reason) == ("corrected", "企业异议成立")
    assert (new.state, new.version, new.corrects_id, new.result) == (
        "current",
        2,
        old.id,
        "no_problem",
    )
    assert new.due_on == old.due_on
    versions = session.scalars(select(models.Result).order_by(models.Result.version)).all()
    assert [(r.version, r.status) for r in versions] == [(1, "superseded"), (2, "published")]
    assert [h.result for h in _history(session)] == ["no_problem"]  # the label follows
    with pytest.raises(Conflict):
        results.correct_result(
            session, result_id, result="pending", reason="x", departments=ALL, today=TODAY
        )
    with pytest.raises(InvalidInput):
        results.correct_result(
            session, versions[1].id, result="pending", reason=" ", departments=ALL, today=TODAY
        )


def test_a_withdrawal_keeps_the_publication_and_drops_the_label(
    session: Session, city: City, tmp_path: Path
) -> None:
    result_id, _ = _published(session, city, tmp_path)
    with pytest.raises(Forbidden):
        results.withdraw_result(session, result_id, reason="无效", departments={"FIRE"})
    withdrawn = results.withdraw_result(session, result_id, reason="检查无效", departments=ALL)
    assert (withdrawn.state, withdrawn.reason) == ("withdrawn", "检查无效")
    assert session.scalars(select(models.Publication)).one().state == "withdrawn"
    assert _history(session) == []
    assert "result.withdraw" in session.scalars(select(models.AuditEntry.action)).all()


def test_overdue_counts_working_days_over_national_day(session: Session, city: City) -> None:
    visit = city.visits_of("S01", "SAMR-INFO")[0]
    late = _submit(session, "S01", visit, "SAMR-INFO", "no_problem", date(2026, 9, 24))
    # due 29 Oct (hand count in tests/publication); plain weekdays would say 22 Oct
    for as_of in (date(2026, 10, 23), date(2026, 10, 29)):
        assert results.overdue_results(session, as_of=as_of, departments=ALL) == []
    found = results.overdue_results(session, as_of=date(2026, 10, 30), departments=ALL)
    assert [(o.result_id, o.due_on) for o in found] == [(late, date(2026, 10, 29))]
    assert results.overdue_results(session, as_of=date(2026, 10, 30), departments={"FIRE"}) == []
    results.review_result(session, late, approve=True, departments=ALL)
    results.publish_month(session, MONTH, departments=ALL, today=date(2026, 10, 30))
    assert results.overdue_results(session, as_of=date(2026, 11, 30), departments=ALL) == []


def test_publication_does_not_wait_for_next_years_calendar(session: Session, city: City) -> None:
    # a visit carried over to late December: its deadline falls in a year the installed
    # calendar does not know; the result is published all the same, its due date provisional
    visit = city.visits_of("S01", "SAMR-INFO")[0]
    december = date(2026, 12, 21)
    result_id = results.submit_result(
        session,
        inspector_id="S01",
        visit_code=visit,
        item_code="SAMR-INFO",
        result="no_problem",
        inspected_on=december,
        today=december,
    ).id
    results.review_result(session, result_id, approve=True, departments=ALL)
    report = results.publish_month(session, MONTH, departments=ALL, today=december)
    assert (report.published, report.late) == (1, 0)
    stored = session.scalars(select(models.Publication)).one()
    # 22–25, 28–31 Dec, 2027 guessed Monday–Friday: 1, 4–8, 11–15, 18 Jan
    assert (stored.due_on, stored.due_provisional) == (date(2027, 1, 18), True)


def test_inspector_outliers_separate_strict_and_lenient_teams(
    session: Session, city: City, tmp_path: Path
) -> None:
    lines = []
    for visit, (team, items) in sorted(city.visits.items()):
        code = "not_disclosed" if "S01" in team else "no_problem"
        lines.append(f"{visit},{items[-1]},{code},2026-09-21,")
    results.import_results(session, _results_file(tmp_path, lines), today=TODAY)
    results.publish_month(session, MONTH, departments=ALL, today=TODAY)
    found = results.inspector_outliers(
        session,
        date_from=date(2026, 9, 1),
        date_to=date(2026, 9, 30),
        departments=ALL,
        z_limit=2.0,
    )
    flags = {o.inspector_id: o.flag for o in found}
    assert flags == {"S01": 1, "F01": 1, "S02": -1, "F02": -1}
    s01 = next(o for o in found if o.inspector_id == "S01")
    assert s01.visits == len(city.visits_of("S01")) and s01.problems == s01.visits
    with pytest.raises(InvalidInput):
        results.inspector_outliers(
            session, date_from=date(2026, 9, 30), date_to=date(2026, 9, 1), departments=ALL
        )


def test_the_plan_is_published_after_its_teams(session: Session, city: City) -> None:
    plan = results.publish_plan(session, MONTH)
    assert plan.status == "published" and plan.published_at is not None
    assert results.publish_plan(session, MONTH).published_at == plan.published_at
    with pytest.raises(NotFound):
        results.publish_plan(session, "2026-10")
