"""Carry-over (结转) over two months: November drawn, assigned and partly visited; December
frozen (the open visits listed in its snapshot), drawn (INFO draws every company, so carried
companies are drawn again) and assigned. Runs on SQLite and PostgreSQL."""

import csv
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.assignment import carryover as carry_kernel
from inspect_engine.assignment.rules import available_in_month, eligible, on_duty
from inspect_engine.assignment.staffing import merge_visits
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows import (
    carryover,
    estimates,
    field,
    inspector_day,
    results,
    staffing,
)
from inspect_engine.workflows.assignment import assign_month, reassign_inspector
from inspect_engine.workflows.closing import close_month
from inspect_engine.workflows.month_export import export_month, write_visits
from inspect_engine.workflows.planning import draw_month, freeze_month, get_plan, plan_month
from tests.workflows import tinycity
from tests.workflows.test_teams_verify import edit_json, run, tampered

NOVEMBER, DECEMBER = "2026-11", "2026-12"
NOVEMBER_TASKS = tuple(line.replace("2026-12-", "2026-11-") for line in tinycity.TASK_LINES)
# December's INFO task draws nine companies in ten: most carried companies are drawn again
DECEMBER_TASKS = (
    "2026-12-INFO,企业公示信息抽查,SAMR-INFO,false,,0.9,0.9,0.9,0.9,0.01,cross_office,2",
    tinycity.TASK_LINES[1],
)


@dataclass
class TwoMonths:
    open_before: dict[str, tuple[str, ...]]  # November's open visits -> team at Dec's freeze
    on_leave: str  # the inspector on leave all December
    visited: set[str]
    done: str  # a carried visit carried out after December's freeze, before its team draw


def two_months(session: Session, tmp_path: Path) -> TwoMonths:
    tinycity.build(session)
    tinycity.add_inspectors(session, per_unit=4, capacity=60)
    plan_month(session, NOVEMBER, tinycity.tasks_file(tmp_path, NOVEMBER_TASKS))
    freeze_month(session, NOVEMBER, ExclusionPolicy())
    draw_month(session, NOVEMBER, "dice:1-2-3-4-5-6")
    assign_month(session, NOVEMBER)
    november = get_plan(session, NOVEMBER)
    rows = list(
        session.scalars(
            select(models.Visit)
            .where(models.Visit.plan_id == november.id)
            .order_by(models.Visit.visit_code)
        )
    )
    teams = staffing.current_teams(session, november)
    visited = set()
    for visit in rows[::2]:  # every other visit is carried out in November
        results.submit_result(
            session, inspector_id=teams[visit.visit_code][0], visit_code=visit.visit_code,
            item_code=visit.item_codes[0], result="no_problem", inspected_on=date(2026, 11, 20),
            today=date(2026, 11, 30),
        )  # fmt: skip
        visited.add(visit.visit_code)
    open_before = {v.visit_code: teams.get(v.visit_code, ()) for v in rows if v not in rows[::2]}
    # an inspector on an open company visit takes leave for the whole of December
    company = next(v for v in rows[1::2] if "2026-11-INFO" in v.task_codes and teams[v.visit_code])
    on_leave = teams[company.visit_code][0]
    session.add(
        models.Leave(
            row_hash="leave-dec",
            inspector_id=on_leave,
            starts_on=date(2026, 12, 1),
            ends_on=date(2026, 12, 31),
        )
    )
    session.flush()
    close_month(session, NOVEMBER)  # the open visits are marked carried_over in November
    plan_month(session, DECEMBER, tinycity.tasks_file(tmp_path, DECEMBER_TASKS))
    freeze_month(session, DECEMBER, ExclusionPolicy())
    draw_month(session, DECEMBER, "dice:6-5-4-3-2-1")
    # one carried visit is carried out between December's freeze and its team draw
    done = next(v for v in rows[1::2] if on_leave not in teams[v.visit_code] != ())
    results.submit_result(
        session, inspector_id=teams[done.visit_code][0], visit_code=done.visit_code,
        item_code=done.item_codes[0], result="no_problem", inspected_on=date(2026, 12, 8),
        today=date(2026, 12, 10),
    )  # fmt: skip
    assign_month(session, DECEMBER)
    return TwoMonths(open_before, on_leave, visited, done.visit_code)


