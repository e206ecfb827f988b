"""`month assign` through the real command sends each enterprise with a liaison its
confirmation code (here by the SMS file outbox), on SQLite and PostgreSQL: one line per
visit with a contact, each code stored only as its hash, none for the others."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import models
from inspect_engine.cli import app
from inspect_engine.liaison import OUTBOX_FILE
from inspect_engine.workflows import field
from inspect_engine.workflows.planning import plan_month
from tests.conftest import BACKENDS, database_url, own_database
from tests.workflows import tinycity

MONTH = "2026-12"
SITE = "https://scjg.example.gov.cn"


@pytest.mark.parametrize("backend", BACKENDS)
def test_month_assign_sends_the_confirmation_codes(
    backend: str, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    outbox = tmp_path / "sms"
    with own_database(backend, tmp_path_factory, "liaisoncli") as factory:
        with factory.begin() as session:
            tinycity.build(session)
            enterprises = session.scalars(
                select(models.Enterprise).order_by(models.Enterprise.credit_code)
            ).all()
            for n, enterprise in enumerate(enterprises):
                enterprise.contact = f"139{n:08d}" if n % 2 else None
            tinycity.add_inspectors(session, per_unit=3, capacity=20)
            plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
        env = {
            "INSPECT_DATABASE_URL": database_url(factory),
            "INSPECT_SMS_OUTBOX_DIR": str(outbox),
            "INSPECT_PUBLIC_BASE_URL": SITE,
        }
        for args in (
            ["month", "freeze", "--month", MONTH],
            ["month", "draw", "--month", MONTH, "--contribution", "4 4 1"],
            ["month", "assign", "--month", MONTH],
        ):
            outcome = CliRunner().invoke(app, args, env=env)
            assert outcome.exit_code in (0, 3), outcome.output
        with factory() as session:
            staffed = select(models.TeamMember.visit_id).where(
                models.TeamMember.replaced_at.is_(None)
            )
            rows = session.execute(
                select(models.Visit.confirm_hash, models.Enterprise.contact)
                .join(models.Enterprise, models.Enterprise.credit_code == models.Visit.credit_code)
                .where(models.Visit.id.in_(staffed))
            ).all()
    lines = [json.loads(line) for line in (outbox / OUTBOX_FILE).read_text().splitlines()]
    with_contact = {contact: hashed for hashed, contact in rows if contact}
    assert with_contact and len(lines) == len(with_contact)
    assert all(hashed is None for hashed, contact in rows if not contact)
    for line in lines:
        [code] = re.findall(re.escape(SITE) + r"/v/([A-Z2-7]{40})", line["text"])
        assert with_contact[line["to"]] == field.confirm_hash(code)
