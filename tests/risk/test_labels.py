"""Labels: visits from item rows, and their 1/π weights."""

from __future__ import annotations

import numpy as np
import pytest

from inspect_engine.publication.result_codes import ResultCode
from inspect_engine.risk import Inspections, labelled_visits
from inspect_engine.risk.labels import group_visits, inverse_probability_weights

R = ResultCode


def _rows(*rows: tuple[int, str, ResultCode, int, float]) -> Inspections:
    ent, day, res, insp, pi = zip(*rows, strict=True)
    return Inspections(
        enterprise=np.array(ent),
        inspected_on=np.array(day, dtype="datetime64[D]"),
        result=np.array([r.index for r in res]),
        inspector=np.array(insp),
        inclusion_probability=np.array(pi, dtype=float),
        department=np.zeros(len(ent), dtype=np.int32),
    )


def test_rows_of_one_enterprise_and_day_make_one_visit() -> None:
    visits = group_visits(
        _rows(
            (1, "2024-03-05", R.NO_PROBLEM, 7, 0.02),
            (1, "2024-03-05", R.PENDING, 8, 0.10),  # a second task's item, same visit
            (1, "2024-04-01", R.CLOSED, -1, np.nan),
            (0, "2024-03-05", R.NO_PROBLEM, 7, np.nan),
        )
    )
    assert visits.enterprise.tolist() == [0, 1, 1]
    assert visits.problem.tolist() == [False, True, False]
    assert visits.observed.tolist() == [True, True, False]
    assert visits.result.tolist() == [R.NO_PROBLEM.index, R.PENDING.index, R.CLOSED.index]
    # π of a merged visit: the largest of its tasks' (shared permanent random numbers).
    np.testing.assert_array_equal(visits.inclusion_probability, [np.nan, 0.10, np.nan])
    pairs = sorted(zip(visits.teams.example.tolist(), visits.teams.inspector.tolist(), strict=True))
    assert pairs == [(0, 7), (1, 7), (1, 8)]


def test_weights_are_inverse_inclusion_probabilities() -> None:
    w = inverse_probability_weights(np.array([0.5, 0.02, 0.1, np.nan]), unknown_weight=1.0)
    raw = np.array([2.0, 50.0, 10.0, 1.0])  # unknown π: a certainty unit, π = 1
    np.testing.assert_allclose(w, raw / raw.mean())
    assert w.mean() == pytest.approx(1.0)


def test_unknown_weight_is_configurable_but_positive() -> None:
    w = inverse_probability_weights(np.array([0.5, np.nan]), unknown_weight=4.0)
    assert w[1] / w[0] == pytest.approx(2.0)
    with pytest.raises(ValueError):
        inverse_probability_weights(np.array([np.nan]), unknown_weight=0.0)


def test_only_observation_visits_inside_the_window_are_labels() -> None:
    inspections = _rows(
        (0, "2023-12-31", R.NO_PROBLEM, 1, 0.1),
        (0, "2024-01-01", R.CORRECTED, 1, 0.1),
        (1, "2024-02-01", R.NO_ACTIVITY, 1, 0.1),  # not an observation
        (2, "2024-06-30", R.NO_PROBLEM, 1, 0.05),
        (2, "2024-07-01", R.PENDING, 1, 0.1),  # on the as-of day: not yet known
    )
    labels = labelled_visits(inspections, before="2024-07-01", since="2024-01-01")
    assert labels.enterprise.tolist() == [0, 2]
    assert labels.problem.tolist() == [True, False]
    np.testing.assert_allclose(labels.weight, np.array([10.0, 20.0]) / 15.0)


def test_a_visit_is_weighted_by_its_plan_probability_where_the_engine_recorded_it() -> None:
    """Two items of one visit from two tasks (row π 0.02 and 0.10): the visit was made with
    the probability that any task of the plan drew the enterprise (0.13 here), which its
    rows record; an imported visit without it falls back to its rows' largest π."""
    rows = _rows(
        (1, "2024-03-05", R.NO_PROBLEM, 7, 0.02),
        (1, "2024-03-05", R.PENDING, 8, 0.10),
        (2, "2024-03-05", R.NO_PROBLEM, 7, 0.02),  # imported: no plan-level π
        (2, "2024-03-05", R.NO_PROBLEM, 7, 0.10),
    )
    recorded = Inspections(
        enterprise=rows.enterprise,
        inspected_on=rows.inspected_on,
        result=rows.result,
        inspector=rows.inspector,
        inclusion_probability=rows.inclusion_probability,
        department=rows.department,
        visit_probability=np.array([0.13, 0.13, np.nan, np.nan]),
    )
    np.testing.assert_allclose(group_visits(recorded).inclusion_probability, [0.13, 0.10])
    labels = labelled_visits(recorded, before="2024-04-01")
    raw = np.array([1 / 0.13, 1 / 0.10])
    np.testing.assert_allclose(labels.weight, raw / raw.mean())
    # without the column (an imported history) every visit falls back to the largest row π
    np.testing.assert_allclose(group_visits(rows).inclusion_probability, [0.10, 0.10])
    with pytest.raises(ValueError, match="inclusion probabilities"):
        Inspections(**{**recorded.__dict__, "visit_probability": np.array([0.0, 1, 1, 1])})
