"""Scoring through the database on a small synthetic city, on SQLite and PostgreSQL."""

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import models
from inspect_engine.risk.pipeline import TrainingConfig
from inspect_engine.workflows.imports import import_file
from inspect_engine.workflows.scoring import export_scores, model_report, score_city
from simulations.city import generate_city

# Both candidates, lighter: the default configuration is exercised by `make demo`.
CONFIG = TrainingConfig(cv=2, gbm_max_iter=60)
KINDS = ("enterprises", "inspectors", "items", "inspections", "penalties", "complaints",
         "annual-reports", "lists", "leave", "conflicts")  # fmt: skip


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate_city("4000", 11, out)
    return out


def load(session: Session, city: Path) -> None:
    for kind in KINDS:
        import_file(session, kind, city / f"{kind.replace('-', '_')}.csv")


def test_every_active_enterprise_gets_one_class_with_reasons(
    session: Session, city: Path, tmp_path: Path
) -> None:
    load(session, city)
    outcome = score_city(session, date(2026, 12, 1), config=CONFIG)
    active = session.scalar(
        select(func.count())
        .select_from(models.Enterprise)
        .where(models.Enterprise.status == "active")
    )
    assert outcome.trained and outcome.scored == active == sum(outcome.classes.values())
    assert outcome.classes["A"] > outcome.classes["B"] > 0 and outcome.classes["D"] > 0
    version = session.get(models.ModelVersion, outcome.model_version_id)
    assert version is not None and version.features and version.metrics["backtest"]["chosen"]
    # serious-violation list ⇒ D, whatever the probability (a recorded override)
    listed = select(models.ListMembership.credit_code).where(
        models.ListMembership.list == "serious_violation",
        models.ListMembership.listed_on < date(2026, 12, 1),
        models.ListMembership.removed_on.is_(None),
    )
    classes = select(models.RiskScore.risk_class, models.RiskScore.override).where(
        models.RiskScore.credit_code.in_(listed)
    )
    rows = session.execute(classes).all()
    assert rows and all(cls == "D" for cls, _ in rows)
    assert any(override for _, override in rows)
    path = tmp_path / "scores.csv"
    assert export_scores(session, path) == outcome.scored
    exported = list(csv.DictReader(path.open(encoding="utf-8")))
    assert all(row["reasons"] for row in exported)
    assert {row["risk_class"] for row in exported} == {"A", "B", "C", "D"}
    again = score_city(session, date(2026, 12, 1), config=CONFIG)
    assert not again.trained and again.model_version_id == outcome.model_version_id
    assert session.scalar(select(func.count()).select_from(models.RiskScore)) == outcome.scored
    report = model_report(session, date(2026, 12, 1), tmp_path / "report", config=CONFIG)
    text = report.read_text(encoding="utf-8")
    assert "| gbm | test |" in text and "| scorecard | test |" in text
    assert (tmp_path / "report" / "calibration.png").stat().st_size > 1000
