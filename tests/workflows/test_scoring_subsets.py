"""`score` on real-looking partial histories: empty directory columns, missing history files,
a few hundred enterprises. Each must score (or fall back to the prior) and say what it
dropped, never crash (the crash this guards: HistGradientBoosting's "window shape cannot be
larger than input array shape" on a registered capital empty for everyone)."""

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import models
from inspect_engine.risk.pipeline import TrainingConfig
from inspect_engine.workflows.imports import import_file
from inspect_engine.workflows.scoring import model_report, score_city
from simulations.city import generate_city

CONFIG = TrainingConfig(cv=2, gbm_max_iter=40)
AS_OF = date(2026, 12, 1)
HISTORY = ("inspections", "penalties", "complaints", "annual-reports", "lists")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small-city")
    generate_city("600", 5, out)
    return out


def blanked(city: Path, out: Path, columns: tuple[str, ...]) -> Path:
    """The enterprise file with `columns` empty on every row."""
    with (city / "enterprises.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    path = out / "enterprises.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, **dict.fromkeys(columns, "")} for row in rows)
    return path


def load(session: Session, city: Path, enterprises: Path, history: tuple[str, ...]) -> None:
    import_file(session, "enterprises", enterprises)
    import_file(session, "inspectors", city / "inspectors.csv")
    import_file(session, "items", city / "items.csv")
    for kind in history:
        import_file(session, kind, city / f"{kind.replace('-', '_')}.csv")


def active(session: Session) -> int:
    query = select(func.count()).select_from(models.Enterprise)
    return session.scalar(query.where(models.Enterprise.status == "active")) or 0


@pytest.mark.parametrize(
    ("empty", "history", "dropped"),
    [
        (("registered_capital",), ("inspections",),
         {"capital_log10", "penalties_serious", "serious_violation_listed"}),
        (("registered_capital", "licences", "tags"), HISTORY, {"capital_log10"}),
        ((), ("inspections", "complaints", "annual-reports", "lists"), {"penalties_serious"}),
        ((), ("inspections", "penalties", "complaints", "lists"), set()),
    ],
    ids=["inspections-alone-no-capital", "no-capital-licences-tags", "no-penalties",
         "no-annual-reports"],
)  # fmt: skip
def test_partial_history_scores_and_names_what_it_dropped(
    session: Session,
    city: Path,
    tmp_path: Path,
    empty: tuple[str, ...],
    history: tuple[str, ...],
    dropped: set[str],
) -> None:
    load(session, city, blanked(city, tmp_path, empty), history)
    outcome = score_city(session, AS_OF, config=CONFIG)
    assert outcome.scored == active(session) == sum(outcome.classes.values()) > 0
    assert outcome.kind in {"scorecard", "gbm"}, outcome.notes
    names = set(outcome.metrics["dropped_features"])
    assert dropped <= names
    version = session.get(models.ModelVersion, outcome.model_version_id)
    assert version is not None and not names & set(version.features)
    if "capital_log10" in dropped:
        assert "Feature capital_log10 dropped: empty for every visit." in outcome.notes
    report = model_report(session, AS_OF, tmp_path / "report", config=CONFIG)
    text = report.read_text(encoding="utf-8")
    assert all(f"Feature {name} dropped" in text for name in names)


def test_no_inspections_falls_back_to_the_prior_with_a_clear_message(
    session: Session, city: Path, tmp_path: Path
) -> None:
    load(session, city, city / "enterprises.csv", ("penalties", "lists"))
    outcome = score_city(session, AS_OF, config=CONFIG)
    assert outcome.kind == "prior"
    assert outcome.notes[0].startswith("No model could be fitted (0 inspection(s) in the")
    # The prior ranks nobody: all B, except those a list rule raises.
    assert outcome.classes["A"] == 0
    assert outcome.classes["B"] + outcome.overrides == outcome.scored == active(session)
    report = model_report(session, AS_OF, tmp_path / "report", config=CONFIG)
    assert "No model could be fitted" in report.read_text(encoding="utf-8")


def test_a_history_without_any_problem_falls_back_to_the_prior(
    session: Session, city: Path, tmp_path: Path
) -> None:
    with (city / "inspections.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    clean = tmp_path / "inspections.csv"
    with clean.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(row for row in rows if row["result"] == "no_problem")
    load(session, city, city / "enterprises.csv", ())
    import_file(session, "inspections", clean)
    outcome = score_city(session, AS_OF, config=CONFIG)
    assert outcome.kind == "prior"
    assert "no inspection found a problem" in outcome.notes[0]
    assert outcome.scored == active(session)