def test_two_months_carry_over(session: Session, tmp_path: Path) -> None:
    months = two_months(session, tmp_path)
    december = get_plan(session, DECEMBER)
    snapshot = staffing.load_snapshot(session, december)
    listed = carry_kernel.carried_of(snapshot)

    # the carried set is fixed in the hash-committed snapshot: exactly November's open visits,
    # with their codes and their teams at the freeze
    assert {c.visit_id: c.team for c in listed} == {
        code: tuple(sorted(team)) for code, team in months.open_before.items()
    }
    assert not months.visited & {c.visit_id for c in listed}
    linked = carryover.carried_rows(session, december)
    assert sorted(linked) == sorted(months.open_before)
    assert all(v.visit_code.startswith(f"{NOVEMBER}-") for v in linked.values())
    # carried out after the freeze: marked done, its team left as it was, no place held
    assert carryover.done_at_draw(session, december) == {months.done}
    # carried out in December before the team draw: still on its member's December list
    doer = staffing.carried_teams(session, december)[months.done][0]
    page = inspector_day.inspector_days(session, doer, DECEMBER, today=date(2026, 12, 10))
    assert months.done in {v.visit_code for v in page.visits}
    assert staffing.carried_teams(session, december)[months.done] == tuple(
        sorted(months.open_before[months.done])
    )

    # drawn again -> one visit: no December visit for a carried enterprise, the carried one
    # takes on December's INFO items, and the selection keeps December's π
    own = list(session.scalars(select(models.Visit).where(models.Visit.plan_id == december.id)))
    carried_codes = {v.credit_code for v in linked.values()}
    assert not carried_codes & {v.credit_code for v in own}
    drawn_again = [v for v in linked.values() if "2026-12-INFO" in v.task_codes]
    assert drawn_again
    for visit in drawn_again:
        chosen = session.get(models.Selection, ("2026-12-INFO", visit.credit_code))
        assert chosen is not None and chosen.pi is not None
        assert any(t.startswith(f"{NOVEMBER}-") for t in visit.task_codes)

    # the re-check: lawful members kept, the member on leave replaced, as a recorded change
    month = snapshot.month()
    inspectors = {i.inspector_id: i for i in snapshot.inspectors()}
    assert not available_in_month(inspectors[months.on_leave], month)
    now = staffing.carried_teams(session, december)
    merged = merge_visits(snapshot, staffing.plan_selections(session, december))
    specs = {c.visit_id: c.spec() for c in carry_kernel.month_visits(merged, listed)[1]}
    barred = snapshot.recusals().barred_pairs(month)
    unchanged = 0
    for code, before in months.open_before.items():
        team = now.get(code, ())
        assert len(team) == linked[code].team_size
        # a drawn-again visit that took on a cross-office task bars its own office too
        lawful = {m for m in before if eligible(inspectors[m], specs[code], month, barred)}
        assert lawful <= set(team), code  # nobody lawful was moved
        assert months.on_leave not in team
        unchanged += set(team) == set(before)
    assert unchanged
    replaced = session.scalars(
        select(models.TeamMember).where(
            models.TeamMember.inspector_id == months.on_leave,
            models.TeamMember.replaced_at.is_not(None),
        )
    ).all()
    assert replaced and all("结转" in (p.replaced_reason or "") for p in replaced)

    # carried visits come first, and their places came off the capacity first
    assert all(carry_kernel.priority(c, linked) < carry_kernel.priority(v.visit_code, linked)
               for c in linked for v in own)  # fmt: skip
    run_row = session.scalars(
        select(models.AssignmentRun).where(models.AssignmentRun.plan_id == december.id)
    ).one()
    places: dict[str, int] = {}
    held = [team for code, team in now.items() if code != months.done]  # done: no place
    for team in [*staffing.current_teams(session, december).values(), *held]:
        for member in team:
            places[member] = places.get(member, 0) + 1
    assert run_row.fairness["places"] == sum(places.values())

    # the board counts them; the inspector's page marks them
    board = field.month_board(session, DECEMBER, as_of=date(2026, 12, 10))
    assert board.total.carried == len(linked)
    assert board.total.drawn == len(linked) + len(own)
    member = next(iter(now[drawn_again[0].visit_code]))
    mine = results.inspector_visits(session, member, DECEMBER, limit=500)
    assert any(v.carried and v.visit_code == drawn_again[0].visit_code for v in mine)

    # the board lists the re-check's changes: the member on leave left with his reason
    left = {c.visit_code: c for c in board.carried_changes}
    for code, before in months.open_before.items():
        if months.on_leave in before:
            assert months.on_leave in left[code].removed and "not lawful" in (
                left[code].reason or ""
            )

    # the load the sizing reserves: every place of every carried visit, each once
    load = carryover.carried_load(session, DECEMBER)
    assert load.total == sum(c.team_size for c in listed)
    assert {v.visit_id for v in load.visits} == set(months.open_before)


