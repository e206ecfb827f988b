import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import Conflict
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.verify import exit_status, verify_record
from inspect_engine.workflows import audit
from inspect_engine.workflows.imports import ImportRejected
from inspect_engine.workflows.month_export import export_month
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from models import repositories as repo
from tests.workflows import tinycity

POLICY = ExclusionPolicy()
MONTH = "2026-12"


def planned(session: Session, tmp_path: Path) -> None:
    tinycity.build(session)
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))


def test_freeze_commits_before_any_draw(session: Session, tmp_path: Path) -> None:
    planned(session, tmp_path)
    with pytest.raises(Conflict, match="freeze it before the draw"):
        draw_month(session, MONTH, "dice:1-2-3")
    frozen = freeze_month(session, MONTH, POLICY)
    assert [f.task_code for f in frozen.frames] == ["2026-12-FOOD", "2026-12-INFO"]
    plan = session.scalars(select(models.Plan)).one()
    assert plan.status == "frozen" and plan.seed is None and plan.contribution is None
    assert plan.commitment == frozen.commitment
    # revoked enterprises are excluded with their reason, not put in the frame
    info = next(f for f in frozen.frames if f.task_code == "2026-12-INFO")
    assert info.exclusions["status_not_active"] > 0
    again = freeze_month(session, MONTH, POLICY)
    assert again.commitment == frozen.commitment
    with pytest.raises(Conflict, match="can no longer change"):
        plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    actions = session.scalars(select(models.AuditEntry.action).order_by(models.AuditEntry.id)).all()
    assert actions == ["plan.tasks", "plan.freeze"]


