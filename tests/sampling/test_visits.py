"""Visits: merging the month's selections (inspect_engine.sampling.visits)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_engine.sampling.frames import (
    EnterpriseColumns,
    ExclusionPolicy,
    InspectorMode,
    ItemScope,
    TaskSpec,
    build_frame,
)
from inspect_engine.sampling.protocol import sample_size
from inspect_engine.sampling.visits import (
    Visit,
    coordination_saving,
    count_visits,
    merge_into_visits,
    merged_mode,
    select_frames,
    task_seed,
)

AS_OF = date(2026, 11, 30)
RATIOS = {"A": 0.01, "B": 0.03, "C": 0.1, "D": 0.3}
SEED = "f5c5cc147f45b2b847c354e2a108c0263a80e9f9edf4f90bf4aed57ded8898fb"
OPEN = ExclusionPolicy(recent_window_days=0, yearly_cap=None, grace_days=0)


def code(number: int) -> str:
    return f"91440106{number:09d}X"


def enterprise(number: int, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "credit_code": code(number),
        "status": "active",
        "entity_type": "company",
        "industry": "H62",
        "district": "440106",
        "unit": f"U{number % 3}",
        "registered_on": date(2015, 1, 1),
    }
    record.update(fields)
    return record


def city(*records: dict[str, Any]) -> EnterpriseColumns:
    return EnterpriseColumns.from_records(records, 2026, departments=["SAMR", "HEALTH", "FIRE"])


def task(code_: str, *items: ItemScope, **fields: Any) -> TaskSpec:
    return TaskSpec(code_, code_, items, fields.pop("ratios", RATIOS), **fields)


INFO = ItemScope("SAMR-INFO", "SAMR", "general")
FOOD = ItemScope("SAMR-FOOD", "SAMR", "key", licences=["food_business"], qualification="food")
KITCHEN = ItemScope("HEALTH-KITCHEN", "HEALTH", "general", licences=["food_business"])
FIRE = ItemScope("FIRE-EXIT", "FIRE", "general", min_inspectors=4)

COLUMNS = city(
    enterprise(1, licences="food_business"),
    enterprise(2),
    enterprise(3, licences="food_business"),
)
TASKS = {
    "T-INFO": task("T-INFO", INFO, mode="local"),
    "T-FOOD": task("T-FOOD", FOOD, KITCHEN, team_size=3, mode="cross_office"),
    "T-FIRE": task("T-FIRE", FIRE, mode="any"),
}


def by_code(visits: list[Visit]) -> dict[str, Visit]:
    return {visit.credit_code: visit for visit in visits}


def test_an_enterprise_drawn_by_two_tasks_is_one_visit_with_both() -> None:
    visits = merge_into_visits({"T-INFO": [code(1), code(2)], "T-FOOD": [code(1)]}, TASKS, COLUMNS)
    assert [v.credit_code for v in visits] == [code(1), code(2)]
    joint = by_code(visits)[code(1)]
    assert joint.task_codes == ("T-FOOD", "T-INFO")
    assert joint.item_codes == ("HEALTH-KITCHEN", "SAMR-FOOD", "SAMR-INFO")
    assert joint.departments == ("HEALTH", "SAMR")
    assert joint.items_of("T-FOOD") == ("SAMR-FOOD", "HEALTH-KITCHEN")
    assert joint.qualifications == ("food",)
    assert joint.mode is InspectorMode.LOCAL_CROSS  # local and cross_office: both kept
    assert joint.team_size == 3
    assert joint.unit == "U1"
    single = by_code(visits)[code(2)]
    assert (single.task_codes, single.mode, single.team_size) == (("T-INFO",), "local", 2)


def test_mode_is_the_strictest_and_team_the_largest() -> None:
    visits = by_code(
        merge_into_visits({"T-INFO": [code(2)], "T-FIRE": [code(2), code(3)]}, TASKS, COLUMNS)
    )
    assert visits[code(2)].mode is InspectorMode.LOCAL  # local beats any
    assert visits[code(2)].team_size == 4  # the fire item needs 4
    assert visits[code(3)].mode is InspectorMode.ANY


def test_a_visit_carries_only_the_items_that_apply_to_the_enterprise() -> None:
    joint = task("T-JOINT", INFO, KITCHEN)
    visits = by_code(
        merge_into_visits({"T-JOINT": [code(1), code(2)]}, {"T-JOINT": joint}, COLUMNS)
    )
    assert visits[code(1)].item_codes == ("HEALTH-KITCHEN", "SAMR-INFO")
    assert visits[code(2)].item_codes == ("SAMR-INFO",)
    assert visits[code(2)].departments == ("SAMR",)


def test_an_item_shared_by_two_tasks_is_checked_once() -> None:
    tasks = {"T1": task("T1", INFO), "T2": task("T2", INFO, FIRE)}
    (visit,) = merge_into_visits({"T1": [code(2)], "T2": [code(2)]}, tasks, COLUMNS)
    assert visit.item_codes == ("FIRE-EXIT", "SAMR-INFO")
    assert visit.task_items == (("T1", ("SAMR-INFO",)), ("T2", ("SAMR-INFO", "FIRE-EXIT")))


def test_order_is_by_credit_code_whatever_the_input_order() -> None:
    one = merge_into_visits({"T-INFO": [code(3), code(1)], "T-FIRE": [code(2)]}, TASKS, COLUMNS)
    other = merge_into_visits({"T-FIRE": [code(2)], "T-INFO": [code(1), code(3)]}, TASKS, COLUMNS)
    assert one == other
    assert [v.credit_code for v in one] == [code(1), code(2), code(3)]


@pytest.mark.parametrize(
    ("selections", "message"),
    [
        ({"T-NONE": [code(1)]}, "without a TaskSpec"),
        ({"T-INFO": [code(1), code(1)]}, "selected twice"),
        ({"T-INFO": [code(9)]}, "not in the directory"),
        ({"T-INFO": [code(0)]}, "not in the directory"),
        ({"T-FOOD": [code(2)]}, "none of its items applies"),
    ],
)
def test_bad_selections_are_refused(selections: dict[str, list[str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge_into_visits(selections, TASKS, COLUMNS)


def test_no_selection_no_visit() -> None:
    assert merge_into_visits({"T-INFO": []}, TASKS, COLUMNS) == []


# --------------------------------------------------------------------------- coordination


def test_coordination_saving_counts_distinct_enterprises() -> None:
    a, b, c, d = (code(i) for i in range(4))
    shared = {"T1": [a, b], "T2": [a, c]}
    independent = {"T1": [b, a], "T2": [c, d]}
    saving = coordination_saving(shared, independent)
    assert (saving.tasks, saving.selections) == (2, 4)
    assert (saving.visits_coordinated, saving.visits_independent) == (3, 4)
    assert saving.visits_saved == 1
    assert saving.saved_share == pytest.approx(0.25)
    assert count_visits({}) == 0
    with pytest.raises(ValueError, match="same tasks"):
        coordination_saving(shared, {"T1": [a]})


def test_task_seeds_differ_per_task_and_follow_the_formula() -> None:
    import hashlib

    assert task_seed(SEED, "T1") == hashlib.sha256(f"{SEED}|T1".encode()).hexdigest()
    assert task_seed(SEED, "T1") != task_seed(SEED, "T2")


def test_shared_seed_nests_equal_lambda_samples_independent_seeds_do_not() -> None:
    # Two tasks over the same 600 enterprises with one λ each: under one seed both rank by
    # the same PRN, so the smaller sample lies inside the larger one.
    columns = city(*(enterprise(i) for i in range(600)))
    small = task("T-SMALL", INFO, ratios={"A": 0.05, "B": 0.05, "C": 0.05, "D": 0.05})
    large = task("T-LARGE", FIRE, ratios={"A": 0.2, "B": 0.2, "C": 0.2, "D": 0.2})
    frames = {t.task_code: build_frame(columns, t, OPEN, AS_OF) for t in (small, large)}
    shared = select_frames(frames, SEED)
    independent = select_frames(frames, SEED, independent=True)
    for selections in (shared, independent):
        assert {t: len(s) for t, s in selections.items()} == {
            t: sample_size(f.lam) for t, f in frames.items()
        }
    assert set(shared["T-SMALL"]) <= set(shared["T-LARGE"])
    saving = coordination_saving(shared, independent)
    assert saving.visits_coordinated == 120
    assert saving.visits_independent > saving.visits_coordinated
    tasks = {small.task_code: small, large.task_code: large}
    assert len(merge_into_visits(shared, tasks, columns)) == 120


# --------------------------------------------------------------------------- properties

ITEMS = (INFO, FOOD, KITCHEN, FIRE)


@st.composite
def months(draw: st.DrawFn) -> tuple[dict[str, list[str]], dict[str, TaskSpec]]:
    tasks: dict[str, TaskSpec] = {}
    selections: dict[str, list[str]] = {}
    for number in range(draw(st.integers(1, 4))):
        chosen = draw(st.lists(st.sampled_from(ITEMS), min_size=1, max_size=3, unique=True))
        code_ = f"T{number}"
        tasks[code_] = task(
            code_,
            *chosen,
            mode=draw(st.sampled_from(TASK_MODES)),
            team_size=draw(st.integers(2, 5)),
        )
        food_only = all(item.licences for item in chosen)
        pool = [code(1), code(3)] if food_only else [code(1), code(2), code(3)]
        selections[code_] = draw(st.lists(st.sampled_from(pool), unique=True))
    return selections, tasks


TASK_MODES = ["any", "local", "cross_office"]


@settings(max_examples=150, deadline=None)
@given(month=months())
def test_merge_invariants(month: tuple[dict[str, list[str]], dict[str, TaskSpec]]) -> None:
    selections, tasks = month
    visits = merge_into_visits(selections, tasks, COLUMNS)
    drawn = {(t, c) for t, codes in selections.items() for c in codes}
    assert [v.credit_code for v in visits] == sorted({c for _, c in drawn})
    assert {(t, v.credit_code) for v in visits for t in v.task_codes} == drawn
    for visit in visits:
        mine = [tasks[t] for t in visit.task_codes]
        holds_food = visit.credit_code in (code(1), code(3))
        applying = {i.item_code for t in mine for i in t.items if holds_food or not i.licences}
        assert visit.item_codes and set(visit.item_codes) == applying
        assert visit.team_size >= max(2, *(t.team_size for t in mine))
        assert visit.mode == merged_mode([InspectorMode(t.mode) for t in mine])
        modes = {str(t.mode) for t in mine}
        if {"local", "cross_office"} <= modes:  # both rules kept, never one dropped
            assert visit.mode is InspectorMode.LOCAL_CROSS
        item_scopes = {i.item_code: i for t in mine for i in t.items}
        assert set(visit.departments) == {item_scopes[i].department for i in visit.item_codes}
