"""The sizing model's inputs from the city's columns, the tasks and the staff (pure).

A Guangzhou month has millions of frame units but few kinds of visit: units that sit in
the same frames, share a risk class, an office and a district, and to which the same
items apply are one `UnitGroup` (one count, one sum of problem probabilities). Inspectors
alike for the team rules (department, office, district, qualifications) are one
`StaffPool` holding their summed capacity for the plan's window, after leave.

A group's visit carries every item of its frames that applies to it, as if all its frames
drew it: its team size and qualifications are the largest its visit can need (an
overestimate of the load only where frames of different needs overlap).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

import numpy as np
from numpy.typing import NDArray

from inspect_engine.assignment.merge import department_needs, merge_office_mode, merge_team_size
from inspect_engine.assignment.rules import capacity_in_month, certificate_valid, is_active
from inspect_engine.assignment.types import Inspector, Month
from inspect_engine.sampling.frames import (
    RISK_CLASSES,
    UNCLASSED_AS,
    EnterpriseColumns,
    ExclusionPolicy,
    ItemScope,
    TaskSpec,
    frame_members,
)
from inspect_engine.sampling.sizing import Need, SizingTask, StaffPool, UnitGroup

WORD = 64


def sizing_inputs(
    columns: EnterpriseColumns,
    specs: Sequence[TaskSpec],
    policy: ExclusionPolicy,
    as_of: date,
    probability: NDArray[np.float64] | None = None,
) -> tuple[list[SizingTask], list[UnitGroup]]:
    """Per task its frame counted by class; the frames' units grouped by kind of visit.

    `probability`: each enterprise's probability that an inspection finds a problem (the
    risk model's score); None counts every unit alike."""
    size = len(columns)
    prob = np.ones(size) if probability is None else np.asarray(probability, dtype=np.float64)
    klass = _classes(columns.risk_class)
    items = _items(specs)
    item_at = {item.item_code: i for i, item in enumerate(items)}
    frames = [frame_members(columns, spec, policy, as_of) for spec in specs]
    in_any = np.zeros(size, dtype=bool)
    for rows, _, _ in frames:
        in_any[rows] = True
    union = np.flatnonzero(in_any)
    task_bits = np.zeros((union.size, _words(len(specs))), np.uint64)
    item_bits = np.zeros((union.size, _words(len(items))), np.uint64)
    tasks = []
    for k, (spec, (rows, _, applies)) in enumerate(zip(specs, frames, strict=True)):
        at = np.searchsorted(union, rows)
        _set(task_bits, at, k)
        for item in spec.items:
            hit = applies[item.item_code][rows]
            _set(item_bits, at[hit], item_at[item.item_code])
        units = np.bincount(klass[rows], minlength=4)
        problems = np.bincount(klass[rows], weights=prob[rows], minlength=4)
        tasks.append(
            SizingTask(
                spec.task_code,
                tuple(int(u) for u in units),  # type: ignore[arg-type]
                tuple(float(p) for p in problems),  # type: ignore[arg-type]
                tuple(float(spec.ratios[c]) for c in RISK_CLASSES),  # type: ignore[arg-type]
                float(spec.floor),
                spec.min_ratio,
                spec.has_key_item,
            )
        )
    # one integer per unit: (class, office, district, what its visit needs); the needs
    # (frames and applying items) first, each distinct one described once
    signature = _dense(task_bits, item_bits)
    needs_of, first = np.unique(signature, return_index=True)
    kinds = {
        int(sig): _kind(task_bits[at], item_bits[at], specs, items)
        for sig, at in zip(needs_of.tolist(), first.tolist(), strict=True)
    }
    unit = columns.unit.codes[union].astype(np.int64)
    district = columns.district.codes[union].astype(np.int64)
    radix = [4, len(columns.unit.vocabulary), len(columns.district.vocabulary)]
    key = ((signature * radix[2] + district) * radix[1] + unit) * radix[0] + klass[union]
    distinct, counts = np.unique(key, return_counts=True)
    groups = []
    for value, count in zip(distinct.tolist(), counts.tolist(), strict=True):
        value, risk_class = divmod(value, radix[0])
        value, office = divmod(value, radix[1])
        sig, place = divmod(value, radix[2])
        groups.append(
            replace(
                kinds[sig],
                units=count,
                risk_class=risk_class,
                office=columns.unit.vocabulary[office],
                district=columns.district.vocabulary[place],
            )
        )
    return tasks, groups


