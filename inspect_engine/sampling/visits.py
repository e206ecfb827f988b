"""Visits (检查户次): the month's selections merged, one visit per enterprise.

All tasks of a plan are drawn under one seed, so an enterprise drawn by several tasks is
visited once, by one team, for all of its selected items (进一次门、查多项事). A visit carries,
for each task that drew the enterprise, the task's items that apply to that enterprise (the
item scopes of `frames.item_applies`): a joint food task drawing an IT company for its
general item does not send the food inspector there.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from inspect_engine.sampling.frames import (
    EnterpriseColumns,
    Frame,
    InspectorMode,
    ItemScope,
    TaskSpec,
    item_applies,
)
from inspect_engine.sampling.protocol import pareto_select, prn


def merged_mode(modes: Sequence[InspectorMode]) -> InspectorMode:
    """Every condition of the visit's tasks: local and cross_office together make
    local_cross (the enterprise's district, not its own office); otherwise the strictest."""
    local = any(m in (InspectorMode.LOCAL, InspectorMode.LOCAL_CROSS) for m in modes)
    cross = any(m in (InspectorMode.CROSS_OFFICE, InspectorMode.LOCAL_CROSS) for m in modes)
    if local and cross:
        return InspectorMode.LOCAL_CROSS
    if cross or not modes:
        return InspectorMode.CROSS_OFFICE
    return InspectorMode.LOCAL if local else InspectorMode.ANY


MIN_TEAM = 2  # 行政处罚法 Art. 42: at least two certified inspectors


@dataclass(frozen=True)
class Visit:
    """One enterprise, one month, everything its selecting tasks check there."""

    credit_code: str
    unit: str  # the enterprise's own office, which cross-office mode keeps away
    task_codes: tuple[str, ...]  # sorted
    item_codes: tuple[str, ...]  # sorted, each once even if two tasks share it
    departments: tuple[str, ...]  # sorted departments of the carried items
    qualifications: tuple[str, ...]  # sorted qualifications the carried items need
    mode: InspectorMode
    team_size: int
    task_items: tuple[tuple[str, tuple[str, ...]], ...]  # (task_code, its carried items)

    def items_of(self, task_code: str) -> tuple[str, ...]:
        return dict(self.task_items).get(task_code, ())


def merge_into_visits(
    selections: Mapping[str, Sequence[str]],
    tasks: Mapping[str, TaskSpec],
    columns: EnterpriseColumns,
) -> list[Visit]:
    """Merge the month's selections (task_code → selected credit codes) into visits.

    `columns` decides which of a task's items apply to each selected enterprise. Visits
    come sorted by credit code. Raises ValueError for a task code without its TaskSpec, a
    code selected twice by one task, a code outside the directory, or an enterprise to which
    none of its selecting task's items apply (a selection from some other frame).
    """
    unknown = sorted(set(selections) - set(tasks))
    if unknown:
        raise ValueError(f"selections for tasks without a TaskSpec: {unknown}")
    carried: dict[str, dict[str, tuple[str, ...]]] = {}  # credit code → task → items
    rows: dict[str, int] = {}
    for task_code in sorted(selections):
        task = tasks[task_code]
        for code, row, items in _carried_items(task, list(selections[task_code]), columns):
            carried.setdefault(code, {})[task_code] = items
            rows[code] = row
    return [
        _visit(code, carried[code], tasks, columns.unit.value(rows[code]))
        for code in sorted(carried)
    ]


def _carried_items(
    task: TaskSpec, codes: list[str], columns: EnterpriseColumns
) -> list[tuple[str, int, tuple[str, ...]]]:
    """(credit code, row, items of `task` that apply to it) for each selected code."""
    if len(set(codes)) != len(codes):
        raise ValueError(f"task {task.task_code}: an enterprise is selected twice")
    if not codes:
        return []
    rows = columns.rows_of(codes)
    applies = np.column_stack([item_applies(columns, item, rows) for item in task.items])
    stray = ~applies.any(axis=1)
    if stray.any():
        first = codes[int(np.flatnonzero(stray)[0])]
        raise ValueError(
            f"task {task.task_code}: none of its items applies to {first}"
            f" ({int(stray.sum())} such); was the selection drawn from this task's frame?"
        )
    out = []
    for code, row, mask in zip(codes, rows.tolist(), applies.tolist(), strict=True):
        items = tuple(item.item_code for item, on in zip(task.items, mask, strict=True) if on)
        out.append((code, row, items))
    return out


def _visit(
    code: str, per_task: Mapping[str, tuple[str, ...]], tasks: Mapping[str, TaskSpec], unit: str
) -> Visit:
    task_codes = tuple(sorted(per_task))
    scopes: dict[str, ItemScope] = {}
    for task_code in task_codes:
        by_code = {item.item_code: item for item in tasks[task_code].items}
        scopes.update((item_code, by_code[item_code]) for item_code in per_task[task_code])
    items = [scopes[item_code] for item_code in sorted(scopes)]
    modes = [InspectorMode(tasks[t].mode) for t in task_codes]
    return Visit(
        credit_code=code,
        unit=unit,
        task_codes=task_codes,
        item_codes=tuple(item.item_code for item in items),
        departments=tuple(sorted({item.department for item in items})),
        qualifications=tuple(sorted({i.qualification for i in items if i.qualification})),
        mode=merged_mode(modes),
        team_size=max(
            [MIN_TEAM]
            + [tasks[t].team_size for t in task_codes]
            + [item.min_inspectors for item in items]
        ),
        task_items=tuple((t, per_task[t]) for t in task_codes),
    )


# --------------------------------------------------------------------------- coordination


@dataclass(frozen=True)
class CoordinationSaving:
    """Visits needed with one shared seed (coordinated PRNs) against independent seeds.

    With independent seeds the tasks' samples overlap only by chance; with one seed an
    enterprise's PRN is the same for every task, so the samples overlap as much as their λ
    allow, and every overlap is a door knocked on once instead of twice."""

    tasks: int
    selections: int  # Σ selected enterprises over tasks (what separate visits would cost)
    visits_coordinated: int
    visits_independent: int

    @property
    def visits_saved(self) -> int:
        return self.visits_independent - self.visits_coordinated

    @property
    def saved_share(self) -> float:
        """Saved visits as a share of the visits independent draws would need."""
        return self.visits_saved / self.visits_independent if self.visits_independent else 0.0


def count_visits(selections: Mapping[str, Sequence[str]]) -> int:
    """Visits a month's selections make: distinct enterprises over all tasks."""
    return len(set().union(*(set(codes) for codes in selections.values())))


def coordination_saving(
    shared: Mapping[str, Sequence[str]], independent: Mapping[str, Sequence[str]]
) -> CoordinationSaving:
    """Compare the same tasks' selections under the shared seed and independent seeds."""
    if set(shared) != set(independent):
        raise ValueError("shared and independent selections must cover the same tasks")
    return CoordinationSaving(
        tasks=len(shared),
        selections=sum(len(codes) for codes in shared.values()),
        visits_coordinated=count_visits(shared),
        visits_independent=count_visits(independent),
    )


def task_seed(seed: str, task_code: str) -> str:
    """A per-task seed, SHA256(seed + "|" + task_code), for the independent counterfactual.

    Only for measuring coordination: a real plan draws every task with the plan's seed."""
    return hashlib.sha256(f"{seed}|{task_code}".encode()).hexdigest()


def select_frames(
    frames: Mapping[str, Frame], seed: str, *, independent: bool = False
) -> dict[str, tuple[str, ...]]:
    """Each frame's ie-draw-v1 selection (sorted codes) under the plan's seed, or, with
    `independent`, under `task_seed(seed, task_code)` per task."""
    out: dict[str, tuple[str, ...]] = {}
    for task_code in sorted(frames):
        frame = frames[task_code]
        if frame.task_code != task_code:
            raise ValueError(f"frame of {frame.task_code} filed under {task_code}")
        codes = frame.codes()
        u = prn(task_seed(seed, task_code) if independent else seed, codes)
        chosen = pareto_select(codes, frame.lam, u)
        out[task_code] = tuple(frame.credit_code[chosen].tolist())
    return out
