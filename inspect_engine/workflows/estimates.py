"""The month's population estimates for the public feed: Horvitz–Thompson shares of the
frames' enterprises where a visit finds a problem, by industry section and by district.

Computed from what is published (current publications only), with every drawn enterprise's
inclusion probability under the plan; drawn enterprises without a published result are
non-response (weighting classes by risk class). Stored on the plan at each publication so
the feed serves it without recomputing."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict
from inspect_engine.publication import result_codes
from inspect_engine.sampling.population import (
    DomainSizes,
    MonthResults,
    estimate_population,
    industry_section,
)
from inspect_engine.workflows import carryover
from inspect_engine.workflows import visit_inclusion as plan_pi
from inspect_engine.workflows.planning import (
    DRAWN_STATES,
    frame_inclusion,
    frame_lines,
    get_plan,
    plan_frames,
)
from models import Frame, Plan, Publication, Selection, Task, Visit


def month_estimates(session: Session, month: str, *, keep: bool = False) -> dict[str, Any]:
    """Compute the estimates of a drawn month (raises Conflict before the draw). `keep`:
    store the plan-level π computed for a plan drawn before it was stored at the draw."""
    plan = get_plan(session, month)
    if plan.status not in DRAWN_STATES:
        raise Conflict(f"the plan for {month} has not been drawn: nothing to estimate")
    frames = plan_frames(session, plan)
    lines = [frame_lines(frame) for frame in frames]
    union = plan_pi.frame_union([codes for codes, _ in lines])[0].astype("<U18")
    industries, districts = _domains(session, union)
    visits = _drawn_visits(session, plan)
    drawn = np.array([code for _, code in visits], dtype="<U18")
    at = np.searchsorted(union, drawn)
    pi, made = _visit_pi(session, plan, frames, lines, drawn, keep=keep)
    items = {i for row in session.scalars(select(Task.items).where(Task.plan_id == plan.id))
             for i in row}  # fmt: skip
    problem, observation, visited = _outcomes(session, [v for v, _ in visits], items=items)
    classes = _risk_classes(session, plan.id, drawn)
    results = MonthResults(
        credit_code=drawn,
        visited=visited,
        problem=problem,
        observation=observation,
        inclusion_probability=pi,
        industry_section=industry_section(industries[at]),
        district=districts[at],
        weight_class=classes,
    )
    sizes = DomainSizes.from_units(industries, districts)
    return {
        **estimate_population(results, sizes, month=month).as_dict(),
        "plan_inclusion": made,
        "by_task": _task_estimates(session, plan, month, union, industries, districts),
    }


def keep_plan_inclusion(session: Session, plan: Plan) -> None:
    """Store the plan-level π of a plan drawn before the draw stored it, before its results
    enter the history (each history row carries its visit's π). Nothing to do otherwise."""
    if plan.status not in DRAWN_STATES or plan_pi.stored(session, plan.id):
        return
    frames = plan_frames(session, plan)
    lines = [frame_lines(frame) for frame in frames]
    drawn = np.array([code for _, code in _drawn_visits(session, plan)], dtype="<U18")
    if drawn.size:
        _visit_pi(session, plan, frames, lines, drawn, keep=True)


def _visit_pi(
    session: Session,
    plan: Plan,
    frames: list[Frame],
    lines: list[tuple[list[str], list[str]]],
    drawn: np.ndarray,
    *,
    keep: bool,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Each drawn enterprise's probability of a visit under the plan: the one stored when
    the plan was drawn (never simulated again here). A plan drawn before it was stored gets
    it computed from its frozen frames, the same way, and kept when `keep`."""
    known = plan_pi.stored(session, plan.id)
    missing = sorted(set(drawn.tolist()) - set(known))
    source = "stored at the draw"
    if missing:
        assert plan.seed is not None
        frame_lines_ = [
            plan_pi.FrameLines.of(codes, np.array([float(x) for x in lambdas]), frame_inclusion(f))
            for f, (codes, lambdas) in zip(frames, lines, strict=True)
        ]
        codes, made = plan_pi.compute(frame_lines_, plan.seed, missing)
        if keep:
            plan_pi.store(session, plan.id, codes, made)
        for code, pi, se in zip(
            codes.astype(str).tolist(), made.pi.tolist(), made.std_error.tolist(), strict=True
        ):
            known[code] = (pi, se, made.reps)
        source = "computed from the frozen frames (a plan drawn before it was stored)"
    rows = [known[code] for code in drawn.tolist()]
    pi = np.array([row[0] for row in rows], dtype=np.float64)
    return pi, plan_pi.describe(rows, source)


def _task_estimates(
    session: Session,
    plan: Plan,
    month: str,
    union: np.ndarray,
    industries: np.ndarray,
    districts: np.ndarray,
) -> dict[str, Any]:
    """Per task, over its own frame: its selections weighted by the π its frame recorded,
    and only the results of its own items (no plan-level probability needed)."""
    out: dict[str, Any] = {}
    for frame in plan_frames(session, plan):
        codes = np.array(frame_lines(frame)[0], dtype="<U18")
        chosen = select(
            Selection.credit_code, func.coalesce(Selection.pi, Selection.lam), Selection.risk_class
        ).where(Selection.task_code == frame.task_code)
        rows = sorted(session.execute(chosen).tuples().all())
        if not rows or codes.size == 0:
            continue
        drawn = np.array([r[0] for r in rows], dtype="<U18")
        visit_of = dict(
            session.execute(
                select(Visit.credit_code, Visit.visit_code).where(
                    carryover.of_plan(plan.id), Visit.credit_code.in_(drawn.tolist())
                )
            )
            .tuples()
            .all()
        )
        task_items = session.scalars(
            select(Task.items).where(Task.task_code == frame.task_code)
        ).one()
        problem, observation, visited = _outcomes(
            session, [visit_of[str(c)] for c in drawn], items=task_items
        )
        frame_at = np.searchsorted(union, codes)
        at = np.searchsorted(union, drawn)
        results = MonthResults(
            credit_code=drawn,
            visited=visited,
            problem=problem,
            observation=observation,
            inclusion_probability=np.array([float(r[1]) for r in rows]),
            industry_section=industry_section(industries[at]),
            district=districts[at],
            weight_class=np.array([r[2] or "B" for r in rows], dtype="<U1"),
        )
        sizes = DomainSizes.from_units(industries[frame_at], districts[frame_at])
        try:
            estimate = estimate_population(results, sizes, month=month)
        except ValueError:  # nothing of this task observed yet
            continue
        out[frame.task_code] = estimate.overall.as_dict()
    return out


def publish_estimates(session: Session, month: str) -> dict[str, Any] | None:
    """Recompute and store the month's estimates (after each publication, correction or
    withdrawal); with nothing observed left to estimate from, none are published."""
    plan = get_plan(session, month)
    summary = {k: v for k, v in plan.summary.items() if k != "estimates"}
    try:
        estimates: dict[str, Any] | None = month_estimates(session, month, keep=True)
    except ValueError:  # no observed visit: the kernel has nothing to weight
        estimates = None
    plan.summary = summary if estimates is None else {**summary, "estimates": estimates}
    session.flush()
    return estimates


def _domains(session: Session, union: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Industry division and district of every enterprise of the frames."""
    rows = (
        session.connection()
        .execute(text("SELECT credit_code, industry, district FROM enterprises"))
        .all()
    )
    codes = np.array([r[0] for r in rows], dtype="<U18")
    order = np.argsort(codes)
    at = order[np.searchsorted(codes, union, sorter=order)]
    industry = np.array([r[1] for r in rows], dtype="<U8")[at]
    district = np.array([r[2] for r in rows], dtype="<U6")[at]
    return industry, district


def _drawn_visits(session: Session, plan: Plan) -> list[tuple[str, str]]:
    """(visit code, credit code) of the enterprises the plan's draw selected, by credit code:
    its own visits and the carried visits its draw selected again (结转: one visit), never
    a carried visit it did not select (that one belongs to its own month's sample)."""
    selected = (
        select(Selection.credit_code)
        .join(Task, Task.task_code == Selection.task_code)
        .where(Task.plan_id == plan.id)
    )
    query = select(Visit.visit_code, Visit.credit_code).where(
        carryover.of_plan(plan.id),
        or_(Visit.plan_id == plan.id, Visit.credit_code.in_(selected)),
    )
    return sorted(session.execute(query).tuples().all(), key=lambda row: row[1])


def _outcomes(
    session: Session, visit_codes: list[str], *, items: Iterable[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per visit: a current publication of one of `items` (a task's, or the plan's tasks')
    found a problem / observed / exists at all. By item, not by the task a publication is
    credited to: an item two tasks share is checked once and answers both, in one month or,
    for a carried visit drawn again, in two (结转)."""
    index = {code: i for i, code in enumerate(visit_codes)}
    problem = np.zeros(len(visit_codes), bool)
    observation = np.zeros(len(visit_codes), bool)
    visited = np.zeros(len(visit_codes), bool)
    published = select(Publication.visit_code, Publication.result).where(
        Publication.state == "current", Publication.visit_code.in_(visit_codes)
    )
    published = published.where(Publication.item_code.in_(sorted(set(items))))
    for visit_code, result in session.execute(published):
        i = index[visit_code]
        code = result_codes.ResultCode.parse(result)
        visited[i] = True
        problem[i] |= code.counts_as_problem
        observation[i] |= code.is_observation
    return problem, observation, visited


def _risk_classes(session: Session, plan_id: int, drawn: np.ndarray) -> np.ndarray:
    """The weighting class for non-response: the risk class the enterprise was drawn in."""
    query = (
        select(Selection.credit_code, Selection.risk_class)
        .join(Task, Task.task_code == Selection.task_code)
        .where(Task.plan_id == plan_id)
    )
    classes = {code: (cls or "B") for code, cls in session.execute(query)}
    return np.array(
        [max(classes.get(str(c), "B"), "B") if False else classes.get(str(c), "B") for c in drawn],
        dtype="<U1",
    )
