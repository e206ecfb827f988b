"""`month run`: the month in two phases, because the public contribution must come after
the commitment is published.

Phase one: score → plan → freeze, then print the commitment. Phase two, later: draw →
assign → export. Each step runs in its own transaction and is idempotent (a finished step
returns its stored result), so a run killed at any point is resumed by running the same
command again: nothing is half-written and the draw is the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_engine import faults
from inspect_engine.assignment.schedule import DEFAULT_MAX_VISITS_PER_DAY
from inspect_engine.assignment.types import DEFAULT_RECUSAL_WINDOW_DAYS
from inspect_engine.errors import Conflict
from inspect_engine.liaison import Courier
from inspect_engine.risk.classes import ClassPolicy
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.sealing import NonceKey
from inspect_engine.workflows.assignment import AssignOutcome, assign_month
from inspect_engine.workflows.drawing import Transactions, draw_recorded
from inspect_engine.workflows.month_export import ExportResult, export_month
from inspect_engine.workflows.planning import (
    DrawResult,
    FreezeResult,
    PlanSummary,
    freeze_month,
    month_start,
    plan_month,
)
from inspect_engine.workflows.scoring import ScoreOutcome, score_city
from models import Plan

StepProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PhaseOne:
    score: ScoreOutcome | None
    freeze: FreezeResult
    plan: PlanSummary | None = None  # None: the plan was already made (a rerun)


@dataclass(frozen=True)
class PhaseTwo:
    draw: DrawResult
    assign: AssignOutcome
    export: ExportResult


def _step(name: str, index: int, total: int, progress: StepProgress | None) -> None:
    if progress is not None:
        progress(name, index, total)
    faults.checkpoint(f"run.before_{name}")


def run_phase_one(
    transactions: Transactions,
    month: str,
    tasks: Path,
    policy: ExclusionPolicy,
    *,
    score: bool = True,
    progress: StepProgress | None = None,
    source: str | None = None,
    recusal_window_days: int = DEFAULT_RECUSAL_WINDOW_DAYS,
    nonce_key: NonceKey | None = None,
    fit_capacity: bool = False,
    utilisation: float = 0.9,
    max_visits_per_day: int = DEFAULT_MAX_VISITS_PER_DAY,
    class_policy: ClassPolicy | None = None,
) -> PhaseOne:
    """Score, plan, freeze. The plan is held against the staff as `month plan` holds it:
    sized to it with `fit_capacity`, else a warning where the ratios ask for more."""
    first_day = month_start(month)
    scored = None
    if score:
        _step("score", 0, 3, progress)
        with transactions() as session:
            scored = score_city(session, first_day, policy=class_policy)
    _step("plan", 1, 3, progress)
    planned = None
    with transactions() as session:  # apart: plan_month's claim must come first in its own
        status = _status(session, month)
    if status in (None, "planned"):
        with transactions() as session:
            planned = plan_month(
                session, month, tasks, policy=policy, fit_capacity=fit_capacity,
                utilisation=utilisation,
            )  # fmt: skip
    _step("freeze", 2, 3, progress)
    with transactions() as session:
        frozen = freeze_month(
            session, month, policy, source=source, recusal_window_days=recusal_window_days,
            nonce_key=nonce_key, max_visits_per_day=max_visits_per_day,
        )  # fmt: skip
    _step("done", 3, 3, progress)
    return PhaseOne(scored, frozen, planned)


def run_phase_two(
    transactions: Transactions,
    month: str,
    contribution: str,
    out_dir: Path,
    *,
    recusal_window_days: int,
    progress: StepProgress | None = None,
    nonce_key: NonceKey | None = None,
    courier: Courier | None = None,
) -> PhaseTwo:
    with transactions() as session:
        if _status(session, month) in (None, "planned"):
            raise Conflict(
                f"the plan for {month} is not frozen: run phase one (month run --tasks ...) "
                "and publish its commitment before entering the contribution"
            )
    _step("draw", 0, 3, progress)
    drawn = draw_recorded(transactions, month, contribution, nonce_key=nonce_key)
    _step("assign", 1, 3, progress)
    with transactions() as session:
        assigned = assign_month(
            session, month, recusal_window_days=recusal_window_days, courier=courier
        )
    _step("export", 2, 3, progress)
    with transactions() as session:
        exported = export_month(session, month, out_dir)
    _step("done", 3, 3, progress)
    return PhaseTwo(drawn, assigned, exported)


def _status(session: Session, month: str) -> Any:
    return session.scalar(select(Plan.status).where(Plan.month == month))