def test_carried_teams_verify_and_tampering_is_refused(session: Session, tmp_path: Path) -> None:
    months = two_months(session, tmp_path)
    december = get_plan(session, DECEMBER)
    # a December event reaches a carried team: the supervisor withdraws one of its members
    carried = staffing.carried_teams(session, december)
    code = sorted(c for c in carried if carried[c] and c != months.done)[0]
    withdrawn = carried[code][0]
    reassign_inspector(session, DECEMBER, withdrawn, "调往专项检查")
    assert withdrawn not in staffing.carried_teams(session, december).get(code, ())
    # a conflict declared with a carried enterprise that December did not draw again: an
    # event of both months' chains; November's leaves the handed-over visit alone
    rows = carryover.carried_rows(session, december)
    other = next(
        c for c, v in sorted(rows.items())
        if c not in (code, months.done) and carried[c]
        and not any(t.startswith(DECEMBER) for t in v.task_codes)
    )  # fmt: skip
    member = staffing.carried_teams(session, december)[other][0]
    row = {"inspector_id": member, "credit_code": rows[other].credit_code,
           "raised_by": member, "raised_on": date(2026, 12, 8), "reason": "亲属关系"}  # fmt: skip
    assert (
        staffing.record_directory_changes(
            session, "conflicts", [row], actor="test", source="conflicts.csv"
        )
        == 2
    )
    assert member not in staffing.carried_teams(session, december)[other]
    out = tmp_path / "dec"
    export_month(session, DECEMBER, out)
    assert december.staffing_hash
    teams = json.loads((out / "teams.json").read_text(encoding="utf-8"))
    # visits.csv lists the carried visits first, with their codes
    listed = [line.split(",")[0] for line in (out / "visits.csv").read_text().splitlines()[1:]]
    carried_codes = sorted(carryover.carried_rows(session, december))
    assert listed[: len(carried_codes)] == carried_codes
    assert teams["carried"] and all(v["priority"] == 0 for v in teams["carried"])
    assert run(out, december.staffing_hash) == 0

    # a carried member swapped for another inspector without cause
    def swap(data: dict[str, Any]) -> None:
        staffing_data = json.loads((out / "staffing.json").read_text(encoding="utf-8"))
        everyone = sorted(i["inspector_id"] for i in staffing_data["inspectors"])
        visit = next(v for v in data["carried"] if v["inspectors"])
        outsider = next(i for i in everyone if i not in visit["inspectors"] and i[0] == "S")
        visit["inspectors"] = sorted([*visit["inspectors"][1:], outsider])

    copy = tampered(out, tmp_path, "swap", lambda c: edit_json(c / "teams.json", swap))
    assert run(copy, december.staffing_hash) == 1

    # a carried visit dropped from teams.json
    def drop(data: dict[str, Any]) -> None:
        del data["carried"][0]

    copy = tampered(out, tmp_path, "drop", lambda c: edit_json(c / "teams.json", drop))
    assert run(copy, december.staffing_hash) == 1

    # November's record still verifies: its carried visits end with their team at handover
    nov = tmp_path / "nov"
    export_month(session, NOVEMBER, nov)
    november = get_plan(session, NOVEMBER)
    assert november.staffing_hash and run(nov, november.staffing_hash) == 0


