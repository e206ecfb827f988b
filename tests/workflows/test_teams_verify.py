"""The teams verifier (ie-teams-v1) on an exported month: passes untouched, names the check
that each tampering breaks."""

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine import teams_verify
from inspect_engine.assignment.events import Change
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows import staffing
from inspect_engine.workflows.assignment import assign_month
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
    assert teams["protocol"] == "ie-teams-v1" and teams["month"] == MONTH
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
    assert failing(copy) in ("lawful", "optimum")

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
