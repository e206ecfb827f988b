"""Every `inspect-engine` command through its real entry point, with its documented exit
codes (docs/README.md: 0 done, 1 a domain error, 2 bad usage, 3 a partial plan), on
SQLite and PostgreSQL; `serve` as a subprocess on a free port."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import models
from inspect_engine.cli import PARTIAL_PLAN_EXIT
from inspect_engine.cli import app as cli_app
from models.db import make_engine, make_session_factory
from tests.browser import free_port
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.workflows import tinycity

MONTH = "2026-12"
CONTRIBUTION = "dice:6-6-1-2-5-3-4-4-2-1"


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """A fresh, empty database that INSPECT_DATABASE_URL names (the CLI reads it)."""
    url = fresh_database_url(request.param, tmp_path_factory, "cli")
    monkeypatch.setenv("INSPECT_DATABASE_URL", url)
    try:
        yield url
    finally:
        if request.param == "postgresql":
            _drop_postgres_database(url)


def cli(*args: str, expect: int) -> str:
    """Runs the command in-process; asserts its exit code and that it printed no trace."""
    outcome = CliRunner().invoke(cli_app, list(args))
    shown = outcome.output + (repr(outcome.exception) if outcome.exception else "")
    assert outcome.exit_code == expect, f"{args}: exit {outcome.exit_code}\n{shown}"
    assert "Traceback" not in outcome.output
    if outcome.exception is not None:  # typer.Exit is a SystemExit; anything else is a crash
        assert isinstance(outcome.exception, SystemExit), shown
    return outcome.output


def build_city(url: str, capacity: int) -> None:
    engine = make_engine(url)
    try:
        with make_session_factory(engine).begin() as session:
            tinycity.build(session)
            tinycity.add_inspectors(session, capacity=capacity)
    finally:
        engine.dispose()


def count(url: str, table: type[models.Base]) -> int:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(table)) or 0
    finally:
        engine.dispose()


def test_the_month_from_an_empty_database_with_every_exit_code(
    database_url: str, tmp_path: Path
) -> None:
    assert "schema is up to date" in cli("db", "upgrade", expect=0)
    assert "schema is up to date" in cli("db", "upgrade", expect=0)  # idempotent
    build_city(database_url, capacity=1)  # one visit per inspector: a partial plan

    cli("scores", "export", str(tmp_path / "none.csv"), expect=1)  # nothing scored yet
    cli("model", "report", "--as-of", "1 Dec 2026", expect=2)
    # A city without any inspection history: the prior, said plainly, not a crash.
    scored = cli("score", "--as-of", "2026-12-01", expect=0)
    assert "(prior, trained)" in scored and "No model could be fitted" in scored
    cli("score", "--as-of", "2026-13-01", expect=2)
    scores = tmp_path / "scores.csv"
    cli("scores", "export", str(scores), expect=0)
    rows = list(csv.DictReader(scores.open(encoding="utf-8")))
    assert len(rows) == count(database_url, models.RiskScore) > 0
    assert {row["risk_class"] for row in rows} <= {"B", "C", "D"}
    report = tmp_path / "report"
    cli("model", "report", "--as-of", "2026-12-01", "--dir", str(report), expect=0)
    assert "No model could be fitted" in (report / "report.md").read_text(encoding="utf-8")

    cli("month", "draw", "--month", MONTH, "--contribution", CONTRIBUTION, expect=1)  # no plan
    cli("month", "plan", "--month", MONTH, "--tasks", str(tinycity.tasks_file(tmp_path)), expect=0)
    assert "commitment" in cli("month", "freeze", "--month", MONTH, expect=0)
    cli("month", "assign", "--month", MONTH, expect=1)  # not drawn yet
    drawn = cli("month", "draw", "--month", MONTH, "--contribution", CONTRIBUTION, expect=0)
    assert "seed" in drawn
    partial = cli("month", "assign", "--month", MONTH, expect=PARTIAL_PLAN_EXIT)
    assert "partial plan" in partial and "capacity" in partial
    cli("month", "assign", "--month", MONTH, expect=PARTIAL_PLAN_EXIT)  # the stored result
    # The freeze's nonce is fresh each run, so whether the withdrawn inspector's places can
    # be refilled at capacity 1 varies: exit 3 exactly when the output says the plan is partial.
    reassign = ["month", "reassign", "--month", MONTH, "--reason", "病假", "--inspector"]
    outcome = CliRunner().invoke(cli_app, [*reassign, staffed_inspector(database_url)])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
    partial_now = "partial plan" in outcome.output
    assert outcome.exit_code == (PARTIAL_PLAN_EXIT if partial_now else 0), outcome.output
    cli("month", "reassign", "--month", MONTH, "--inspector", "NOBODY", "--reason", "x", expect=1)
    out = tmp_path / "out"
    cli("month", "export", "--month", MONTH, "--dir", str(out), expect=0)
    assert list((out / "draws").glob("*.json")) and (out / "visits.csv").exists()
    assert (out / "audit-head.txt").read_text(encoding="utf-8").strip()
    closed = cli("month", "close", "--month", MONTH, expect=0)
    assert f"of {MONTH} carried over" in closed
    cli("month", "close", "--month", "2027-01", expect=1)  # no such plan

    for kind in ("enterprises", "inspectors", "items"):  # an export imports back unchanged
        exported = tmp_path / f"{kind}.csv"
        cli("export", kind, str(exported), expect=0)
        before = exported.read_bytes()
        assert "normalised" not in cli("import", kind, str(exported), expect=0)
        cli("export", kind, str(exported), expect=0)
        assert exported.read_bytes() == before, kind
    cli("export", "visits", str(tmp_path / "x.csv"), expect=2)


def staffed_inspector(url: str) -> str:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            query = select(models.TeamMember.inspector_id).order_by(models.TeamMember.id)
            return str(session.scalars(query.limit(1)).one())
    finally:
        engine.dispose()


def test_serve_answers_a_page_and_stops(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {**os.environ, "INSPECT_DATABASE_URL": url}
    upgraded = subprocess.run(
        [sys.executable, "-m", "inspect_engine.cli", "db", "upgrade"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert upgraded.returncode == 0, upgraded.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "inspect_engine.cli", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        page = wait_for(f"http://127.0.0.1:{port}/board", server)
        assert "<html" in page.lower()
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert server.returncode is not None
    assert "Traceback" not in stderr


def wait_for(address: str, server: subprocess.Popen[str], seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        if server.poll() is not None:
            raise AssertionError(f"serve exited {server.returncode}: {server.stderr.read()}")
        try:
            with urllib.request.urlopen(address, timeout=5) as response:
                assert response.status == 200
                return str(response.read().decode("utf-8"))
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_fully_staffed_month_assigns_with_exit_0(database_url: str, tmp_path: Path) -> None:
    cli("db", "upgrade", expect=0)
    build_city(database_url, capacity=20)
    cli("month", "plan", "--month", MONTH, "--tasks", str(tinycity.tasks_file(tmp_path)), expect=0)
    cli("month", "freeze", "--month", MONTH, expect=0)
    cli("month", "draw", "--month", MONTH, "--contribution", CONTRIBUTION, expect=0)
    staffed = cli("month", "assign", "--month", MONTH, expect=0)
    assert "partial plan" not in staffed
    visits = count(database_url, models.Visit)
    assert f"teams  : {visits} of {visits} visits staffed" in staffed


def test_score_on_a_real_looking_history_names_what_it_dropped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The reported crash, through the CLI: registered capital blank for everyone (个体工商户)
    and inspections the only history file. It scores, and says it dropped the column."""
    from simulations.city import generate_city

    monkeypatch.setenv("INSPECT_DATABASE_URL", f"sqlite:///{tmp_path / 'city.db'}")
    city = tmp_path / "city"
    generate_city("600", 5, city)
    enterprises = (city / "enterprises.csv").read_text(encoding="utf-8").splitlines()
    header = enterprises[0].split(",")
    at = header.index("registered_capital")
    blank = tmp_path / "enterprises.csv"
    with blank.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for n, row in enumerate(csv.reader(enterprises)):
            writer.writerow(row if n == 0 else [*row[:at], "", *row[at + 1 :]])
    cli("db", "upgrade", expect=0)
    cli("import", "enterprises", str(blank), expect=0)
    for kind in ("inspectors", "items", "inspections"):
        cli("import", kind, str(city / f"{kind}.csv"), expect=0)
    scored = cli("score", "--as-of", "2026-12-01", expect=0)
    assert "note: Feature capital_log10 dropped: empty for every visit." in scored
    assert "backtest on later visits: AUC" in scored