def test_a_visit_carried_twice_keeps_its_code_and_every_month_verifies(
    session: Session, tmp_path: Path
) -> None:
    months = two_months(session, tmp_path)
    january = "2027-01"
    december = get_plan(session, DECEMBER)
    # a member of a twice-carried team is away all January: January's re-check replaces him,
    # and December's record still ends with the team it handed over
    teams = staffing.carried_teams(session, december)
    code = sorted(c for c in teams if teams[c] and c != months.done)[0]
    session.add(
        models.Leave(
            row_hash="leave-jan",
            inspector_id=teams[code][0],
            starts_on=date(2027, 1, 1),
            ends_on=date(2027, 1, 31),
        )
    )
    session.flush()
    lines = tuple(line.replace("2026-12-", "2027-01-") for line in tinycity.TASK_LINES)
    plan_month(session, january, tinycity.tasks_file(tmp_path, lines))
    freeze_month(session, january, ExclusionPolicy())
    draw_month(session, january, "dice:3-3-3-1-2-6")
    assign_month(session, january)
    plan = get_plan(session, january)
    assert teams[code][0] not in staffing.carried_teams(session, plan)[code]
    # every November visit still open goes on, with its November code, and so do
    # December's own open visits; the one carried out in December does not
    own = session.scalars(
        select(models.Visit.visit_code).where(models.Visit.plan_id == december.id)
    ).all()
    still = sorted({*months.open_before, *own} - {months.done})
    assert sorted(carryover.carried_rows(session, plan)) == still
    for month in (NOVEMBER, DECEMBER, january):
        out = tmp_path / month
        export_month(session, month, out)
        hashed = get_plan(session, month).staffing_hash
        assert hashed and run(out, hashed) == 0, month


def test_estimates_count_a_carried_visit_drawn_again_in_both_months(
    session: Session, tmp_path: Path
) -> None:
    months = two_months(session, tmp_path)
    december = get_plan(session, DECEMBER)
    linked = carryover.carried_rows(session, december)
    # a November INFO visit December's INFO drew again (not every carried visit is INFO's)
    again = next(v for c, v in sorted(linked.items())
                 if {"2026-11-INFO", "2026-12-INFO"} <= set(v.task_codes)
                 and c != months.done)  # fmt: skip
    member = staffing.carried_teams(session, december)[again.visit_code][0]
    row = results.submit_result(
        session, inspector_id=member, visit_code=again.visit_code, item_code="SAMR-INFO",
        result="no_problem", inspected_on=date(2026, 12, 9), today=date(2026, 12, 10),
    )  # fmt: skip
    results.review_result(session, row.id, approve=True, departments=None)
    results.publish_month(session, NOVEMBER, today=date(2026, 12, 10))  # its own month
    # December's sample is every enterprise its tasks selected, the carried one included,
    # and the one result of the item both months' INFO tasks carry answers both
    selected = set(
        session.scalars(
            select(models.Selection.credit_code)
            .join(models.Task, models.Task.task_code == models.Selection.task_code)
            .where(models.Task.plan_id == december.id)
        )
    )
    dec = estimates.month_estimates(session, DECEMBER)
    assert dec["overall"]["drawn"] == len(selected)
    assert dec["overall"]["visited"] == 1
    assert dec["by_task"]["2026-12-INFO"]["visited"] == 1
    nov = estimates.month_estimates(session, NOVEMBER)
    assert nov["by_task"]["2026-11-INFO"]["visited"] == 1


def test_a_carried_visit_is_verifiable_through_the_month_it_is_carried_into(
    session: Session, tmp_path: Path
) -> None:
    two_months(session, tmp_path)
    december = get_plan(session, DECEMBER)
    visit = next(v for _, v in sorted(carryover.carried_rows(session, december).items())
                 if v.verify_token)  # fmt: skip
    assert visit.verify_token is not None
    late = date(2026, 12, 20)  # after November and its grace days
    assert field.validity(NOVEMBER)[1] < late
    seen = field.verify_visit(session, visit.verify_token, secret="s", today=late)
    assert seen.outcome == "genuine"
    assert seen.valid_until == field.validity(DECEMBER)[1]


