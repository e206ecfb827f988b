"""Class policy: shares, cut-offs, ties and overrides."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from inspect_engine.risk import ClassPolicy, OverrideRule, RiskClass, assign_classes, list_rules
from inspect_engine.risk.classes import classes_by_share, normalise_shares

NO_FLAGS = {"serious_violation_listed": np.zeros(0), "abnormal_listed": np.zeros(0)}


def _flags(n: int, serious: list[int] = (), abnormal: list[int] = ()) -> dict[str, np.ndarray]:
    s, a = np.zeros(n), np.zeros(n)
    s[list(serious)] = 1
    a[list(abnormal)] = 1
    return {"serious_violation_listed": s, "abnormal_listed": a}


def test_default_shares_are_the_published_ones_with_the_remainder_in_b() -> None:
    assert ClassPolicy().shares == pytest.approx((0.65, 0.255, 0.08, 0.015))
    with pytest.raises(ValueError):
        normalise_shares((0.7, 0.3, 0.1, 0.0))


def test_target_shares_are_met_on_a_city() -> None:
    p = np.random.default_rng(1).beta(1, 8, 10_000)
    result = assign_classes(p, _flags(10_000), ClassPolicy(overrides=()))
    assert np.bincount(result.model_class, minlength=4).tolist() == [6500, 2550, 800, 150]
    # The riskiest 150 are D: no D enterprise is less risky than any C one.
    assert p[result.model_class == 3].min() >= p[result.model_class == 2].max()


@settings(max_examples=60, deadline=None)
@given(
    p=arrays(np.float64, st.integers(1, 300), elements=st.floats(0, 1)),
    shares=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda s: sum(s) <= 1),
)
def test_classes_never_decrease_with_risk(p: np.ndarray, shares: list[float]) -> None:
    classes, _ = classes_by_share(p, normalise_shares(tuple(shares)))
    order = np.argsort(p, kind="stable")
    sorted_p, sorted_c = p[order], classes[order]
    # Any pair with strictly higher probability has a class at least as high.
    for i in range(len(p) - 1):
        if sorted_p[i + 1] > sorted_p[i]:
            assert sorted_c[i + 1] >= sorted_c[i]


def test_ties_in_probability_are_broken_by_the_raw_score() -> None:
    p = np.full(200, 0.1)  # e.g. one isotonic step
    raw = np.arange(200, dtype=float)
    result = assign_classes(p, _flags(200), ClassPolicy(overrides=()), tiebreak=raw)
    assert np.flatnonzero(result.model_class == 3).tolist() == [197, 198, 199]  # 1.5% of 200


def test_probability_cutoffs() -> None:
    policy = ClassPolicy(cutoffs=(0.05, 0.2, 0.5), overrides=())
    result = assign_classes(np.array([0.01, 0.05, 0.3, 0.9]), _flags(4), policy)
    assert result.model_class.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        ClassPolicy(cutoffs=(0.5, 0.2, 0.6))


BOTH_LISTS = ClassPolicy(overrides=list_rules(["serious_violation:D", "abnormal:C"]))


def test_overrides_raise_the_class_and_are_recorded() -> None:
    p = np.linspace(0.01, 0.2, 100)  # row 0 is the least risky
    result = assign_classes(p, _flags(100, serious=[0, 99], abnormal=[1, 2, 0, 98]), BOTH_LISTS)
    assert result.risk_class[0] == RiskClass.D and result.override[0] == 0  # serious wins
    assert result.risk_class[1] == RiskClass.C and result.override[1] == 1
    assert result.model_class[1] == RiskClass.A  # what the model said is kept
    # Already at or above the forced class: no override recorded.
    assert result.model_class[99] == RiskClass.D and result.override[99] == -1
    assert result.override[98] == -1
    assert (result.override >= 0).sum() == 3


def test_by_default_only_the_serious_violation_list_forces_a_class() -> None:
    p = np.linspace(0.01, 0.2, 100)
    result = assign_classes(p, _flags(100, serious=[0], abnormal=[1, 2]))
    assert result.risk_class[0] == RiskClass.D and result.override[0] == 0
    # the abnormal list is the model's feature, not a rule: the model's class stands
    assert (result.risk_class[1:3] == result.model_class[1:3]).all()
    assert (result.override[1:] == -1).all()


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["watch:C"], "the list must be one of abnormal, serious_violation"),
        (["abnormal:A"], "the class must be B, C or D"),
        (["abnormal"], "the class must be B, C or D"),
        (["abnormal:C", "abnormal:D"], "the list abnormal is named twice"),
    ],
)
def test_a_wrong_list_rule_is_named(specs: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        list_rules(specs)


def test_list_rules_keep_their_order_and_class() -> None:
    rules = list_rules([" abnormal:B", "serious_violation:D"])
    assert [(r.column, r.at_least) for r in rules] == [
        ("abnormal_listed", RiskClass.B),
        ("serious_violation_listed", RiskClass.D),
    ]
    assert list_rules([]) == ()


def test_an_override_needs_its_feature() -> None:
    policy = ClassPolicy(overrides=(OverrideRule("on_a_watch_list", RiskClass.C, "…"),))
    with pytest.raises(KeyError, match="on_a_watch_list"):
        assign_classes(np.zeros(3), _flags(3), policy)
