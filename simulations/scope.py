"""Which entities an item or a task applies to (items.csv scopes, tasks.csv filters)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simulations import catalogue as cat
from simulations.population import Population


def matches(
    pop: Population,
    *,
    entity_types: Sequence[str] = (),
    industries: Sequence[str] = (),
    licences: Sequence[str] = (),
    districts: Sequence[str] = (),
) -> np.ndarray:
    """Entities matching every non-empty filter (industries by prefix, licences any-of)."""
    mask = np.ones(pop.n, dtype=bool)
    if entity_types:
        ok = np.array([t in entity_types for t in cat.ENTITY_TYPES])
        mask &= ok[pop.etype]
    if industries:
        ok = np.array([any(c.startswith(p) for p in industries) for c in cat.INDUSTRY_CODES])
        mask &= ok[pop.industry]
    if licences:
        bits = sum(1 << cat.LICENCES.index(name) for name in licences)
        mask &= (pop.licences & np.uint8(bits)) != 0
    if districts:
        ok = np.array([d.code in districts for d in cat.DISTRICTS])
        mask &= ok[pop.district]
    return mask


def item_scope(pop: Population, item: cat.Item) -> np.ndarray:
    return matches(
        pop, entity_types=item.entity_types, industries=item.industries, licences=item.licences
    )


def task_scope(pop: Population, task: cat.TaskTemplate) -> tuple[np.ndarray, list[np.ndarray]]:
    """The task's static frame (any of its items applies, and the task's filters hold) and
    each item's scope within it."""
    filters = matches(
        pop,
        entity_types=task.entity_types,
        industries=task.industries,
        licences=task.licences,
        districts=task.districts,
    )
    scopes = [item_scope(pop, cat.ITEMS[cat.ITEM_INDEX[code]]) & filters for code in task.items]
    frame = np.logical_or.reduce(scopes)
    return frame, scopes
