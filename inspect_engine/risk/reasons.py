"""Top reasons per enterprise in plain Chinese, from the model's group contributions.

For each enterprise, in this order:
1. "无检查记录，按同类企业先验评分" if it has no inspection record before the date: its
   score comes only from what it shares with similar enterprises;
2. the override rule that raised its class, if any; the facts of the other rules that hold
   (e.g. listed, but the model had already put it in D), in their own words;
3. up to k reason groups that raise its risk the most above an average enterprise (at least
   `min_logit` log-odds), each described by the enterprise's own level of that group's
   main column, e.g. "近12个月有2次被证实的投诉";
4. if nothing raises its risk: "未发现高于同类平均水平的风险因素".

Texts are codes into one table, so 2.7 million enterprises cost a few array operations; the
joined strings are built once per distinct combination of codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inspect_engine.risk.classes import CLASS_LETTERS, ClassAssignment, ClassPolicy
from inspect_engine.risk.features import FeatureMatrix
from inspect_engine.risk.models import Contributions

NO_HISTORY = "无检查记录，按同类企业先验评分"
NO_RISK_FACTOR = "未发现高于同类平均水平的风险因素"


@dataclass(frozen=True)
class Reasons:
    """Reason codes per enterprise (row), left-aligned, -1 = empty slot."""

    codes: NDArray[np.int32]
    texts: tuple[str, ...]

    def of(self, row: int) -> list[str]:
        return [self.texts[c] for c in self.codes[row] if c >= 0]

    def joined(self, separator: str = "；") -> NDArray[np.object_]:
        """One string per enterprise, built once per distinct combination of reasons."""
        base = len(self.texts) + 1
        width = self.codes.shape[1]
        if base**width < 2**62:  # one int64 key per combination: a fast 1-D unique
            powers = base ** np.arange(width, dtype=np.int64)
            keys, inverse = np.unique((self.codes + 1) @ powers, return_inverse=True)
            combos = (keys[:, None] // powers) % base - 1
        else:
            combos, inverse = np.unique(self.codes, axis=0, return_inverse=True)
        strings = np.array(
            [separator.join(self.texts[c] for c in combo if c >= 0) for combo in combos],
            dtype=object,
        )
        out: NDArray[np.object_] = strings[inverse.reshape(-1)]
        return out

    @staticmethod
    def concatenate(parts: list[Reasons]) -> Reasons:
        """Reasons of consecutive row blocks explained with the same texts."""
        width = max(part.codes.shape[1] for part in parts)
        codes = np.full((sum(len(part.codes) for part in parts), width), -1, dtype=np.int32)
        row = 0
        for part in parts:
            if part.texts != parts[0].texts:
                raise ValueError("reason blocks use different text tables")
            codes[row : row + len(part.codes), : part.codes.shape[1]] = part.codes
            row += len(part.codes)
        return Reasons(codes, parts[0].texts)


def _lead_columns(X: FeatureMatrix, groups: tuple[str, ...]) -> list[int]:
    """The column that describes each group: its last column (e.g. the division)."""
    lead = {c.group: j for j, c in enumerate(X.columns)}
    return [lead[g] for g in groups]


def explain(
    X: FeatureMatrix,
    contributions: Contributions,
    assignment: ClassAssignment,
    policy: ClassPolicy,
    k: int = 3,
    min_logit: float = 0.05,
) -> Reasons:
    """Reasons for every row of X (see module docstring)."""
    groups = contributions.groups
    lead = _lead_columns(X, groups)
    special = [NO_HISTORY, NO_RISK_FACTOR]
    rule_texts = [
        f"{r.reason}（按规则至少列为{CLASS_LETTERS[r.at_least]}类）" for r in policy.overrides
    ]
    group_offset = np.cumsum([0] + [X.columns[j].n_levels for j in lead])[:-1]
    base = len(special) + len(rule_texts)
    texts = tuple(special + rule_texts + [t for j in lead for t in X.columns[j].texts])

    n = len(X)
    contrib = contributions.values.copy()
    lead_levels = np.empty((n, len(groups)), dtype=np.int32)
    for g, j in enumerate(lead):
        lead_levels[:, g] = X.columns[j].level_codes(X.values[:, j])
    # A rule's fact (e.g. "被列入严重违法失信名单") is always said, once: as the override
    # if it raised the class, else in its own words; never again as a model reason.
    facts = []
    for i, rule in enumerate(policy.overrides):
        found = [g for g, j in enumerate(lead) if X.columns[j].name == rule.column]
        if not found:
            continue
        flagged = X.column(rule.column) > 0
        contrib[flagged, found[0]] = -np.inf
        said = flagged & (assignment.override != i)
        facts.append(np.where(said, base + group_offset[found[0]] + lead_levels[:, found[0]], -1))
    k = min(k, len(groups))
    group_codes = _top_groups(contrib, lead_levels, group_offset, base, k, min_logit)

    override_code = np.where(assignment.override >= 0, len(special) + assignment.override, -1)
    fact_codes = np.column_stack(facts) if facts else np.full((n, 0), -1)
    said_something = (group_codes >= 0).any(axis=1) | (fact_codes >= 0).any(axis=1)
    nothing = ~said_something & (override_code < 0)
    slots = np.column_stack(
        [
            np.where(X.has_history, -1, 0),
            override_code,
            fact_codes,
            group_codes,
            np.where(nothing, 1, -1),
        ]
    ).astype(np.int32)
    # Left-align the filled slots, keeping their order.
    compact = np.argsort(slots < 0, axis=1, kind="stable")
    codes = np.take_along_axis(slots, compact, axis=1)
    width = max(int((codes >= 0).sum(axis=1).max(initial=1)), 1)
    return Reasons(codes[:, :width], texts)


def _top_groups(
    contrib: NDArray[np.float32],
    lead_levels: NDArray[np.int32],
    group_offset: NDArray[np.int64],
    base: int,
    k: int,
    min_logit: float = 0.05,
) -> NDArray[np.int64]:
    """Text codes of each row's k largest contributions of at least `min_logit`, else -1;
    no columns at all (a model that learnt nothing) gives no codes."""
    if k == 0:
        return np.full((len(contrib), 0), -1, dtype=np.int64)
    top = np.argpartition(-contrib, k - 1, axis=1)[:, :k]
    top_value = np.take_along_axis(contrib, top, axis=1)
    order = np.argsort(-top_value, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    top_value = np.take_along_axis(top_value, order, axis=1)
    level = np.take_along_axis(lead_levels, top, axis=1)
    return np.where(top_value >= min_logit, base + group_offset[top] + level, -1)
