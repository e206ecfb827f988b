"""The service's commands (`users`, `results`) on a fresh SQLite database: the same
workflows as the API, one transaction per command, errors without a stack trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import models
from inspect_engine.cli_service import results_app, users_app
from inspect_engine.workflows.users import authenticate
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.api import servicecity


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        servicecity.populate(session, tmp_path)
        session.commit()
    engine.dispose()
    monkeypatch.setenv("INSPECT_DATABASE_URL", url)
    return url


def test_users_add_token_revoke(database: str) -> None:
    runner = CliRunner()
    added = runner.invoke(
        users_app, ["add", "chen", "--role", "supervisor", "--department", "SAMR"]
    )
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        assert authenticate(session, token).departments == {"SAMR"}
    engine.dispose()
    second = runner.invoke(users_app, ["token", "chen"])
    assert second.exit_code == 0
    revoked = runner.invoke(users_app, ["revoke", "chen"])
    assert revoked.exit_code == 0 and "2 token(s)" in revoked.output
    refused = runner.invoke(users_app, ["add", "wu", "--role", "supervisor"])
    assert refused.exit_code == 1 and "department" in refused.output
    assert "Traceback" not in refused.output


def test_results_import_and_publish(database: str, tmp_path: Path) -> None:
    engine = make_engine(database)
    with make_session_factory(engine)() as session:
        first = session.scalars(select(models.Visit).order_by(models.Visit.visit_code)).first()
        assert first is not None
        visit, items = first.visit_code, first.item_codes
    engine.dispose()
    path = tmp_path / "results.csv"
    rows = [f"{visit},{item},no_problem,2026-09-21," for item in items]
    path.write_text("visit_id,item_code,result,inspected_on,note\n" + "\n".join(rows) + "\n")
    runner = CliRunner()
    imported = runner.invoke(results_app, ["import", str(path)])
    assert imported.exit_code == 0, imported.output
    assert f"{len(rows)} new" in imported.output
    published = runner.invoke(results_app, ["publish", "--month", servicecity.MONTH])
    assert published.exit_code == 0, published.output
    assert f"{len(rows)} result(s) of 1 visit(s) published" in published.output
    path.write_text("visit_id,item_code,result,inspected_on\nnope,SAMR-INFO,bad,2026-09-21\n")
    rejected = runner.invoke(results_app, ["import", str(path)])
    assert rejected.exit_code == 1 and "row 2" in rejected.output
