"""The teams verifier (ie-teams-v2) on an exported month: passes untouched, names the check
that each tampering breaks (teams and days)."""

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine import teams_verify
from inspect_engine.assignment.events import Change
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows import field, staffing
from inspect_engine.workflows.assignment import assign_month
from inspect_engine.workflows.imports import import_file
from inspect_engine.workflows.month_export import export_month
from inspect_engine.workflows.planning import draw_month, freeze_month, get_plan, plan_month
from tests.workflows import tinycity

MONTH = "2026-12"


def exported(session: Session, tmp_path: Path) -> tuple[Path, str]:
    """A drawn, assigned month with two post-freeze conflicts, exported."""
    tinycity.build(session)
    tinycity.add_inspectors(session, capacity=20)
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    freeze_month(session, MONTH, ExclusionPolicy())
    draw_month(session, MONTH, "dice:6-6-1-2-5-3-4-4-2-1")
    assign_month(session, MONTH)
    plan = get_plan(session, MONTH)
    teams = staffing.current_teams(session, plan)
    codes = {v.visit_code: v.credit_code for v in plan_visits(session, plan.id)}
    for visit_id in sorted(teams)[:2]:  # a member of a staffed team declares a conflict
        change = Change("conflict", teams[visit_id][0], credit_code=codes[visit_id])
        staffing.record_change(session, plan, change, actor="test", source="test")
    assert staffing.current_teams(session, plan) != teams  # something changed
    out = tmp_path / "out"
    export_month(session, MONTH, out)
    assert plan.staffing_hash
    return out, plan.staffing_hash


def plan_visits(session: Session, plan_id: int) -> list[models.Visit]:
    return list(session.scalars(select(models.Visit).where(models.Visit.plan_id == plan_id)))


def run(out: Path, expect: str) -> int:
    return teams_verify.main(
        [
            "--teams", str(out / "teams.json"),
            "--staffing", str(out / "staffing.json"),
            "--draws", str(out / "draws"),
            "--expect-staffing-hash", expect,
        ]
    )  # fmt: skip


def tampered(out: Path, tmp_path: Path, name: str, edit: Callable[[Path], None]) -> Path:
    copy = tmp_path / name
    shutil.copytree(out, copy)
    edit(copy)
    return copy


def edit_json(path: Path, change: Callable[[dict[str, Any]], None], indent: int = 1) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")


