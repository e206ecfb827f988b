"""`month plan --fit-capacity`: the draw sized to the staff, kept with the plan, refused
when the mandated minimums do not fit; tasks.csv's min_ratio (SQLite and PostgreSQL)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.imports import ImportRejected
from inspect_engine.workflows.planning import freeze_month, plan_month
from inspect_engine.workflows.sizing import SizingRefusedError, reserved_for_open_visits
from tests.workflows import tinycity

POLICY = ExclusionPolicy()
MONTH = "2026-12"
HEADER = tinycity.TASKS_HEADER + ",min_ratio"
INFO = "2026-12-INFO,企业公示信息抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,cross_office,2,{m}"
FOOD = "2026-12-FOOD,餐饮联合抽查,SAMR-FOOD;FIRE-CATER,true,H62,0.1,0.2,0.4,0.6,0.01,local,3,"


def tasks(tmp_path: Path, min_ratio: str = "", food: bool = True) -> Path:
    lines = [INFO.format(m=min_ratio), *([FOOD] if food else [])]
    path = tmp_path / "tasks.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def test_the_sized_draw_fits_the_staff_and_the_freeze_draws_with_it(
    session: Session, tmp_path: Path
) -> None:
    tinycity.build(session)
    tinycity.add_inspectors(session, per_unit=1, capacity=10)
    summary = plan_month(session, MONTH, tasks(tmp_path, "0.02"), policy=POLICY, fit_capacity=True)
    sizing = summary.sizing
    assert sizing is not None
    for row in sizing["loads"]:  # every capacity row within utilisation × capacity
        assert row["load"] <= row["capacity"] + 1e-6, row
    assert any(row["load"] > 0.5 * row["capacity"] for row in sizing["loads"])  # it binds
    stored = {t.task_code: t for t in session.scalars(select(models.Task))}
    info = stored["2026-12-INFO"]
    lambdas = [Fraction(info.sized_ratios[c]) for c in "ABCD"]
    assert lambdas == sorted(lambdas)  # non-decreasing A → D
    assert min(lambdas) >= Fraction("0.02")  # min_ratio kept
    assert info.min_ratio == "0.02"
    plan = session.scalars(select(models.Plan)).one()
    assert plan.sizing == sizing
    frozen = freeze_month(session, MONTH, POLICY)
    frame = session.get(models.Frame, "2026-12-INFO")
    assert frame is not None
    for c in "ABCD":  # the promise is the sized λ (scaled to the whole n it already sums to)
        if frame.classes[c]["units"]:
            target = float(frame.classes[c]["target"])
            assert target == pytest.approx(float(info.sized_ratios[c]), rel=1e-6)
    sizes = {f.task_code: round(f.expected_size) for f in frozen.frames}
    assert sizes == sizing["sizes"]


def test_mandated_minimums_that_do_not_fit_refuse_the_plan(
    session: Session, tmp_path: Path
) -> None:
    tinycity.build(session)
    tinycity.add_inspectors(session, per_unit=1, capacity=2)
    with pytest.raises(SizingRefusedError) as refused:
        plan_month(session, MONTH, tasks(tmp_path, "0.05", food=False), policy=POLICY,
                   fit_capacity=True)  # fmt: skip
    assert refused.value.shortfalls
    worst = refused.value.shortfalls[0]
    assert worst["department"] == "SAMR" and worst["shortfall"] > 0
    assert "department SAMR" in str(refused.value) and "inspector-visits" in str(refused.value)
    offices = {s["office"] for s in refused.value.shortfalls if s["kind"] == "office"}
    assert offices <= {"440106-01", "440106-02", "440105-01", "440105-02"}


def test_without_the_flag_an_overflow_is_a_warning(session: Session, tmp_path: Path) -> None:
    tinycity.build(session)
    tinycity.add_inspectors(session, per_unit=1, capacity=1)
    summary = plan_month(session, MONTH, tasks(tmp_path), policy=POLICY)
    assert summary.sizing is None
    over = [w for w in summary.warnings if w.startswith("expected load exceeds capacity")]
    assert over and any("department SAMR" in w for w in over)
    roomy = plan_month(session, MONTH, tasks(tmp_path), policy=POLICY)
    assert roomy.warnings == summary.warnings  # the same tasks, the same staff


def test_enough_staff_gives_no_warning(session: Session, tmp_path: Path) -> None:
    tinycity.build(session)
    tinycity.add_inspectors(session, per_unit=10, capacity=40)
    summary = plan_month(session, MONTH, tasks(tmp_path), policy=POLICY)
    assert not [w for w in summary.warnings if "exceeds capacity" in w]


@pytest.mark.parametrize(
    ("value", "reason"),
    [("0.5", "is above ratio_A"), ("lots", "not a decimal number"), ("0", "above 0")],
)
def test_a_bad_min_ratio_names_its_row_and_field(
    session: Session, tmp_path: Path, value: str, reason: str
) -> None:
    tinycity.build(session)
    with pytest.raises(ImportRejected) as rejected:
        plan_month(session, MONTH, tasks(tmp_path, value))
    error = rejected.value.errors[0]
    assert (error.row, error.column) == (2, "min_ratio")
    assert reason in error.reason


def test_open_visits_of_last_month_are_reserved(session: Session, tmp_path: Path) -> None:
    codes = tinycity.build(session)
    enterprise = session.get(models.Enterprise, codes[1])
    assert enterprise is not None
    last = models.Plan(month="2026-11", status="assigned")
    session.add(last)
    session.flush()
    for number, (code, status) in enumerate([(codes[1], "planned"), (codes[2], "visited")]):
        session.add(
            models.Visit(
                visit_code=f"2026-11-{number:06d}", plan_id=last.id, credit_code=code,
                task_codes=["T"], item_codes=["SAMR-INFO", "FIRE-CATER"],
                departments=["FIRE", "SAMR"], mode="cross_office", team_size=3, status=status,
            )
        )  # fmt: skip
    session.flush()
    reserved = reserved_for_open_visits(session, MONTH)
    assert {(r.department, r.office, r.places) for r in reserved} == {
        ("FIRE", enterprise.unit, 1.5),
        ("SAMR", enterprise.unit, 1.5),
    }


def test_a_floor_no_frame_can_honour_is_refused_at_plan_time(
    session: Session, tmp_path: Path
) -> None:
    """A floor above a ratio would lift the class above what the task asks: the plan is
    refused, naming the row. (Any floor at or below every ratio is honoured by every frame:
    tests/sampling/test_inclusion.py, the floor property.)"""
    tinycity.build(session)
    path = tasks(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace(",0.4,0.01,cross", ",0.4,0.06,cross"))
    with pytest.raises(ImportRejected) as rejected:
        plan_month(session, MONTH, path, policy=POLICY)
    error = rejected.value.errors[0]
    assert error.row == 2 and "floor 0.06 is above ratio_A" in error.reason
    assert session.scalar(select(models.Plan).where(models.Plan.month == MONTH)) is None
