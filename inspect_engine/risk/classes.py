"""From probabilities to credit-risk classes A/B/C/D (企业信用风险分类), plus rule overrides.

Two policies, both configuration:
- target shares (default): the riskiest share_D of the scored enterprises are D, the next
  share_C are C, then B, the rest A. The default shares follow published practice (about
  65% A, 25% B, 8% C, 1.5% D); they sum to 99.5%, and the missing 0.5% goes to B, the
  "general" class that an enterprise gets when it is neither clearly low nor high risk. So
  the C and D shares, which drive the raised inspection ratios, stay as published;
- probability cut-offs: p below cutoffs[0] is A, below cutoffs[1] B, below cutoffs[2] C,
  else D.

Ties in probability (isotonic calibration produces steps) are broken by the raw model
score, then by row, so the shares are met exactly and deterministically.

Overrides are rules applied after the model class, each recorded per enterprise: a rule
names a 0/1 feature column and the least class it forces. The default is one rule, the
serious-violation list ⇒ D: a listed enterprise is under reinforced supervision whatever its
score. The abnormal-operation list is read by the model as a feature, weighed by what it
predicted in the city's own history; a bureau may still force it ("abnormal:C", the setting
INSPECT_LIST_RULES), but where the list is large (a missed annual report lists an
enterprise) the rule fills C with most of the frame and flattens the draw (docs/risk-model.md,
"Classes and overrides"). The final share of C and D exceeds the target by the listed
enterprises the model had put lower; both classes are kept, so a supervisor sees what the
model said and which rule changed it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray


class RiskClass(IntEnum):
    A = 0
    B = 1
    C = 2
    D = 3

    @property
    def label(self) -> str:
        return ("低风险", "一般风险", "较高风险", "高风险")[self.value]


CLASS_LETTERS: tuple[str, ...] = ("A", "B", "C", "D")
PUBLISHED_SHARES: tuple[float, float, float, float] = (0.65, 0.25, 0.08, 0.015)


@dataclass(frozen=True)
class OverrideRule:
    """If feature `column` is 1, the class is at least `at_least`; `reason` is shown."""

    column: str
    at_least: RiskClass
    reason: str


# The lists of lists.csv (DATA-FORMATS) a rule may name: its feature column and its reason.
LISTS: dict[str, tuple[str, str]] = {
    "serious_violation": ("serious_violation_listed", "被列入严重违法失信名单"),
    "abnormal": ("abnormal_listed", "被列入经营异常名录"),
}


def list_rules(specs: Sequence[str]) -> tuple[OverrideRule, ...]:
    """Rules from "list:class" specs ("serious_violation:D", "abnormal:C"), in the order
    given (the first rule that raises an enterprise is the one recorded)."""
    rules: list[OverrideRule] = []
    for spec in specs:
        name, _, letter = spec.strip().partition(":")
        if name not in LISTS:
            raise ValueError(
                f"list rule {spec!r}: the list must be one of {', '.join(sorted(LISTS))}"
            )
        if letter not in CLASS_LETTERS[1:]:
            raise ValueError(f"list rule {spec!r}: the class must be B, C or D after the colon")
        if any(rule.column == LISTS[name][0] for rule in rules):
            raise ValueError(f"list rule {spec!r}: the list {name} is named twice")
        column, reason = LISTS[name]
        rules.append(OverrideRule(column, RiskClass(CLASS_LETTERS.index(letter)), reason))
    return tuple(rules)


DEFAULT_LIST_RULES: tuple[str, ...] = ("serious_violation:D",)
DEFAULT_OVERRIDES: tuple[OverrideRule, ...] = list_rules(DEFAULT_LIST_RULES)


def normalise_shares(shares: tuple[float, ...]) -> tuple[float, float, float, float]:
    """Shares of A, B, C, D summing to 1: a shortfall goes to B; more than 1 is an error."""
    if len(shares) != 4 or any(s < 0 for s in shares):
        raise ValueError("give four non-negative shares, for A, B, C and D")
    total = sum(shares)
    if total > 1.0 + 1e-9:
        raise ValueError(f"class shares add up to {total:.4f}, more than 1")
    a, b, c, d = shares
    return (a, b + (1.0 - total), c, d)


@dataclass(frozen=True)
class ClassPolicy:
    """How probabilities become classes. Set `cutoffs` to use probability thresholds."""

    shares: tuple[float, float, float, float] = PUBLISHED_SHARES
    cutoffs: tuple[float, float, float] | None = None
    overrides: tuple[OverrideRule, ...] = field(default=DEFAULT_OVERRIDES)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", normalise_shares(self.shares))
        if self.cutoffs is not None and list(self.cutoffs) != sorted(self.cutoffs):
            raise ValueError("probability cut-offs must be increasing")


@dataclass(frozen=True)
class ClassAssignment:
    model_class: NDArray[np.int8]  # what the probability says (RiskClass values)
    risk_class: NDArray[np.int8]  # after overrides
    override: NDArray[np.int8]  # index of the rule that raised the class, -1 none
    cutoffs: tuple[float, float, float]  # probability thresholds used (A|B, B|C, C|D)


def risk_order(
    probability: NDArray[np.floating], tiebreak: NDArray[np.floating] | None = None
) -> NDArray[np.int64]:
    """Rows from the riskiest to the least risky (probability, then tiebreak, then row)."""
    n = len(probability)
    secondary = np.zeros(n) if tiebreak is None else np.asarray(tiebreak)
    order: NDArray[np.int64] = np.lexsort((np.arange(n), -secondary, -np.asarray(probability)))
    return order


def classes_by_share(
    probability: NDArray[np.floating],
    shares: tuple[float, float, float, float],
    tiebreak: NDArray[np.floating] | None = None,
    weight: NDArray[np.floating] | None = None,
) -> tuple[NDArray[np.int8], tuple[float, float, float]]:
    """Classes meeting the target shares (of rows, or of `weight` if given)."""
    n = len(probability)
    order = risk_order(probability, tiebreak)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    mass_before = np.cumsum(w[order]) - w[order]  # weight ranked riskier than each row
    total = w.sum()
    top = np.cumsum([shares[3], shares[2], shares[1]]) * total  # mass of D, D+C, D+C+B
    # Rounded to whole rows when unweighted, so shares come out exact up to rounding.
    if weight is None:
        top = np.round(top)
    rank_class = 3 - np.searchsorted(top, mass_before, side="right")
    classes = np.empty(n, dtype=np.int8)
    classes[order] = rank_class
    p = np.asarray(probability, dtype=np.float64)
    cut = tuple(
        float(p[classes == k].min()) if np.any(classes == k) else float("nan") for k in (1, 2, 3)
    )
    return classes, (cut[0], cut[1], cut[2])


def assign_classes(
    probability: NDArray[np.floating],
    flags: Mapping[str, NDArray[np.floating] | NDArray[np.bool_]],
    policy: ClassPolicy | None = None,
    tiebreak: NDArray[np.floating] | None = None,
) -> ClassAssignment:
    """Model classes from the policy, then the overrides, each recorded."""
    policy = policy or ClassPolicy()
    p = np.asarray(probability, dtype=np.float64)
    if policy.cutoffs is not None:
        model_class = np.searchsorted(np.asarray(policy.cutoffs), p, side="right").astype(np.int8)
        cutoffs = policy.cutoffs
    else:
        model_class, cutoffs = classes_by_share(p, policy.shares, tiebreak)
    risk_class = model_class.copy()
    override = np.full(len(p), -1, dtype=np.int8)
    for i, rule in enumerate(policy.overrides):
        if rule.column not in flags:
            raise KeyError(f"override rule needs the feature {rule.column!r}")
        raised = (np.asarray(flags[rule.column]) > 0) & (risk_class < rule.at_least)
        risk_class[raised] = rule.at_least
        override[raised] = i
    return ClassAssignment(model_class, risk_class, override, cutoffs)
