"""`month run` killed mid-step (SIGKILL, as a power cut) and run again: the month
completes with the same draw and no duplicate rows."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

import models
from inspect_engine.sampling import protocol
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.workflows import tinycity

CONTRIBUTION = "dice:5-2-6-1-3-3-4-6-2-5"


def cli(url: str, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INSPECT_DATABASE_URL": url}
    env.pop("INSPECT_CRASH_AT", None)
    if crash_at:
        env["INSPECT_CRASH_AT"] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "inspect_engine.cli", "month", "run", "--month", "2026-12", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_run_resumes_with_the_same_draw(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path_factory, "run")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    try:
        upgrade(engine)
        with factory.begin() as session:
            tinycity.build(session)
            tinycity.add_inspectors(session)
        tasks = tinycity.tasks_file(tmp_path)
        killed = cli(url, "--tasks", str(tasks), "--no-score", crash_at="run.before_freeze")
        assert killed.returncode == -9
        one = cli(url, "--tasks", str(tasks), "--no-score")
        assert one.returncode == 0, one.stderr
        out = tmp_path / "out"
        two_args = ("--contribution", CONTRIBUTION, "--dir", str(out))
        for point in ("draw.after_selections", "run.before_assign"):
            killed = cli(url, *two_args, crash_at=point)
            assert killed.returncode == -9, killed.stderr
        with factory() as session:  # the killed draw left nothing; the second one is kept
            plan = session.scalars(select(models.Plan)).one()
            assert plan.status == "drawn"
            first_seed = plan.seed
        done = cli(url, *two_args)
        assert done.returncode == 0, done.stderr
        with factory() as session:
            plan = session.scalars(select(models.Plan)).one()
            assert plan.status == "assigned" and plan.seed == first_seed
            assert plan.seed == protocol.derive_seed(plan.nonce, CONTRIBUTION, plan.group_hash)
            draws = session.scalars(select(models.Draw)).all()
            assert len(draws) == 2
            selections = session.scalar(select(func.count()).select_from(models.Selection))
            assert selections == sum(d.record["n"] for d in draws)
            visits = session.scalar(select(func.count()).select_from(models.Visit))
            distinct = {c for d in draws for c in d.record["selected"]}
            assert visits == len(distinct)
            freezes = session.scalars(
                select(models.AuditEntry.action).where(models.AuditEntry.action == "plan.freeze")
            ).all()
            assert len(freezes) == 1
        assert len(list((out / "draws").glob("*.json"))) == 2
        assert not list(out.rglob("*.tmp"))
    finally:
        engine.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)
