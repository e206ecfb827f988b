"""Rows and workflow results → response schemas (shared by the JSON API and the site)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from api import schemas
from api.queries import RESULT_LABELS, TaskView
from models import Plan, Publication


def aware(moment: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back; stored times are UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def public_result(p: Publication, titles: dict[str, str]) -> schemas.PublicResult:
    published_at = aware(p.published_at)
    assert published_at is not None
    return schemas.PublicResult(
        id=p.id,
        credit_code=p.credit_code,
        enterprise_name=p.enterprise_name,
        district=p.district,
        department=p.department,
        task_code=p.task_code,
        item_code=p.item_code,
        item_title=titles.get(p.item_code, p.item_code),
        result=p.result,
        result_label=RESULT_LABELS.get(p.result, p.result),
        inspected_on=p.inspected_on,
        published_at=published_at,
        version=p.version,
        state=p.state,  # type: ignore[arg-type]
        corrected=p.corrects_id is not None,
        reason=p.reason,
    )


def plan_summary(plan: Plan, tasks: int) -> schemas.PublicPlanSummary:
    return schemas.PublicPlanSummary(
        month=plan.month,
        status=plan.status,
        task_count=tasks,
        group_hash=plan.group_hash,
        commitment=plan.commitment,
        committed_at=aware(plan.committed_at),
        drawn_at=aware(plan.drawn_at),
        published_at=aware(plan.published_at),
        staffing_hash=plan.staffing_hash,
        contribution_source=plan.contribution_source,
    )


def public_task(view: TaskView) -> schemas.PublicTask:
    task, record = view.task, view.record
    classes: list[schemas.ClassCount] = []
    for entry in (record or {}).get("classes", []):
        classes.append(
            schemas.ClassCount(
                risk_class=str(entry.get("risk_class", "")),
                units=int(entry.get("units", 0)),
                lam=_lambda_range(entry),
            )
        )
    if record is None and view.frame is not None:
        classes = [
            schemas.ClassCount(risk_class=name, units=int(c["units"]), lam=str(c["lambda"]))
            for name, c in sorted(view.frame.classes.items())
        ]
    return schemas.PublicTask(
        task_code=task.task_code,
        title=task.title,
        targeted=task.targeted,
        filters=dict(task.filters),
        items=[
            schemas.ItemRef(
                item_code=i.item_code,
                department=i.department,
                title=i.title,
                legal_basis=i.legal_basis,
                kind=i.kind,
            )
            for i in view.items
        ],
        ratios=dict(task.ratios),
        floor=task.floor,
        sized_ratios=dict(task.sized_ratios) if task.sized_ratios else None,
        min_ratio=task.min_ratio,
        frame_hash=view.frame.frame_hash if view.frame else None,
        frame_units=view.frame.units if view.frame else None,
        n=int(record["n"]) if record else None,
        classes=classes,
        draw_url=f"/public/draws/{task.task_code}" if record else None,
    )


def _lambda_range(entry: dict[str, Any]) -> str:
    low, high = entry.get("lambda_min"), entry.get("lambda_max")
    if low is None or high is None:
        return str(entry.get("lambda", ""))
    return str(low) if low == high else f"{low}–{high}"


def public_plan(
    plan: Plan,
    views: list[TaskView],
    voided: list[dict[str, Any]] | None = None,
    team_events: int = 0,
) -> schemas.PublicPlan:
    drawn = plan.seed is not None
    summary: dict[str, Any] = plan.summary or {}
    return schemas.PublicPlan(
        **plan_summary(plan, len(views)).model_dump(),
        contribution=plan.contribution,  # public from its acceptance (state drawing) on
        seed=plan.seed,
        visits=summary.get("visits") if drawn else None,
        tasks=[public_task(v) for v in views],
        team_events=team_events,
        voided_commitments=[schemas.VoidedCommitment.model_validate(v) for v in voided or ()],
    )


def verification(task_code: str) -> schemas.Verification:
    record = f"{task_code}.json"
    return schemas.Verification(
        verifier_url="/public/verify.py",
        record_url=f"/public/draws/{task_code}/record.json",
        command=f"python3 verify.py {record}",
        instructions=(
            "Download verify.py (one file, Python 3.8+, no packages) and the record, then run "
            f"`python3 verify.py {record}`. It recomputes the commitment, the group hash and "
            "the seed from the published values. The public record has no frame (λ would "
            "reveal risk classes), so the selection itself is checked by the auditors with "
            "the full record; the verifier then exits 3 (partial) instead of 0."
        ),
    )
