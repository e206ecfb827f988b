"""`score --as-of DATE`: train (or reuse) the risk model and class every active enterprise.

Every trained model is kept in the registry (model_versions) with its data window,
features, parameters and backtest metrics; scores are stored per model version, so a
plan can always say which classes it drew with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inspect_engine.errors import NotFound
from inspect_engine.formats.csv_safety import SafeWriter
from inspect_engine.risk.backtest import write_backtest_report
from inspect_engine.risk.classes import CLASS_LETTERS, ClassPolicy
from inspect_engine.risk.pipeline import (
    RiskModelArtifact,
    TrainingConfig,
    TrainingResult,
    score_enterprises,
    train_risk_model,
)
from inspect_engine.workflows import audit
from inspect_engine.workflows.columns import store_class_snapshot
from inspect_engine.workflows.risk_data import RiskData, load_risk_data
from models import ModelVersion, RiskScore
from models import repositories as repo

SCORE_BATCH = 100_000
SCORE_COLUMNS = (
    "model_version_id",
    "credit_code",
    "as_of",
    "probability",
    "risk_class",
    "override",
    "reasons",
)


@dataclass(frozen=True)
class ScoreOutcome:
    model_version_id: int
    kind: str
    as_of: date
    trained: bool
    scored: int
    classes: dict[str, int]
    overrides: int
    without_history: int
    metrics: dict[str, Any]

    @property
    def notes(self) -> list[str]:
        return training_notes(self.metrics)


def score_city(
    session: Session,
    as_of: date,
    *,
    retrain: bool = False,
    random_state: int = 0,
    policy: ClassPolicy | None = None,
    config: TrainingConfig | None = None,
    actor: str = "cli",
) -> ScoreOutcome:
    """Train or reuse the model for `as_of`, then class every active enterprise."""
    data = load_risk_data(session)
    version = None if retrain else _model_for(session, as_of)
    trained = version is None
    if version is None:
        result = train_risk_model(
            data.enterprises,
            data.history,
            np.datetime64(as_of),
            config or TrainingConfig(),
            random_state,
        )
        version = _register(session, as_of, result)
    artifact = RiskModelArtifact.from_bytes(version.artefact)
    outcome = _score(session, version, artifact, data, as_of, policy or ClassPolicy(), trained)
    audit.record(
        session,
        actor,
        "risk.score",
        as_of.isoformat(),
        {"model_version": version.id, "trained": trained, "classes": outcome.classes},
    )
    return outcome


def _model_for(session: Session, as_of: date) -> ModelVersion | None:
    query = select(ModelVersion).where(ModelVersion.as_of == as_of).order_by(ModelVersion.id.desc())
    return session.scalars(query).first()


def _register(session: Session, as_of: date, result: TrainingResult) -> ModelVersion:
    meta = result.artifact.metadata
    window = meta.get("data_window") or [None, None]
    version = ModelVersion(
        kind=str(meta["kind"]),
        as_of=as_of,
        data_window_start=date.fromisoformat(window[0]) if window[0] else None,
        data_window_end=date.fromisoformat(window[1]) if window[1] else None,
        features=list(meta.get("feature_names", [])),
        parameters={"config": meta.get("config"), "random_state": meta.get("random_state")},
        metrics={
            "backtest": meta.get("backtest"),
            "n_visits": meta.get("n_visits"),
            "n_problems": meta.get("n_problems"),
            "share_pi_known": meta.get("share_pi_known"),
            "inspectors_flagged": meta.get("inspectors_flagged"),
            "dropped_features": meta.get("dropped_features") or {},
            "fallback": meta.get("fallback"),
        },
        artefact=result.artifact.to_bytes(),
    )
    session.add(version)
    session.flush()
    return version


def _score(
    session: Session,
    version: ModelVersion,
    artifact: RiskModelArtifact,
    data: RiskData,
    as_of: date,
    policy: ClassPolicy,
    trained: bool,
) -> ScoreOutcome:
    rows = np.flatnonzero(data.active)
    scores = score_enterprises(
        artifact, data.enterprises, data.history, np.datetime64(as_of), policy, rows=rows
    )
    letters = scores.class_letters()
    reasons = scores.reasons.joined()
    overrides = scores.classes.override
    codes = data.enterprises.credit_code[scores.enterprise]
    session.execute(delete(RiskScore).where(RiskScore.model_version_id == version.id))
    # Tuples straight to the driver: the ORM's bulk insert spends more per row than the
    # database does at 2.7 million rows (and splits batches wherever a NULL changes place).
    # -1 (no override) picks the trailing None.
    override_text = np.array([*(rule.reason for rule in policy.overrides), None], dtype=object)
    for lo in range(0, len(codes), SCORE_BATCH):
        part = slice(lo, lo + SCORE_BATCH)
        values = zip(
            repeat(version.id),
            codes[part].tolist(),
            repeat(as_of),
            [round(p, 6) for p in scores.probability[part].astype(float).tolist()],
            letters[part].tolist(),
            override_text[overrides[part]].tolist(),
            [text or None for text in reasons[part].tolist()],
            strict=False,  # repeat() is endless; the lists bound the rows
        )
        repo.insert_rows(session, RiskScore, SCORE_COLUMNS, values)
    store_class_snapshot(session, version.id, codes, letters)  # what the freeze reads
    counts = {c: int((letters == c).sum()) for c in CLASS_LETTERS}
    return ScoreOutcome(
        model_version_id=version.id,
        kind=version.kind,
        as_of=as_of,
        trained=trained,
        scored=len(codes),
        classes=counts,
        overrides=int((overrides >= 0).sum()),
        without_history=int((~scores.has_history).sum()),
        metrics=dict(version.metrics),
    )


def export_scores(session: Session, path: Path) -> int:
    """`scores export`: credit_code, probability, risk_class, reasons of the latest model."""
    latest = session.scalar(select(ModelVersion.id).order_by(ModelVersion.id.desc()).limit(1))
    if latest is None:
        raise NotFound("no scores yet; run `inspect-engine score --as-of DATE` first")
    query = (
        select(RiskScore.credit_code, RiskScore.probability, RiskScore.risk_class,
               RiskScore.reasons)
        .where(RiskScore.model_version_id == latest)
        .order_by(RiskScore.credit_code)
        .execution_options(yield_per=50_000)
    )  # fmt: skip
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = SafeWriter(out, [False, True, False, False])  # probability is a number
        writer.writerow(["credit_code", "probability", "risk_class", "reasons"])
        for code, probability, risk_class, reasons in session.execute(query):
            writer.writerow([code, f"{probability:.6f}", risk_class, reasons or ""])
            count += 1
    return count


def model_report(
    session: Session,
    as_of: date,
    out_dir: Path,
    *,
    random_state: int = 0,
    config: TrainingConfig | None = None,
) -> Path:
    """`model report`: the time-split backtest as of `as_of` (the same training the model
    registry records), written as Markdown with calibration, gains and inspector charts."""
    data = load_risk_data(session)
    result = train_risk_model(
        data.enterprises,
        data.history,
        np.datetime64(as_of),
        config or TrainingConfig(),
        random_state,
    )
    title = f"Risk model backtest as of {as_of.isoformat()}"
    notes = training_notes(result.artifact.metadata)
    if result.backtest is None:
        return write_fallback_report(out_dir, title, notes)
    return write_backtest_report(
        result.backtest, out_dir, result.inspectors, title=title, notes=notes
    )


def training_notes(metadata: dict[str, Any]) -> list[str]:
    """What the operator must know about a training: the fallback, the dropped columns."""
    notes = []
    if metadata.get("fallback"):
        notes.append(
            f"No model could be fitted ({metadata['fallback']}); every enterprise gets the "
            f"prior problem rate and class B, and only the list rules raise a class."
        )
    for name, why in (metadata.get("dropped_features") or {}).items():
        notes.append(f"Feature {name} dropped: {why}.")
    return notes


def write_fallback_report(out_dir: Path, title: str, notes: list[str]) -> Path:
    """The report when there is no backtest to show: why, and what was used instead."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.md"
    lines = [f"# {title}", "", "## Notes", "", *(f"- {note}" for note in notes), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
