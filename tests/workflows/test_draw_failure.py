"""A draw that fails after its contribution is accepted: the failure is committed and
shown in plain words (no stack trace, no credit code), a different contribution is then
refused, and the same one completes the draw. Through the real command (CliRunner)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import models
from inspect_engine import faults
from inspect_engine.cli import app
from inspect_engine.sampling import protocol
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.planning import freeze_month, plan_month
from tests.conftest import BACKENDS, database_url, own_database
from tests.workflows import tinycity

MONTH = "2026-12"
ACCEPTED = "dice:6-6-1-2-5"
SELECTED = tinycity.credit_code(7, tinycity.DISTRICTS[0])  # what the failure names


def fail_after_selections(name: str) -> None:
    if name == "draw.after_selections":  # as a merge that trips over one enterprise
        raise ValueError(f"enterprise {SELECTED} has no district for its visit")


def draw(url: str, contribution: str) -> tuple[int, str, BaseException | None]:
    outcome = CliRunner().invoke(
        app,
        ["month", "draw", "--month", MONTH, "--contribution", contribution],
        env={"INSPECT_DATABASE_URL": url, "INSPECT_CRASH_AT": None},
    )
    return outcome.exit_code, outcome.output, outcome.exception


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_draw_is_recorded_and_completes_only_with_its_contribution(
    backend: str,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with own_database(backend, tmp_path_factory, "drawfail") as factory:
        with factory.begin() as session:
            tinycity.build(session)
            plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
        with factory.begin() as session:
            freeze_month(session, MONTH, ExclusionPolicy())
        url = database_url(factory)

        monkeypatch.setattr(faults, "checkpoint", fail_after_selections)
        code, output, exc = draw(url, ACCEPTED)
        assert code == 1 and isinstance(exc, SystemExit), output
        assert "Traceback" not in output and SELECTED not in output
        assert "failed after the contribution" in output and "draw_failed" in output
        with factory() as session:
            plan = session.scalars(select(models.Plan)).one()
            assert (plan.status, plan.contribution) == ("draw_failed", ACCEPTED)
            assert plan.seed is None and plan.nonce is None  # nothing revealed
            assert session.scalar(select(func.count()).select_from(models.Selection)) == 0
            entries = session.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id))
            *_, accepted, failed = entries.all()
            assert accepted.action == "plan.draw.accept"
            assert accepted.details["contribution"] == ACCEPTED
            assert failed.action == "plan.draw.failed"
            assert failed.details["error"].startswith("ValueError: enterprise [credit code]")

        code, output, exc = draw(url, "a preferred value")
        assert code == 1 and isinstance(exc, SystemExit), output
        assert f"accepted the contribution '{ACCEPTED}'" in output

        monkeypatch.undo()
        code, output, exc = draw(url, ACCEPTED)
        assert code == 0, output
        with factory() as session:
            plan = session.scalars(select(models.Plan)).one()
            assert plan.status == "drawn" and plan.nonce is not None
            assert plan.seed == protocol.derive_seed(plan.nonce, ACCEPTED, plan.group_hash)
            actions = session.scalars(
                select(models.AuditEntry.action).order_by(models.AuditEntry.id)
            ).all()
            assert actions[-4:] == [
                "plan.freeze",
                "plan.draw.accept",
                "plan.draw.failed",
                "plan.draw",
            ]