def test_carried_visits_get_their_days_first_and_a_moved_day_is_refused(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    months = two_months(session, tmp_path)
    december = get_plan(session, DECEMBER)
    snapshot = staffing.load_snapshot(session, december)
    cap, window = snapshot.max_per_day(), snapshot.month().window_days
    assert cap is not None  # December is frozen under ie-teams-v2
    by_id = {i.inspector_id: i for i in snapshot.inspectors()}
    teams, days = (
        staffing.carried_teams(session, december),
        staffing.current_days(session, december),
    )
    open_carried = sorted(c for c in carryover.carried_rows(session, december) if c != months.done)
    staffed = [c for c in open_carried if teams.get(c)]
    assert staffed
    per_day: dict[tuple[str, date], int] = {}
    for code in staffed:  # on a working day of December's window, every member on duty
        day = days[code]
        assert day in window and all(on_duty(by_id[m], day) for m in teams[code])
        for member in teams[code]:
            per_day[member, day] = per_day.get((member, day), 0) + 1
    own = {c: d for c, d in days.items() if c not in open_carried}
    mine = staffing.current_teams(session, december)
    for code, day in own.items():
        for member in mine.get(code, ()):
            per_day[member, day] = per_day.get((member, day), 0) + 1
    assert max(per_day.values()) <= cap
    out = tmp_path / "dec"
    export_month(session, DECEMBER, out)
    record = json.loads((out / "teams.json").read_text(encoding="utf-8"))
    listed = {v["visit_id"]: v["visit_on"] for v in record["carried"]}
    assert all(listed[c] == days[c].isoformat() for c in staffed)
    with (out / "visits.csv").open(encoding="utf-8", newline="") as handle:
        csv_days = {row["visit_id"]: row["visit_on"] for row in csv.DictReader(handle)}
    assert all(csv_days[c] == days[c].isoformat() for c in staffed)
    assert december.staffing_hash and run(out, december.staffing_hash) == 0
    capsys.readouterr()

    # a carried visit's day moved to another working day: not the protocol's
    code = staffed[0]
    other = next(d for d in window if d != days[code]).isoformat()

    def move(data: dict[str, Any]) -> None:
        next(v for v in data["carried"] if v["visit_id"] == code)["visit_on"] = other

    copy = tampered(out, tmp_path, "move", lambda c: edit_json(c / "teams.json", move))
    assert run(copy, december.staffing_hash) == 1
    assert "FAIL" in capsys.readouterr().out

    # ... or to a day off (a weekend or holiday inside the window): the days check refuses it
    span = (window[-1] - window[0]).days
    off = next(
        window[0] + timedelta(days=k)
        for k in range(span)
        if window[0] + timedelta(days=k) not in window
    )

    def weekend(data: dict[str, Any]) -> None:
        next(v for v in data["carried"] if v["visit_id"] == code)["visit_on"] = off.isoformat()

    copy = tampered(out, tmp_path, "off", lambda c: edit_json(c / "teams.json", weekend))
    assert run(copy, december.staffing_hash) == 1
    assert "FAIL days" in capsys.readouterr().out


def test_a_scoped_list_shows_a_carried_visit_only_to_whoever_covers_its_departments(
    session: Session, tmp_path: Path
) -> None:
    """The desk's download for a supervisor: a visit only if he covers all its departments.
    The whole-plan check already asks that of the month's own visits; this keeps the joint
    SAMR + FIRE visits carried in from November (结转) out of a SAMR-only list, as they would
    be in November, and the admin's list holds them."""
    made = two_months(session, tmp_path)
    departments = {
        v.visit_code: set(v.departments)
        for v in session.scalars(
            select(models.Visit).where(carryover.of_plan(get_plan(session, DECEMBER).id))
        )
    }
    joint = {code for code in made.open_before if "FIRE" in departments[code]}
    assert joint, "the fixture carries a joint visit"

    def listed(scope: set[str] | None) -> set[str]:
        path = tmp_path / "visits.csv"
        write_visits(session, DECEMBER, path, scope)
        with path.open(encoding="utf-8") as handle:
            return {row["visit_id"] for row in csv.DictReader(handle)}

    everything, samr = listed(None), listed({"SAMR"})
    assert everything == set(departments) and joint <= everything
    assert everything - samr == {code for code, d in departments.items() if not d <= {"SAMR"}}
    assert not joint & samr
    assert listed({"SAMR", "FIRE"}) == everything
