"""The progress board after a month run on the tiny city: every figure is checked against
direct queries of the database (and the results workflow's own overdue list), not
against the board's code."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import models
from inspect_engine.workflows import field, results
from inspect_engine.workflows.assignment import reassign_inspector
from inspect_engine.workflows.imports import import_file
from tests.field import fieldcity

AS_OF = date(2026, 12, 31)
EARLY, LATE = date(2026, 12, 1), date(2026, 12, 21)


def _visits(session: Session) -> list[models.Visit]:
    return list(session.scalars(select(models.Visit).order_by(models.Visit.visit_code)))


def _work_the_month(session: Session, folder: Path) -> dict[str, int]:
    """Reports, reviews, publication, a correction, a withdrawal, an imported conflict, a
    re-assignment and the enterprises' records: a month half done. Returns ids the test
    looks at again."""
    visits = _visits(session)
    done = visits[:24]
    for n, visit in enumerate(done):
        lead = fieldcity.team_of(session, visit.id)[0]
        for item in visit.item_codes:
            results.submit_result(
                session,
                inspector_id=lead,
                visit_code=visit.visit_code,
                item_code=item,
                result="no_problem" if n % 3 else "corrected",
                inspected_on=EARLY if n < 12 else LATE,
                today=AS_OF,
                actor=f"team-{lead}",
            )
    submitted = results.list_results(session, departments=None, status="submitted", limit=500)
    for k, row in enumerate(submitted):
        if k % 4 == 3:
            continue  # left waiting for review
        approve = k % 7 != 5
        results.review_result(
            session, row.result_id, approve=approve, reason=None if approve else "照片不清",
            departments=None, actor="sup_all",
        )  # fmt: skip
    results.publish_month(session, fieldcity.MONTH, today=AS_OF, actor="sup_all")
    published = results.list_results(session, departments=None, status="published", limit=500)
    samr = next(r for r in published if r.department == "SAMR")
    fire = next(r for r in published if r.department == "FIRE")
    results.correct_result(
        session, samr.result_id, result="pending", reason="企业异议，复核后更正",
        departments=None, today=AS_OF, actor="sup_samr",
    )  # fmt: skip
    results.withdraw_result(
        session, fire.result_id, reason="检查无效", departments=None, actor="sup_fire"
    )
    open_members = Counter(
        session.scalars(
            select(models.TeamMember.inspector_id)
            .join(models.Visit, models.Visit.id == models.TeamMember.visit_id)
            .where(models.Visit.status == "planned", models.TeamMember.replaced_at.is_(None))
        )
    )
    busiest = max(sorted(open_members), key=lambda i: open_members[i])
    # a conflict declared for a member of an open visit, from the directory's import
    planned = next(v for v in visits[24:] if busiest not in fieldcity.team_of(session, v.id))
    member = fieldcity.team_of(session, planned.id)[0]
    conflicts = folder / "conflicts.csv"
    conflicts.write_text(
        "inspector_id,credit_code,reason,raised_by,raised_on\n"
        f"{member},{planned.credit_code},亲属任职,enterprise,2026-12-20\n",
        encoding="utf-8",
    )
    assert import_file(session, "conflicts", conflicts, actor="sup_samr").team_events == 1
    reassign_inspector(session, fieldcity.MONTH, busiest, "病假", actor="sup_all")
    for k, visit in enumerate(done[:3]):
        assert visit.verify_token is not None
        field.record_feedback(session, visit.verify_token, took_place=k != 2, today=AS_OF)
    session.flush()
    return {"corrected": samr.result_id, "withdrawn": fire.result_id}


def _latest_statuses(session: Session) -> list[tuple[int, str, str, date, str]]:
    """(visit id, item, status, inspected_on, department) of each latest result version."""
    latest = (
        select(
            models.Result.visit_id,
            models.Result.item_code,
            func.max(models.Result.version).label("v"),
        )
        .group_by(models.Result.visit_id, models.Result.item_code)
        .subquery()
    )
    query = (
        select(
            models.Result.visit_id,
            models.Result.item_code,
            models.Result.status,
            models.Result.inspected_on,
            models.Item.department,
        )
        .join(
            latest,
            (latest.c.visit_id == models.Result.visit_id)
            & (latest.c.item_code == models.Result.item_code)
            & (latest.c.v == models.Result.version),
        )
        .join(models.Item, models.Item.item_code == models.Result.item_code)
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


REPORTED = {"submitted", "reviewed", "published", "withdrawn"}
REVIEWED = {"reviewed", "published", "withdrawn"}


def test_the_board_agrees_with_the_database(month: Session, tmp_path: Path) -> None:
    session = month
    ids = _work_the_month(session, tmp_path)
    board = field.month_board(session, fieldcity.MONTH, as_of=AS_OF)
    visits = _visits(session)
    total = board.total

    # visits
    assert total.drawn == len(visits) == session.scalar(select(func.count(models.Visit.id)))
    staffed = session.scalar(
        select(func.count(func.distinct(models.TeamMember.visit_id))).where(
            models.TeamMember.replaced_at.is_(None)
        )
    )
    assert total.assigned == staffed
    assert total.visited == session.scalar(
        select(func.count()).where(models.Visit.status == "visited")
    )
    assert total.visited == 24
    assert (
        total.confirmed
        == 2
        == session.scalar(select(func.count()).where(models.VisitFeedback.took_place.is_(True)))
    )

    # results
    latest = _latest_statuses(session)
    statuses = Counter(status for _, _, status, _, _ in latest)
    assert total.items == sum(len(v.item_codes) for v in visits)
    assert total.reported == sum(statuses[s] for s in REPORTED)
    assert total.reviewed == sum(statuses[s] for s in REVIEWED)
    assert total.returned == statuses["returned"] > 0
    assert total.withdrawn == statuses["withdrawn"] == 1
    assert total.published == session.scalar(
        select(func.count()).where(models.Publication.state == "current")
    )
    overdue = results.overdue_results(session, as_of=AS_OF, departments=None, limit=500)
    assert total.overdue == len(overdue) > 0
    assert all(o.inspected_on == EARLY for o in overdue)

    # per task: drawn is the task's selections
    selected = dict(
        session.execute(
            select(models.Selection.task_code, func.count()).group_by(models.Selection.task_code)
        )
        .tuples()
        .all()
    )
    assert {t.key: t.drawn for t in board.tasks} == selected
    task_items = dict(
        session.execute(select(models.Task.task_code, models.Task.items)).tuples().all()
    )
    for row in board.tasks:
        carried = [v for v in visits if row.key in v.task_codes]
        assert row.items == sum(len(set(v.item_codes) & set(task_items[row.key])) for v in carried)
        assert row.visited == sum(v.status == "visited" for v in carried)

    # per district
    by_district = dict(
        session.execute(
            select(models.Enterprise.district, func.count())
            .join(models.Visit, models.Visit.credit_code == models.Enterprise.credit_code)
            .group_by(models.Enterprise.district)
        )
        .tuples()
        .all()
    )
    assert {d.key: d.drawn for d in board.districts} == by_district
    assert sum(d.reported for d in board.districts) == total.reported

    # per department
    department_of = dict(
        session.execute(select(models.Item.item_code, models.Item.department)).tuples().all()
    )
    published = dict(
        session.execute(
            select(models.Publication.department, func.count())
            .where(models.Publication.state == "current")
            .group_by(models.Publication.department)
        )
        .tuples()
        .all()
    )
    for row in board.departments:
        assert row.drawn == sum(
            any(department_of[i] == row.key for i in v.item_codes) for v in visits
        )
        assert row.published == published.get(row.key, 0)
        assert row.reported == sum(s in REPORTED for _, _, s, _, d in latest if d == row.key)
        assert row.overdue == sum(o.department == row.key for o in overdue)

    # inspectors with open visits
    open_visits = Counter(
        session.scalars(
            select(models.TeamMember.inspector_id)
            .join(models.Visit, models.Visit.id == models.TeamMember.visit_id)
            .where(models.Visit.status != "visited", models.TeamMember.replaced_at.is_(None))
        )
    )
    assert {i.inspector_id: i.open_visits for i in board.inspectors} == dict(open_visits)
    assert [i.open_visits for i in board.inspectors] == sorted(open_visits.values(), reverse=True)

    # staffing events: the chain in order, each once, with who, why and where from
    rows = session.scalars(select(models.TeamEvent).order_by(models.TeamEvent.seq)).all()
    assert [(e.seq, e.kind, e.by, e.source, e.reason, e.event_hash) for e in board.events] == [
        (r.seq, r.kind, r.actor, r.source, r.reason, r.event_hash) for r in rows
    ]
    assert [e.kind for e in board.events] == ["conflict", "withdraw"]
    (withdraw,) = [e for e in board.events if e.manual]
    assert (withdraw.reason, withdraw.by, withdraw.source) == ("病假", "sup_all", "month reassign")
    assert (board.manual_events, board.directory_events) == (1, 1)
    # what each event changed is what the team rows record: closed places, new places
    replaced = session.execute(
        select(models.Visit.visit_code, models.TeamMember.inspector_id)
        .join(models.Visit, models.Visit.id == models.TeamMember.visit_id)
        .where(models.TeamMember.replaced_at.is_not(None))
    ).all()
    removed = [(t.visit_code, i) for e in board.events for t in e.teams for i in t.removed]
    assert sorted(removed) == sorted(tuple(r) for r in replaced) and len(removed) > 1
    assert all(t.added and not t.unstaffed for e in board.events for t in e.teams)
    conflict = board.events[0]
    assert conflict.by == "sup_samr" and conflict.source == "import conflicts conflicts.csv"
    assert conflict.reason == "亲属任职 (raised by enterprise, 2026-12-20)"  # the row's why
    assert [t.visit_code for t in conflict.teams] == [conflict_visit(session, conflict.detail)]
    # results changed by hand; the re-assignment is the withdraw event, not a change here
    assert {c.kind for c in board.changes} == {"correction", "withdrawal"}
    corrections = [c for c in board.changes if c.kind == "correction"]
    withdrawals = [c for c in board.changes if c.kind == "withdrawal"]
    assert [(c.by, c.reason, c.change) for c in corrections] == [
        ("sup_samr", "企业异议，复核后更正", f"{_result(session, ids['corrected'])} → pending")
    ]
    assert [(c.by, c.reason) for c in withdrawals] == [("sup_fire", "检查无效")]


def conflict_visit(session: Session, credit_code: str) -> str:
    query = select(models.Visit.visit_code).where(models.Visit.credit_code == credit_code)
    return session.scalars(query).one()


def _result(session: Session, result_id: int) -> str:
    row = session.get(models.Result, result_id)
    assert row is not None
    return row.result


def test_a_supervisor_sees_his_departments_part(month: Session, tmp_path: Path) -> None:
    session = month
    _work_the_month(session, tmp_path)
    fire = field.month_board(session, fieldcity.MONTH, departments={"FIRE"}, as_of=AS_OF)
    whole = field.month_board(session, fieldcity.MONTH, as_of=AS_OF)
    assert [d.key for d in fire.departments] == ["FIRE"]
    assert fire.departments[0] == next(d for d in whole.departments if d.key == "FIRE")
    assert [t.key for t in fire.tasks] == ["2026-12-FOOD"]  # the INFO task has no FIRE item
    assert fire.total.drawn == fire.departments[0].drawn
    assert fire.total.items == fire.departments[0].items  # only FIRE items are counted
    fire_people = set(
        session.scalars(
            select(models.Inspector.inspector_id).where(models.Inspector.department == "FIRE")
        )
    )
    assert fire.inspectors and {i.inspector_id for i in fire.inspectors} <= fire_people
    assert {c.kind for c in fire.changes} >= {"withdrawal"}
    # staffing events: those of FIRE's inspectors or that change a team of a FIRE visit
    fire_visits = {
        v.visit_code for v in session.scalars(select(models.Visit)) if "FIRE" in v.departments
    }
    expected = [
        e.seq
        for e in whole.events
        if e.inspector_id in fire_people or {t.visit_code for t in e.teams} & fire_visits
    ]
    assert [e.seq for e in fire.events] == expected
    assert fire.manual_events + fire.directory_events == len(fire.events)
    assert "correction" not in {c.kind for c in fire.changes}  # a SAMR item was corrected


def test_the_board_of_an_unplanned_month_is_not_found(month: Session) -> None:
    from inspect_engine.errors import NotFound

    with pytest.raises(NotFound):
        field.month_board(month, "2027-03", as_of=AS_OF)


def test_the_overdue_cutoff_is_provisional_until_the_year_is_imported(
    month: Session, tmp_path: Path
) -> None:
    guessed = field.month_board(month, fieldcity.MONTH, as_of=date(2027, 1, 20))
    assert guessed.overdue_provisional
    assert not field.month_board(month, fieldcity.MONTH, as_of=AS_OF).overdue_provisional
    notice = tmp_path / "holidays-2027.csv"
    notice.write_text("date,kind,name\n2027-01-01,holiday,元旦\n", encoding="utf-8")
    import_file(month, "holidays", notice)
    final = field.month_board(month, fieldcity.MONTH, as_of=date(2027, 1, 20))
    assert not final.overdue_provisional
    # 1 Jan off: the 20 working days before the 20th reach one day further back
    assert final.overdue_before < guessed.overdue_before
