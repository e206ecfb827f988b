"""The attack on the second random, tried as a supervisor with import rights would after the
seed is public: import a conflict row (or leave, or a directory edit) and watch the teams.

Before ie-teams-v1 one imported conflict row for a member of one team re-rolled every team
of the month. Now the teams are drawn on the staffing frozen at the freeze, and a later row
is an event that touches only the members it makes unlawful. On SQLite and PostgreSQL."""

from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import models
from inspect_engine.workflows import staffing
from inspect_engine.workflows.assignment import assign_month, reassign_inspector
from inspect_engine.workflows.imports import import_file
from tests.workflows.test_assignment import MONTH, drawn


def _teams(session: Session) -> dict[str, tuple[str, ...]]:
    plan = session.scalars(select(models.Plan).where(models.Plan.month == MONTH)).one()
    return staffing.current_teams(session, plan)


def _conflicts_file(tmp_path: Path, rows: list[tuple[str, str]], name: str) -> Path:
    path = tmp_path / name
    lines = ["inspector_id,credit_code,reason,raised_by,raised_on"]
    lines += [f"{i},{c},利害关系,enterprise,2026-12-08" for i, c in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _outsider(session: Session, teams: dict[str, tuple[str, ...]]) -> tuple[str, str, str]:
    """A visit, and an inspector of the directory who is not on its team."""
    visit, members = sorted(teams.items())[0]
    code = session.scalars(
        select(models.Visit.credit_code).where(models.Visit.visit_code == visit)
    ).one()
    everyone = sorted(session.scalars(select(models.Inspector.inspector_id)))
    return visit, code, next(i for i in everyone if i not in members)


def test_an_outsiders_conflict_imported_after_the_draw_changes_no_team(
    session: Session, tmp_path: Path
) -> None:
    drawn(session, tmp_path)
    assign_month(session, MONTH)
    before = _teams(session)
    _, code, outsider = _outsider(session, before)
    report = import_file(
        session, "conflicts", _conflicts_file(tmp_path, [(outsider, code)], "c.csv")
    )
    assert report.team_events == 1  # recorded, visible
    assert _teams(session) == before  # and nothing moved
    events = session.scalars(select(models.TeamEvent)).all()
    assert [e.kind for e in events] == ["conflict"] and events[0].source.startswith("import")
    assert events[0].outcome == {"replaced": {}, "unstaffed": {}}


def test_a_members_conflict_changes_only_that_members_place(
    session: Session, tmp_path: Path
) -> None:
    drawn(session, tmp_path)
    assign_month(session, MONTH)
    before = _teams(session)
    visit, members = sorted(before.items())[len(before) // 2]
    code = session.scalars(
        select(models.Visit.credit_code).where(models.Visit.visit_code == visit)
    ).one()
    member = members[0]
    import_file(session, "conflicts", _conflicts_file(tmp_path, [(member, code)], "c.csv"))
    after = _teams(session)
    changed = {v for v in before if before[v] != after.get(v)}
    assert changed == {visit}
    assert member not in after[visit]
    assert (
        set(after[visit]) - set(before[visit])
        and len(set(after[visit]) & set(before[visit])) == len(members) - 1
    )


def test_directory_edits_after_the_freeze_cannot_change_the_teams_drawn(
    session: Session, tmp_path: Path
) -> None:
    """Rows written straight into the tables (an operator with database access) after the
    freeze reach neither the draw's merge nor the team draw: both read the snapshot."""
    drawn(session, tmp_path)
    plan = session.scalars(select(models.Plan)).one()
    first = staffing.load_snapshot(session, plan).hash
    session.execute(update(models.Enterprise).values(licences=None, status="revoked"))
    session.execute(update(models.Inspector).values(monthly_capacity=1))
    assign_month(session, MONTH)
    assert staffing.load_snapshot(session, plan).hash == first == plan.staffing_hash
    outcome_teams = _teams(session)
    assert outcome_teams and all(len(m) >= 2 for m in outcome_teams.values())
    # capacity 1 in the live table would have left most visits unstaffed
    loads: dict[str, int] = {}
    for members in outcome_teams.values():
        for member in members:
            loads[member] = loads.get(member, 0) + 1
    assert max(loads.values()) > 1


def test_a_long_reason_is_stored_whole(session: Session, tmp_path: Path) -> None:
    drawn(session, tmp_path)
    assign_month(session, MONTH)
    busiest = max(
        (m for members in _teams(session).values() for m in members),
        key=lambda m: sum(m in t for t in _teams(session).values()),
    )
    reason = "因病住院，需要长期休养；" * 40  # 480 characters, longer than the old String(64)
    reassign_inspector(session, MONTH, busiest, reason)
    session.flush()
    runs = session.scalars(select(models.AssignmentRun.label)).all()
    assert any(reason in label for label in runs)
    event = session.scalars(select(models.TeamEvent)).one()
    assert event.kind == "withdraw" and event.reason == reason
    from inspect_engine.workflows.teams_export import teams_record

    plan = session.scalars(select(models.Plan)).one()
    record = teams_record(session, plan)  # the auditors' record counts it as manual
    assert (record["manual_changes"], record["directory_changes"]) == (1, 0)
    assert record["events"][0]["reason"] == reason
    assert all(busiest not in members for members in _teams(session).values())


def test_a_certificate_revoked_by_import_moves_only_its_holder_and_keeps_teams_lawful(
    session: Session, tmp_path: Path
) -> None:
    """The kept members are checked again: after the event every team is lawful on the
    staffing as changed (the teams verifier's rules), and only the holder's places moved."""
    from inspect_engine.assignment import rules
    from inspect_engine.assignment.eligibility import InspectorTable

    drawn(session, tmp_path)
    assign_month(session, MONTH)
    before = _teams(session)
    holder = sorted(before.items())[0][1][0]
    row = session.get(models.Inspector, holder)
    assert row is not None
    path = tmp_path / "inspectors.csv"
    path.write_text(
        "inspector_id,name,department,unit,district,qualifications,certificate_expires,"
        "lead,monthly_capacity,active\n"
        f"{row.inspector_id},{row.name},{row.department},{row.unit},{row.district},"
        f"{row.qualifications or ''},2026-11-30,{str(row.lead).lower()},"
        f"{row.monthly_capacity},true\n",
        encoding="utf-8",
    )
    assert import_file(session, "inspectors", path, actor="hr").team_events == 1
    after = _teams(session)
    assert all(holder not in members for members in after.values())
    for visit, members in before.items():
        if holder not in members:
            assert after.get(visit) == members  # every other team stays as it was
        elif visit in after:
            assert set(members) - {holder} <= set(after[visit])  # the others are kept
    plan = session.scalars(select(models.Plan).where(models.Plan.month == MONTH)).one()
    snapshot = staffing.load_snapshot(session, plan)
    visits = [
        v.spec()
        for v in staffing.kernel.merge_visits(snapshot, staffing.plan_selections(session, plan))
    ]
    state = staffing.staffing_after(snapshot, visits, staffing.plan_changes(session, plan))
    by_id = {ins.inspector_id: ins for ins in state.inspectors}
    departments = {d for v in state.visits for d in v.departments}
    table = InspectorTable.build(state.inspectors, state.month, extra_departments=departments)
    barred = state.recusals.barred_pairs(state.month)
    for visit in state.visits:
        if visit.visit_id not in after:
            continue
        members = after[visit.visit_id]
        assert all(rules.eligible(by_id[m], visit, state.month, barred) for m in members), (
            visit.visit_id
        )
        assert table.share_a_day([table.index[m] for m in members]), visit.visit_id


def test_reassigning_an_unknown_inspector_or_without_reason_is_a_clear_error(
    session: Session, tmp_path: Path
) -> None:
    from inspect_engine.errors import InvalidInput, NotFound

    drawn(session, tmp_path)
    assign_month(session, MONTH)
    before = _teams(session)
    member = sorted(before.items())[0][1][0]
    with pytest.raises(NotFound, match=f"NOBODY-0001 has no open place in the plan for {MONTH}"):
        reassign_inspector(session, MONTH, "NOBODY-0001", "病假")
    with pytest.raises(InvalidInput, match="needs a reason"):
        reassign_inspector(session, MONTH, member, "   ")
    assert session.scalars(select(models.TeamEvent)).all() == []  # nothing recorded
    assert _teams(session) == before


def test_directory_edits_between_the_freeze_and_the_draw_change_nothing_drawn(
    session: Session, tmp_path: Path
) -> None:
    """The case that once made a draw fail after the reveal: the selected enterprises'
    licences cleared and statuses changed after the freeze. The draw and its merge read
    the snapshot: it succeeds and gives the same visits as without the edits."""
    from inspect_engine.sampling.frames import ExclusionPolicy
    from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
    from tests.workflows import tinycity

    tinycity.build(session)
    tinycity.add_inspectors(session, capacity=20)
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    freeze_month(session, MONTH, ExclusionPolicy())

    def visits() -> list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]:
        rows = session.scalars(select(models.Visit).order_by(models.Visit.visit_code))
        return [
            (v.visit_code, v.credit_code, tuple(v.item_codes), tuple(v.departments)) for v in rows
        ]

    untouched = session.begin_nested()
    draw_month(session, MONTH, "dice:6-6-1-2-5-3-4-4-2-1")
    expected = visits()
    untouched.rollback()
    assert visits() == [] and expected
    session.execute(update(models.Enterprise).values(licences=None, status="revoked"))
    unit = session.scalars(select(models.Unit.code).order_by(models.Unit.code.desc())).first()
    session.execute(update(models.Enterprise).values(unit=unit))  # all moved to one office
    draw_month(session, MONTH, "dice:6-6-1-2-5-3-4-4-2-1")
    assert visits() == expected


def test_a_visit_carried_out_keeps_its_team_whatever_the_event(
    session: Session, tmp_path: Path
) -> None:
    """An inspector withdrawn after he reported a visit stays on that visit's team (its
    results were submitted by it); his open places are replaced."""
    from datetime import date

    from inspect_engine.workflows import results

    drawn(session, tmp_path)
    assign_month(session, MONTH)
    before = _teams(session)
    places = [m for members in before.values() for m in members]
    busiest = max(sorted(set(places)), key=places.count)
    assert places.count(busiest) > 1
    done = sorted(v for v, members in before.items() if busiest in members)[0]
    visit = session.scalars(select(models.Visit).where(models.Visit.visit_code == done)).one()
    for item in visit.item_codes:
        results.submit_result(
            session, inspector_id=busiest, visit_code=done, item_code=item,
            result="no_problem", inspected_on=date(2026, 12, 3), today=date(2026, 12, 4),
        )  # fmt: skip
    reassign_inspector(session, MONTH, busiest, "调岗")
    after = _teams(session)
    assert after[done] == before[done]  # carried out: untouched
    assert all(busiest not in after[v] for v in before if v != done and busiest in before[v])
    event = session.scalars(select(models.TeamEvent)).one()
    assert done in event.event["carried_out"] and done not in event.outcome["replaced"]


def test_a_snapshot_rewritten_in_the_database_after_the_freeze_is_refused(
    session: Session, tmp_path: Path
) -> None:
    """An operator with database access rewrites the frozen staffing (a conflict row taken
    out) before the draw: the text no longer matches the hash published at the freeze, so
    neither the merge nor the team draw will read it."""
    import gzip

    from inspect_engine.sampling.frames import ExclusionPolicy
    from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
    from tests.workflows import tinycity

    tinycity.build(session)
    tinycity.add_inspectors(session)
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    freeze_month(session, MONTH, ExclusionPolicy())
    plan = session.scalars(select(models.Plan)).one()
    row = session.get(models.StaffingSnapshot, plan.id)
    assert row is not None
    text = gzip.decompress(row.text_gz).decode("utf-8")
    edited = text.replace('"recusal_window_days":365', '"recusal_window_days":0')
    assert edited != text
    row.text_gz = gzip.compress(edited.encode("utf-8"))
    session.flush()
    with pytest.raises(ValueError, match="does not match its hash"):
        draw_month(session, MONTH, "dice:6-6-1-2-5-3-4-4-2-1")