def test_month_plan_sizes_to_the_staff_or_warns_or_refuses(
    database_url: str, tmp_path: Path
) -> None:
    cli("db", "upgrade", expect=0)
    build_city(database_url, capacity=2)
    tasks = str(tinycity.tasks_file(tmp_path))
    warned = cli("month", "plan", "--month", MONTH, "--tasks", tasks, expect=0)
    assert "expected load exceeds capacity" in warned and "department SAMR" in warned
    sized = cli("month", "plan", "--month", MONTH, "--tasks", tasks, "--fit-capacity", expect=0)
    assert "sized to the staff by SCIP" in sized and "exceeds capacity" not in sized
    assert "2026-12-INFO" in sized and "λ A" in sized
    lines = [tinycity.TASK_LINES[0] + ",0.05"]
    mandated = tmp_path / "mandated.csv"
    mandated.write_text(f"{tinycity.TASKS_HEADER},min_ratio\n" + "\n".join(lines) + "\n")
    refused = cli(
        "month", "plan", "--month", MONTH, "--tasks", str(mandated), "--fit-capacity", expect=1
    )
    assert "do not fit the staff" in refused and "department SAMR" in refused
    assert "inspector-visits" in refused


def test_month_run_phase_one_sizes_to_the_staff_with_fit_capacity(
    database_url: str, tmp_path: Path
) -> None:
    cli("db", "upgrade", expect=0)
    build_city(database_url, capacity=2)
    tasks = str(tinycity.tasks_file(tmp_path))
    run = ("month", "run", "--month", MONTH, "--tasks", tasks, "--no-score", "--fit-capacity")
    sized = cli(*run, expect=0)
    assert "sized to the staff by SCIP" in sized and "exceeds capacity" not in sized
    assert "commitment" in sized.lower()