def test_teams_verify_accepts_the_export_and_names_each_tampering(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, digest = exported(session, tmp_path)
    teams = json.loads((out / "teams.json").read_text(encoding="utf-8"))
    assert teams["protocol"] == "ie-teams-v2" and teams["month"] == MONTH
    assert [e["seq"] for e in teams["events"]] == [1, 2]
    assert (teams["manual_changes"], teams["directory_changes"]) == (0, 2)
    assert run(out, digest) == 0
    assert "FAIL" not in capsys.readouterr().out

    def failing(copy: Path, expect: str = digest) -> str:
        capsys.readouterr()
        assert run(copy, expect) == 1
        line = capsys.readouterr().out.strip().splitlines()[-1]
        assert line.startswith("FAIL ")
        return line.split()[1].rstrip(":")

    # untouched, re-serialised: other indentation and key order
    def reserialise(copy: Path) -> None:
        data = json.loads((copy / "teams.json").read_text(encoding="utf-8"))
        text = json.dumps(dict(reversed(list(data.items()))), indent=4, sort_keys=False)
        (copy / "teams.json").write_text(text, encoding="utf-8")
        staffing_data = json.loads((copy / "staffing.json").read_text(encoding="utf-8"))
        (copy / "staffing.json").write_text(json.dumps(staffing_data, indent=2), "utf-8")

    assert run(tampered(out, tmp_path, "reserialised", reserialise), digest) == 0

    # one member swapped for another inspector
    def swap(data: dict[str, Any]) -> None:
        staffing_data = json.loads((out / "staffing.json").read_text(encoding="utf-8"))
        everyone = sorted(i["inspector_id"] for i in staffing_data["inspectors"])
        visit = next(v for v in data["visits"] if v["inspectors"])
        outsider = next(i for i in everyone if i not in visit["inspectors"])
        visit["inspectors"] = sorted([*visit["inspectors"][1:], outsider])

    copy = tampered(out, tmp_path, "swap", lambda c: edit_json(c / "teams.json", swap))
    # refused as unlawful, as off duty or full on the visit's day, or as not the protocol's
    assert failing(copy) in ("lawful", "days", "optimum")

    # one snapshot row edited
    def capacity(data: dict[str, Any]) -> None:
        data["inspectors"][0]["monthly_capacity"] += 1

    copy = tampered(out, tmp_path, "row", lambda c: edit_json(c / "staffing.json", capacity))
    assert failing(copy) == "staffing_hash"

    # an event dropped, two events reordered
    def drop(data: dict[str, Any]) -> None:
        del data["events"][0]

    def reorder(data: dict[str, Any]) -> None:
        data["events"].reverse()

    copy = tampered(out, tmp_path, "drop", lambda c: edit_json(c / "teams.json", drop))
    assert failing(copy) == "events"
    copy = tampered(out, tmp_path, "reorder", lambda c: edit_json(c / "teams.json", reorder))
    assert failing(copy) == "events"

    # a wrong published hash
    assert failing(out, "0" * 64) == "staffing_hash"

    # malformed files and bad usage: exit 2, no traceback
    broken = tampered(out, tmp_path, "broken", lambda c: (c / "teams.json").write_text("{"))
    assert run(broken, digest) == 2
    assert teams_verify.main(["--teams", str(out / "teams.json")]) == 2

    # the standalone verifier hands --teams over
    verified = subprocess.run(
        [
            sys.executable, "-m", "inspect_engine.verify",
            "--teams", str(out / "teams.json"),
            "--staffing", str(out / "staffing.json"),
            "--draws", str(out / "draws"),
            "--expect-staffing-hash", digest,
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_missing_file_is_named_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "OUT" / "teams.json"
    status = run(tmp_path / "OUT", "0" * 64)
    err = capsys.readouterr().err
    assert status == 2 and str(missing) in err and "Traceback" not in err


def test_the_days_are_exported_stored_and_checked(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, digest = exported(session, tmp_path)
    plan = get_plan(session, MONTH)
    stored = {v.visit_code: v.visit_on for v in plan_visits(session, plan.id)}
    teams = json.loads((out / "teams.json").read_text(encoding="utf-8"))
    staffing_data = json.loads((out / "staffing.json").read_text(encoding="utf-8"))
    cap = staffing_data["settings"]["max_visits_per_day"]
    assert cap == 3
    # teams.json, visits.csv and the database agree; a day for every team, none without
    listed = {v["visit_id"]: v for v in teams["visits"]}
    for code, day in stored.items():
        assert (day is not None) == bool(listed[code]["inspectors"])
        assert listed[code]["visit_on"] == (day.isoformat() if day else None)
    rows = (out / "visits.csv").read_text(encoding="utf-8").splitlines()[1:]
    csv_days = {row.split(",")[0]: row.split(",")[-1] for row in rows}
    assert csv_days == {c: (d.isoformat() if d else "") for c, d in stored.items()}
    sheet = load_workbook(out / "visits.xlsx").worksheets[0]
    rows_xlsx = list(sheet.iter_rows(values_only=True))
    assert rows_xlsx[0][-1] == "检查日期"
    xlsx_days = {row[0]: row[-1] or "" for row in rows_xlsx[1:]}
    assert xlsx_days == csv_days
    window = [d for d in staffing_data["working_days"] if d >= staffing_data["window_first"]]
    assert all(d is None or d.isoformat() in window for d in stored.values())

    def failing(copy: Path) -> str:
        capsys.readouterr()
        assert run(copy, digest) == 1
        line = capsys.readouterr().out.strip().splitlines()[-1]
        return line.split()[1].rstrip(":")

    staffed = [v for v in teams["visits"] if v["inspectors"]]
    per_day: dict[tuple[str, str], int] = {}
    for v in staffed:
        for m in v["inspectors"]:
            per_day[m, v["visit_on"]] = per_day.get((m, v["visit_on"]), 0) + 1

    def lawful_elsewhere(visit: dict[str, Any]) -> str:
        """Another window day on which the team has room (nobody is on leave here)."""
        return next(
            d for d in window
            if d != visit["visit_on"]
            and all(per_day.get((m, d), 0) < cap for m in visit["inspectors"])
        )  # fmt: skip

    # a day moved to another lawful day: not the protocol's
    def moved(data: dict[str, Any]) -> None:
        visit = next(v for v in data["visits"] if v["inspectors"])
        visit["visit_on"] = lawful_elsewhere(visit)

    copy = tampered(out, tmp_path, "moved", lambda c: edit_json(c / "teams.json", moved))
    assert failing(copy) == "optimum"

    # one inspector given more than the cap on one day
    busiest = max({m for v in staffed for m in v["inspectors"]},
                  key=lambda m: (sum(m in v["inspectors"] for v in staffed), m))  # fmt: skip
    assert sum(busiest in v["inspectors"] for v in staffed) > cap

    def crowded(data: dict[str, Any]) -> None:
        for v in data["visits"]:
            if busiest in v["inspectors"]:
                v["visit_on"] = window[0]

    copy = tampered(out, tmp_path, "crowded", lambda c: edit_json(c / "teams.json", crowded))
    assert failing(copy) == "days"

    # a day outside the window, a team without a day
    def outside(data: dict[str, Any]) -> None:
        next(v for v in data["visits"] if v["inspectors"])["visit_on"] = "2026-11-30"

    def dayless(data: dict[str, Any]) -> None:
        next(v for v in data["visits"] if v["inspectors"])["visit_on"] = None

    for name, edit in (("outside", outside), ("dayless", dayless)):
        copy = tampered(out, tmp_path, name, lambda c, e=edit: edit_json(c / "teams.json", e))
        assert failing(copy) == "days"


def test_leave_on_the_day_moves_the_visit_and_the_old_day_is_refused(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported(session, tmp_path)
    plan = get_plan(session, MONTH)
    teams = staffing.current_teams(session, plan)
    days = staffing.current_days(session, plan)
    visit_id = sorted(teams)[-1]
    member, day = teams[visit_id][0], days[visit_id]
    change = Change("leave", member, starts_on=day, ends_on=day)
    event = staffing.record_change(session, plan, change, actor="test", source="test")
    after_teams, after_days = (
        staffing.current_teams(session, plan),
        staffing.current_days(session, plan),
    )
    # the visit moves within its team when it can; only the visits on his leave day move
    if visit_id in event.outcome.get("moved", {}):
        assert after_teams[visit_id] == teams[visit_id] and after_days[visit_id] != day
    else:
        assert member not in after_teams.get(visit_id, ())
    hit = {v for v, m in teams.items() if member in m and days[v] == day}
    assert {v for v in after_days if after_days[v] != days.get(v)} <= hit
    # the supervisors' board shows the day moved (field._staffing_events)
    shown = field._staffing_events(session, plan, None)[-1]
    moved_days = {t.visit_code: t.moved for t in shown.teams if t.moved}
    assert moved_days == {
        v: (days[v].isoformat(), after_days[v].isoformat())
        for v in hit
        if v in after_days and after_days[v] != days[v]
    }
    assert {v for v in teams if after_teams.get(v) != teams[v]} <= hit

    out = tmp_path / "out2"
    export_month(session, MONTH, out)
    assert plan.staffing_hash
    assert run(out, plan.staffing_hash) == 0, capsys.readouterr().out

    # the visit put back on the member's leave day: refused by the days check
    def back(data: dict[str, Any]) -> None:
        visit = next(v for v in data["visits"] if v["visit_id"] == visit_id)
        visit["inspectors"] = list(teams[visit_id])
        visit["visit_on"] = day.isoformat()

    copy = tampered(out, tmp_path, "leave-day", lambda c: edit_json(c / "teams.json", back))
    capsys.readouterr()
    assert run(copy, plan.staffing_hash) == 1
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("FAIL days:") and member in line


def test_a_holiday_imported_after_the_freeze_moves_that_days_visits(
    session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported(session, tmp_path)
    plan = get_plan(session, MONTH)
    teams, days = staffing.current_teams(session, plan), staffing.current_days(session, plan)
    busiest = max(sorted(set(days.values())), key=lambda d: sum(v == d for v in days.values()))
    notice = tmp_path / "holidays.csv"
    notice.write_text(f"date,kind,name\n{busiest.isoformat()},holiday,临时调整\n", "utf-8")
    report = import_file(session, "holidays", notice, actor="admin")
    assert report.team_events == 1
    event = staffing.plan_changes(session, plan)[-1]
    assert event.kind == "holiday" and event.event["starts_on"] == busiest.isoformat()
    after = staffing.current_days(session, plan)
    assert busiest not in after.values()
    on_day = {v for v, d in days.items() if d == busiest}
    assert {v for v in days if after.get(v) != days[v]} == on_day  # only those moved
    after_teams = staffing.current_teams(session, plan)
    assert {v for v in teams if after_teams.get(v) != teams[v]} <= on_day
    # a supervisor's board shows only his departments' visits among those moved
    rows = session.execute(
        select(models.Visit.visit_code, models.Visit.departments).where(
            models.Visit.plan_id == plan.id
        )
    ).all()
    departments = {code: set(d) for code, d in rows}
    for department in ("SAMR", "FIRE"):
        board = field.month_board(session, MONTH, departments={department})
        shown = [c.visit_code for e in board.events for c in e.teams]
        assert all(department in departments[code] for code in shown), department
    assert field.month_board(session, MONTH).events[-1].teams  # the admin sees them all
    out = tmp_path / "out3"
    export_month(session, MONTH, out)
    assert plan.staffing_hash
    assert run(out, plan.staffing_hash) == 0, capsys.readouterr().out
