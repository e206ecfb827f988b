"""`month freeze --source` through the real command, on SQLite and PostgreSQL: the freeze
prints the staffing hash and the declared source with the commitment, and every draw
record then carries both (DRAW-SPEC's extra fields)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import models
from inspect_engine.cli import app
from inspect_engine.workflows.planning import plan_month
from tests.conftest import BACKENDS, database_url, own_database
from tests.workflows import tinycity

MONTH = "2026-12"
SOURCE = "中国福利彩票 3D 2026 年第 330 期（12 月 2 日开奖）"


def cli(url: str, *args: str) -> str:
    outcome = CliRunner().invoke(app, list(args), env={"INSPECT_DATABASE_URL": url})
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_declared_source_and_the_staffing_hash_reach_every_record(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    with own_database(backend, tmp_path_factory, "source") as factory:
        with factory.begin() as session:
            tinycity.build(session)
            tinycity.add_inspectors(session)
            plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
        url = database_url(factory)
        frozen = cli(url, "month", "freeze", "--month", MONTH, "--source", SOURCE)
        cli(url, "month", "draw", "--month", MONTH, "--contribution", "3 3 0")
        with factory() as session:
            plan = session.scalars(select(models.Plan)).one()
            assert plan.staffing_hash and plan.contribution_source == SOURCE
            records = [d.record for d in session.scalars(select(models.Draw))]
    assert plan.staffing_hash in frozen and SOURCE in frozen.replace("\n", "")
    assert records and all(
        (r["staffing_hash"], r["contribution_source"]) == (plan.staffing_hash, SOURCE)
        for r in records
    )