def test_the_draw_verifies_and_merges_visits(session: Session, tmp_path: Path) -> None:
    planned(session, tmp_path)
    freeze_month(session, MONTH, POLICY)
    result = draw_month(session, MONTH, "31415926535897932384")
    assert result.first_request
    selected = {code for r in result.records for code in r["selected"]}
    assert result.visits == len(selected) == repo.count(session, models.Visit)
    for record in result.records:
        assert "frame" not in record  # the public record never carries λ
        assert len(record["selected"]) == record["n"]
        # nor the count selected per class: beside the list it would reveal small classes
        assert record["classes"] and all("selected" not in c for c in record["classes"])
        policy = record["lambda_policy"]  # how the λ were made, in aggregate
        assert policy["floor"] == "0.01" and policy["unclassed_as_B"] > 0
    stored = session.scalars(select(models.Draw.record)).all()
    assert sorted(stored, key=lambda r: r["task_code"]) == list(result.records)
    out = tmp_path / "out"
    exported = export_month(session, MONTH, out)
    for path in exported.records:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert exit_status(verify_record(record)) == 0
        # the auditors' export counts the units selected per class, from the selections
        per_class = {c["risk_class"]: c["selected"] for c in record["classes"]}
        assert sum(per_class.values()) == record["n"]
        rows = select(models.Selection.risk_class).where(
            models.Selection.task_code == record["task_code"]
        )
        drawn = list(session.scalars(rows))
        assert per_class == {k: drawn.count(k) for k in per_class}
    both = [v for v in session.scalars(select(models.Visit)) if len(v.task_codes) == 2]
    for visit in both:  # one visit carries both tasks: both modes' rules, the largest team
        assert visit.mode == "local_cross" and visit.team_size == 3
        assert visit.departments == ["FIRE", "SAMR"]
    lines = (out / "visits.csv").read_text(encoding="utf-8").splitlines()
    assert (
        lines[0] == "visit_id,credit_code,task_codes,item_codes,departments,inspector_ids,visit_on"
    )
    assert len(lines) == 1 + result.visits
    # the audit head written beside the records is the log's head, and the log reaches it
    head = (out / "audit-head.txt").read_text(encoding="utf-8").strip()
    assert head == exported.audit_head == str(audit.chain_head(session))
    assert int(head.split(":")[0]) >= 3  # plan, freeze and draw at least
    assert audit.verify_audit_chain(session, expect_head=audit.ChainHead.parse(head)).intact
    verified = subprocess.run(
        [sys.executable, "-m", "inspect_engine.verify", str(exported.records[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_second_draw_returns_the_first(session: Session, tmp_path: Path) -> None:
    planned(session, tmp_path)
    freeze_month(session, MONTH, POLICY)
    first = draw_month(session, MONTH, "first")
    second = draw_month(session, MONTH, "a preferred value")
    assert not second.first_request
    assert second.seed == first.seed
    assert second.records == first.records
    assert repo.count(session, models.Draw) == 2  # one per task, once


def test_tasks_file_errors_name_the_row(session: Session, tmp_path: Path) -> None:
    tinycity.build(session)
    lines = (
        tinycity.TASK_LINES[0],
        tinycity.TASK_LINES[1].replace("SAMR-FOOD", "NO-SUCH-ITEM"),
        tinycity.TASK_LINES[0].replace("0.4,0.01", "1.5,0.01"),
    )
    with pytest.raises(ImportRejected) as caught:
        plan_month(session, MONTH, tinycity.tasks_file(tmp_path, lines))
    reasons = [str(e) for e in caught.value.errors]
    assert reasons[0] == "row 3, column items: unknown item(s): NO-SUCH-ITEM"
    assert reasons[1].startswith("row 4, column ratio_D: '1.5' must be above 0")
    assert repo.count(session, models.Plan) == 0


def test_counts_selected_per_class_are_the_auditors_only(session: Session, tmp_path: Path) -> None:
    """Scored into classes A, C and D, each task's draw selects from several classes; the
    stored record (what the public is served) has none of the counts, the export has all."""
    codes = tinycity.build(session)
    version = models.ModelVersion(kind="scorecard", as_of=date(2026, 11, 1), artefact=b"")
    session.add(version)
    session.flush()
    session.add_all(
        models.RiskScore(
            model_version_id=version.id,
            credit_code=code,
            as_of=date(2026, 11, 1),
            probability=0.5,
            risk_class="ACD"[i // 3 % 3],  # not i % 3: that is the catering pattern
        )
        for i, code in enumerate(codes)
    )
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    freeze_month(session, MONTH, POLICY)
    result = draw_month(session, MONTH, "2 7 1 8 2 8")
    exported = export_month(session, MONTH, tmp_path / "out")
    for stored, path in zip(result.records, exported.records, strict=True):
        full = json.loads(path.read_text(encoding="utf-8"))
        assert [c["risk_class"] for c in stored["classes"]] == ["A", "C", "D"]
        assert all("selected" not in c for c in stored["classes"])
        # recount from the frame: λ gives the class here (each class has one λ)
        lam_class = {c["lambda_min"]: c["risk_class"] for c in full["classes"]}
        class_of = {u["credit_code"]: lam_class[u["lambda"]] for u in full["frame"]}
        drawn = [class_of[code] for code in full["selected"]]
        assert {c["risk_class"]: c["selected"] for c in full["classes"]} == {
            k: drawn.count(k) for k in "ACD"
        }
        assert len(set(drawn)) > 1  # the counts differ by class: a real test


def test_records_and_selections_carry_the_promised_pi(session: Session, tmp_path: Path) -> None:
    """Each record lists every distinct λ with its exact π; the preview shows the task's
    ratios beside it; each selection keeps its π, and the frame's λ still sum to whole n."""
    from fractions import Fraction

    from inspect_engine.workflows.preview import preview_month

    planned(session, tmp_path)
    shown = {s.task_code: s.as_dict() for s in preview_month(session, MONTH, POLICY)}
    info = shown["2026-12-INFO"]
    assert {k: c["ratio"] for k, c in info["classes"].items()} == {
        "A": "0.05", "B": "0.1", "C": "0.2", "D": "0.4"
    }  # fmt: skip
    for summary in shown.values():
        for c in summary["classes"].values():
            if c["units"]:  # the exact π keeps the promise within 1 %
                assert abs(float(c["pi"]) / float(c["target"]) - 1) <= 0.01
    freeze_month(session, MONTH, POLICY)
    result = draw_month(session, MONTH, "27182818284590452353")
    for record in result.records:
        inclusion = record["inclusion"]
        pi_of = {row["lambda"]: row["pi"] for row in inclusion}
        assert len(pi_of) == len(inclusion) >= 1
        assert [row["lambda"] for row in inclusion] == sorted(pi_of, key=Fraction)
        assert all(c["pi"] == pi_of[c["lambda_min"]] for c in record["classes"])
        rows = session.execute(
            select(models.Selection.lam, models.Selection.pi).where(
                models.Selection.task_code == record["task_code"]
            )
        ).all()
        assert rows and all(pi == pi_of[lam] for lam, pi in rows)
    for frame in session.scalars(select(models.Frame)):
        total = sum(Fraction(c["lambda"]) * c["units"] for c in frame.classes.values())
        assert abs(total - round(total)) < Fraction(1, 10**6) and round(total) >= 1


def test_month_plan_command_prints_ratios_beside_the_pi_achieved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from inspect_engine.cli import app
    from models.db import make_engine, make_session_factory
    from models.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        tinycity.build(session)
        session.commit()
    engine.dispose()
    monkeypatch.setenv("INSPECT_DATABASE_URL", url)
    out = CliRunner().invoke(
        app,
        ["month", "plan", "--month", MONTH, "--tasks", str(tinycity.tasks_file(tmp_path))],
        env={"COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    assert "π achieved" in out.output and "promised" in out.output
    rows = [
        line.split("│")
        for line in out.output.splitlines()
        if line.startswith("│") and "2026-12-INFO" in line
    ]
    cells = {r[2].strip(): [c.strip() for c in r[4:8]] for r in rows}
    assert cells["B"][0] == "0.1"  # the ratio asked, beside promise, λ and π
    promised, pi = float(cells["B"][1]), float(cells["B"][3])
    assert 0.09 < promised < 0.1  # 0.1 over 301 enterprises: scaled to n = 30
    assert abs(pi / promised - 1) <= 0.01