def _dense(*words: NDArray[np.uint64]) -> NDArray[np.int64]:
    """One small integer per row for the rows' bit words (equal words, equal integers)."""
    code = np.zeros(words[0].shape[0], np.int64)
    for array in words:
        for column in array.T:
            values, inverse = np.unique(column, return_inverse=True)
            code = np.unique(code * len(values) + inverse.reshape(-1), return_inverse=True)[1]
            code = code.reshape(-1).astype(np.int64)
    return code


def _classes(risk_class: NDArray[np.str_]) -> NDArray[np.intp]:
    index = np.full(risk_class.shape[0], RISK_CLASSES.index(UNCLASSED_AS), dtype=np.intp)
    for position, name in enumerate(RISK_CLASSES):
        index[risk_class == name] = position
    return index


def _items(specs: Sequence[TaskSpec]) -> list[ItemScope]:
    seen: dict[str, ItemScope] = {}
    for spec in specs:
        for item in spec.items:
            seen.setdefault(item.item_code, item)
    return list(seen.values())


def _words(count: int) -> int:
    return max(1, -(-count // WORD))


def _set(bits: NDArray[np.uint64], rows: NDArray[np.intp], position: int) -> None:
    bits[rows, position // WORD] |= np.uint64(1) << np.uint64(position % WORD)


def _positions(words: Iterable[int]) -> list[int]:
    out = []
    for w, word in enumerate(words):
        value = int(word)
        while value:
            low = value & -value
            out.append(w * WORD + low.bit_length() - 1)
            value ^= low
    return out


def _kind(
    task_words: NDArray[np.uint64],
    item_words: NDArray[np.uint64],
    specs: Sequence[TaskSpec],
    items: Sequence[ItemScope],
) -> UnitGroup:
    """What a visit to units of these frames and applying items needs (count, class and
    place filled in per group)."""
    member = _positions(task_words.tolist())
    applying = [items[i] for i in _positions(item_words.tolist())]
    codes = {item.item_code for item in applying}
    needs = department_needs((item.department, item.qualification) for item in applying)
    # per department: the frames whose applying items bring it, and each one's own
    # qualifications (a visit drawn by that frame alone needs only those)
    own: dict[str, dict[int, frozenset[str]]] = {need.department: {} for need in needs}
    for k in member:
        for item in specs[k].items:
            if item.item_code in codes:
                quals = own[item.department].get(k, frozenset())
                extra = {item.qualification} if item.qualification else set()
                own[item.department][k] = quals | extra
    return UnitGroup(
        units=0,
        risk_class=0,
        tasks=tuple(member),
        office="",
        district="",
        mode=str(merge_office_mode(str(specs[k].mode) for k in member)),
        team_size=merge_team_size(
            [specs[k].team_size for k in member],
            [item.min_inspectors for item in applying],
            len(needs),
        ),
        needs=tuple(
            Need(
                need.department,
                need.qualifications,
                tuple(own[need.department]),
                tuple(own[need.department].values()),
            )
            for need in needs
        ),
    )


def staff_pools(inspectors: Iterable[Inspector], month: Month) -> list[StaffPool]:
    """Inspectors summed by what the team rules look at; capacity as the team draw
    counts it (prorated by free working days of the window; 0 when inactive or without a
    valid certificate in the window)."""
    pools: dict[tuple[str, str, str, frozenset[str]], float] = {}
    for inspector in inspectors:
        usable = is_active(inspector) and certificate_valid(inspector, month)
        visits = capacity_in_month(inspector, month) if usable else 0
        key = (inspector.department, inspector.unit, inspector.district, inspector.qualifications)
        pools[key] = pools.get(key, 0.0) + visits
    return [StaffPool(d, o, s, q, v) for (d, o, s, q), v in sorted(pools.items(), key=_order)]


def _order(entry: tuple[tuple[str, str, str, frozenset[str]], float]) -> tuple[str, ...]:
    (d, o, s, q), _ = entry
    return (d, o, s, ";".join(sorted(q)))