def test_list_rules_are_a_setting_and_a_wrong_one_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """By default only the serious-violation list forces a class; a bureau that sets
    INSPECT_LIST_RULES to force the abnormal list too sees more enterprises raised."""
    from simulations.city import generate_city

    monkeypatch.setenv("INSPECT_DATABASE_URL", f"sqlite:///{tmp_path / 'city.db'}")
    city = tmp_path / "city"
    generate_city("600", 5, city)
    cli("db", "upgrade", expect=0)
    for kind in ("enterprises", "inspectors", "items", "inspections", "lists"):
        cli("import", kind, str(city / f"{kind}.csv"), expect=0)

    def raised(output: str) -> int:
        found = re.search(r"([\d,]+)\s+raised\s+by\s+list\s+rules", output)
        assert found is not None, output
        return int(found.group(1).replace(",", ""))

    default = raised(cli("score", "--as-of", "2026-12-01", expect=0))
    monkeypatch.setenv("INSPECT_LIST_RULES", "serious_violation:D,abnormal:C")
    both = raised(cli("score", "--as-of", "2026-12-01", expect=0))  # the same model, reused
    assert both > default
    monkeypatch.setenv("INSPECT_LIST_RULES", "abnormal:E")
    wrong = cli("score", "--as-of", "2026-12-01", expect=2)
    assert "INSPECT_LIST_RULES" in wrong and "the class must be B, C or D" in wrong
    assert "INSPECT_LIST_RULES" in cli("serve", expect=2)  # refused before it serves
