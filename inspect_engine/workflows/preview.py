"""预览: what freezing the month would give, without freezing anything.

The same computation as `planning.freeze_month` (scope → filters → exclusions → λ), but
only the counts come back: units and expected sample per risk class, the task's ratio
beside the probability promised (scaled to a whole n) and the exact π achieved, and how
many enterprises each exclusion rule removed. A floor a frame cannot honour is an error
here, before anything is frozen. No frame is stored, no commitment is made, so a
supervisor may preview as often as he likes while he adjusts the tasks."""

from __future__ import annotations

from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.sampling.frames import ExclusionPolicy, FrameSummary, preview
from inspect_engine.workflows.columns import load_enterprise_columns
from inspect_engine.workflows.planning import get_plan, month_start, task_specs


def preview_month(
    session: Session, month: str, policy: ExclusionPolicy, *, task_code: str | None = None
) -> list[FrameSummary]:
    """Frame summaries of the month's tasks (or of one task), sorted by task code."""
    first_day = month_start(month)
    plan = get_plan(session, month)
    specs = task_specs(session, plan)
    if not specs:
        raise Conflict(f"the plan for {month} has no tasks")
    if task_code is not None:
        if task_code not in specs:
            raise NotFound(f"task {task_code} is not part of the plan for {month}")
        specs = {task_code: specs[task_code]}
    departments = {item.department for spec in specs.values() for item in spec.items}
    columns = load_enterprise_columns(
        session,
        as_of=first_day,
        year=first_day.year,
        departments=departments,
        recent_since=policy.window_start(first_day),
    )
    try:
        return [preview(columns, spec, policy, first_day) for _, spec in sorted(specs.items())]
    except ValueError as error:  # e.g. a floor this frame cannot honour: say which task
        raise InvalidInput(str(error)) from None
