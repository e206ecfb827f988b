"""Commands killed (SIGKILL, as a power cut) inside their transaction, after rows were
written and before the commit: the database is left exactly as it was, and running the
command again gives what a run that was never interrupted gives.

The killed run is the real CLI in a subprocess. The rerun, and the uninterrupted reference
on a twin database copied before the first crash, run the same CLI in-process."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import models
from inspect_engine.cli import app
from inspect_engine.publication.result_codes import CODES
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.planning import freeze_month, plan_month
from models.base import Base
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.workflows import tinycity

MONTH = "2026-09"  # a past month, so that its results can be entered
TASK_LINES = tuple(line.replace("2026-12-", f"{MONTH}-") for line in tinycity.TASK_LINES)
CONTRIBUTION = "dice:3-1-4-1-5-9-2-6"
INSPECTED_ON = date(2026, 9, 15)
ENTERPRISE_HEADER = "credit_code,name,entity_type,industry,district,unit,registered_on,status"
NEW_ENTERPRISES = 5_200  # more than one import batch (5,000 rows)


def killed_cli(url: str, args: list[str], crash_at: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INSPECT_DATABASE_URL": url, "INSPECT_CRASH_AT": crash_at}
    return subprocess.run(
        [sys.executable, "-m", "inspect_engine.cli", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def cli(url: str, args: list[str]) -> int:
    """The same command in this process, never crashing."""
    outcome = CliRunner().invoke(
        app, args, env={"INSPECT_DATABASE_URL": url, "INSPECT_CRASH_AT": None}
    )
    assert outcome.exit_code in (0, 3), (args, outcome.output, outcome.exception)
    return outcome.exit_code


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the schema, in primary-key order."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def outcome(url: str) -> dict[str, list[Any]]:
    """What the commands produced, without the ids, times and random codes that differ
    between two equal runs."""
    m = models
    visit = m.Visit.visit_code
    queries = {
        "plan": select(m.Plan.status, m.Plan.seed, m.Plan.contribution, m.Plan.summary),
        "draws": select(m.Draw.task_code, m.Draw.record).order_by(m.Draw.task_code),
        "selections": select(m.Selection).order_by(m.Selection.task_code, m.Selection.credit_code),
        "visits": select(visit, m.Visit.credit_code, m.Visit.item_codes, m.Visit.status).order_by(
            visit
        ),
        "teams": select(visit, m.TeamMember.inspector_id, m.TeamMember.role)
        .join(m.Visit, m.Visit.id == m.TeamMember.visit_id)
        .order_by(visit, m.TeamMember.inspector_id),
        "runs": select(
            m.AssignmentRun.label,
            m.AssignmentRun.partial,
            m.AssignmentRun.unstaffed,
            m.AssignmentRun.fairness,
        ).order_by(m.AssignmentRun.id),
        "results": select(visit, m.Result.item_code, m.Result.result, m.Result.status)
        .join(m.Visit, m.Visit.id == m.Result.visit_id)
        .order_by(visit, m.Result.item_code),
        "publications": select(
            m.Publication.visit_code,
            m.Publication.item_code,
            m.Publication.task_code,
            m.Publication.result,
            m.Publication.due_on,
            m.Publication.state,
        ).order_by(m.Publication.visit_code, m.Publication.item_code),
        "history": select(m.Inspection.row_hash).order_by(m.Inspection.row_hash),
        "enterprises": select(
            m.Enterprise.credit_code, m.Enterprise.name, m.Enterprise.unit
        ).order_by(m.Enterprise.credit_code),
        "units": select(m.Unit.code).order_by(m.Unit.code),
        "audit": select(m.AuditEntry.action, m.AuditEntry.subject).order_by(m.AuditEntry.id),
    }
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = {name: [tuple(r) for r in connection.execute(q)] for name, q in queries.items()}
    finally:
        engine.dispose()
    # a draw record states when it was drawn; what was drawn is the seed and the selection
    found["draws"] = [(code, r["seed"], r["selected"]) for code, r in found["draws"]]
    return found


def copy_database(url: str, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        target = tmp_path / "twin.db"
        source = url.split("///", 1)[1]
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
        return f"sqlite:///{target}"
    parsed = make_url(url)
    twin = f"{parsed.database}_twin"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{twin}"'))
            connection.execute(text(f'CREATE DATABASE "{twin}" TEMPLATE "{parsed.database}"'))
    finally:
        admin.dispose()
    return parsed.set(database=twin).render_as_string(hide_password=False)


def crash_then_resume(
    url: str, twin: str, args: list[str], point: str, committed: tuple[str, ...] = ()
) -> None:
    """`committed`: tables an earlier transaction of the command changed before the kill
    (the draw's accepted contribution)."""
    before = dump(url)
    killed = killed_cli(url, args, point)
    assert killed.returncode == -9, (point, killed.returncode, killed.stderr[-2000:])
    after = dump(url)
    changed = [t for t in before if before[t] != after[t]]
    assert changed == list(committed), f"{point} left partial rows"
    assert cli(url, args) == cli(twin, args)
    resumed, uninterrupted = outcome(url), outcome(twin)
    assert [k for k in resumed if resumed[k] != uninterrupted[k]] == [], point


def results_file(url: str, tmp_path: Path) -> Path:
    """A result for every item of every visit, entered by the supervisor."""
    engine = make_engine(url)
    with engine.connect() as connection:
        visits = connection.execute(
            select(models.Visit.visit_code, models.Visit.item_codes).order_by(
                models.Visit.visit_code
            )
        ).all()
    engine.dispose()
    lines = ["visit_id,item_code,result,inspected_on"]
    for number, (visit_code, items) in enumerate(visits):
        for item in items:
            code = CODES[number % len(CODES)]
            lines.append(f"{visit_code},{item},{code},{INSPECTED_ON.isoformat()}")
    path = tmp_path / "results.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def enterprises_file(tmp_path: Path) -> Path:
    lines = [ENTERPRISE_HEADER]
    for n in range(NEW_ENTERPRISES):
        district = tinycity.DISTRICTS[n % 2]
        code = tinycity.credit_code(100_000 + n, district)
        lines.append(f"{code},新企业{n},company,F52,{district},{district}-09,2024-03-01,active")
    path = tmp_path / "enterprises.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("backend", BACKENDS)
def test_killed_commands_leave_nothing_and_resume_as_if_never_killed(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path_factory, "crash")
    engine = make_engine(url)
    twin = None
    try:
        upgrade(engine)
        factory = make_session_factory(engine)
        with factory.begin() as session:
            tinycity.build(session)
            tinycity.add_inspectors(session)
            plan_month(session, MONTH, tinycity.tasks_file(tmp_path, TASK_LINES))
        with factory.begin() as session:
            freeze_month(session, MONTH, ExclusionPolicy())
        engine.dispose()
        twin = copy_database(url, backend, tmp_path)  # the same frozen plan, the same nonce

        draw = ["month", "draw", "--month", MONTH, "--contribution", CONTRIBUTION]
        # the accepted contribution is committed before the draw is completed
        crash_then_resume(url, twin, draw, "draw.after_selections", ("audit_log", "plans"))
        crash_then_resume(url, twin, ["month", "assign", "--month", MONTH], "assign.after_teams")
        entered = results_file(url, tmp_path)
        assert cli(url, ["results", "import", str(entered)]) == 0
        assert cli(twin, ["results", "import", str(entered)]) == 0
        publish = ["results", "publish", "--month", MONTH]
        crash_then_resume(url, twin, publish, "publish.after_rows")
        directory = ["import", "enterprises", str(enterprises_file(tmp_path))]
        crash_then_resume(url, twin, directory, "import.after_batch")

        done = outcome(url)  # every step has really run
        assert done["plan"][0][0] == "assigned" and done["plan"][0][1]
        assert done["teams"] and done["history"]
        assert len(done["publications"]) == len(done["results"]) > 0
        assert len(done["enterprises"]) == 400 + NEW_ENTERPRISES
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)
            if twin is not None:
                _drop_postgres_database(twin)
