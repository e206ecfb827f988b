"""Frames: scope, filters, λ policy, exclusions (inspect_engine.sampling.frames)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_engine.sampling.frames import (
    EXCLUSION_REASONS,
    Coded,
    EnterpriseColumns,
    ExclusionPolicy,
    Frame,
    InspectionHistory,
    ItemScope,
    TagSet,
    TaskFilters,
    TaskSpec,
    build_frame,
    preview,
)

AS_OF = date(2026, 11, 30)
RATIOS = {"A": "0.01", "B": "0.03", "C": "0.1", "D": "0.3"}
NO_EXCLUSIONS = ExclusionPolicy(recent_window_days=0, yearly_cap=None, grace_days=0)


def code(number: int) -> str:
    return f"91440106{number:09d}X"


def enterprise(number: int, **fields: Any) -> dict[str, Any]:
    """An active, old, unclassed company in 440106 unless told otherwise."""
    record: dict[str, Any] = {
        "credit_code": code(number),
        "status": "active",
        "entity_type": "company",
        "industry": "H62",
        "district": "440106",
        "unit": "440106-01",
        "registered_on": date(2015, 1, 1),
        "risk_class": "",
    }
    record.update(fields)
    return record


def city(*records: dict[str, Any]) -> EnterpriseColumns:
    return EnterpriseColumns.from_records(records, AS_OF.year, departments=["SAMR", "HEALTH"])


def task(*items: ItemScope, **fields: Any) -> TaskSpec:
    values: dict[str, Any] = {"task_code": "T1", "title": "test", "ratios": RATIOS}
    values.update(fields)
    return TaskSpec(items=items, **values)


SAMR_ALL = ItemScope("SAMR-1", "SAMR", "general")


def frame_codes(frame: Frame) -> set[str]:
    return set(frame.codes())


def excluded(frame: Frame) -> dict[str, str]:
    codes = frame.exclusions.credit_code.tolist()
    return dict(zip(codes, frame.exclusions.reasons(), strict=True))


# --------------------------------------------------------------------------- scope


def test_item_scope_entity_type_industry_prefix_and_licence() -> None:
    columns = city(
        enterprise(1, entity_type="company", industry="F52"),
        enterprise(2, entity_type="individual", industry="F52"),
        enterprise(3, entity_type="company", industry="F51"),
        enterprise(4, entity_type="company", industry="F52", licences="drug_retail"),
    )
    food = ItemScope("F", "SAMR", "general", entity_types=["company"], industries=["F52"])
    assert frame_codes(build_frame(columns, task(food), NO_EXCLUSIONS, AS_OF)) == {
        code(1),
        code(4),
    }
    drugs = ItemScope("D", "SAMR", "general", licences="drug_retail;medical_device")
    assert frame_codes(build_frame(columns, task(drugs), NO_EXCLUSIONS, AS_OF)) == {code(4)}


def test_section_prefix_matches_every_division_of_the_section() -> None:
    columns = city(
        enterprise(1, industry="H61"), enterprise(2, industry="I65"), enterprise(3, industry="H62")
    )
    item = ItemScope("H", "SAMR", "general", industries=["H"])
    assert frame_codes(build_frame(columns, task(item), NO_EXCLUSIONS, AS_OF)) == {
        code(1),
        code(3),
    }


def test_frame_is_the_union_of_the_items_scopes() -> None:
    columns = city(
        enterprise(1, industry="F52"),
        enterprise(2, industry="C14"),
        enterprise(3, industry="H62", licences=["food_business"]),
    )
    items = (
        ItemScope("A", "SAMR", "general", industries=["F52"]),
        ItemScope("B", "HEALTH", "general", licences=["food_business"]),
    )
    assert frame_codes(build_frame(columns, task(*items), NO_EXCLUSIONS, AS_OF)) == {
        code(1),
        code(3),
    }


def test_targeted_filters_restrict_the_frame() -> None:
    columns = city(
        enterprise(1, district="440106"),
        enterprise(2, district="440104"),
        enterprise(3, district="440106", entity_type="individual"),
    )
    targeted = task(
        SAMR_ALL,
        targeted=True,
        filters=TaskFilters(districts=["440106"], entity_types=["company"]),
    )
    assert frame_codes(build_frame(columns, targeted, NO_EXCLUSIONS, AS_OF)) == {code(1)}
    assert len(build_frame(columns, task(SAMR_ALL), NO_EXCLUSIONS, AS_OF)) == 3


def test_filters_and_targeted_must_agree() -> None:
    with pytest.raises(ValueError, match="targeted is false"):
        task(SAMR_ALL, filters=TaskFilters(districts=["440106"]))
    with pytest.raises(ValueError, match="no filter"):
        task(SAMR_ALL, targeted=True)


# --------------------------------------------------------------------------- λ policy


def test_lambda_by_class_with_unclassed_as_b() -> None:
    columns = city(*(enterprise(i, risk_class=rc) for i, rc in enumerate(["A", "B", "C", "D", ""])))
    frame = build_frame(columns, task(SAMR_ALL), NO_EXCLUSIONS, AS_OF)
    per_class = {c.risk_class: c for c in frame.classes}
    assert [c.ratio for c in frame.classes] == ["0.01", "0.03", "0.1", "0.3"]
    assert frame.lambda_texts() == [per_class[k].lam for k in "ABCDB"]
    assert frame.lam.tolist() == [float(per_class[k].lam) for k in "ABCDB"]
    assert frame.risk_class.tolist() == ["A", "B", "C", "D", "B"]
    assert frame.lambda_provenance["unclassed_as_B"] == 1
    assert {c.risk_class: c.units for c in frame.classes} == {"A": 1, "B": 2, "C": 1, "D": 1}


def test_class_counts_and_expected_size_add_up() -> None:
    classes = ["A"] * 7 + ["B"] * 5 + ["C"] * 3 + ["D"] * 2 + [""] * 4
    columns = city(*(enterprise(i, risk_class=rc) for i, rc in enumerate(classes)))
    frame = build_frame(columns, task(SAMR_ALL), NO_EXCLUSIONS, AS_OF)
    per_class = {c.risk_class: c for c in frame.classes}
    assert per_class["B"].units == 9
    assert per_class["D"].ratio == "0.3"
    assert frame.expected_size == math.fsum(frame.lam.tolist())
    assert math.isclose(per_class["A"].expected, 7 * float(per_class["A"].lam))
    assert sum(c.units for c in frame.classes) == len(frame) == 21


def test_floor_is_validated_and_recorded() -> None:
    with pytest.raises(ValueError, match=r"floor 0\.02 is above ratio_A"):
        task(SAMR_ALL, floor=0.02)
    with pytest.raises(ValueError, match="floor must be above 0"):
        task(SAMR_ALL, floor=0)
    frame = build_frame(city(enterprise(1)), task(SAMR_ALL, floor="0.005"), NO_EXCLUSIONS, AS_OF)
    assert frame.lambda_provenance["floor"] == "0.005"
    assert frame.lambda_provenance["raised_to_floor"] == 0
    assert task(SAMR_ALL).floor == 0.002


def test_floor_equal_to_a_ratio_is_allowed() -> None:
    spec = task(SAMR_ALL, ratios={"A": 0.002, "B": 0.03, "C": 0.1, "D": 0.3})
    frame = build_frame(
        city(*(enterprise(i, risk_class="A") for i in range(1000))), spec, NO_EXCLUSIONS, AS_OF
    )
    assert set(frame.lambda_texts()) == {"0.002"}


def test_general_tasks_cannot_reach_certainty_key_tasks_can() -> None:
    certain_d = {"A": 0.01, "B": 0.03, "C": 0.1, "D": 1}
    with pytest.raises(ValueError, match="only key items"):
        task(SAMR_ALL, ratios=certain_d)
    key = ItemScope("K", "SAMR", "key")
    spec = task(SAMR_ALL, key, ratios=certain_d)
    columns = city(
        enterprise(1, risk_class="D"), *(enterprise(i, risk_class="A") for i in range(2, 202))
    )
    frame = build_frame(columns, spec, NO_EXCLUSIONS, AS_OF)
    assert frame.lambda_texts()[:2] == ["1", "0.01"]
    assert frame.lambda_provenance["cap"] == "1"
    assert frame.lambda_provenance["key_items"] == ["K"]


@pytest.mark.parametrize(
    ("ratios", "message"),
    [
        ({"A": 0.01, "B": 0.03, "C": 0.1}, "exactly A, B, C, D"),
        ({"A": 0, "B": 0.03, "C": 0.1, "D": 0.3}, "outside"),
        ({"A": 0.01, "B": 1.5, "C": 0.1, "D": 0.3}, "outside"),
        ({"A": "0.0123456789", "B": 0.03, "C": 0.1, "D": 0.3}, "more than 9 decimals"),
        ({"A": "one", "B": 0.03, "C": 0.1, "D": 0.3}, "decimal number"),
        ({"A": math.nan, "B": 0.03, "C": 0.1, "D": 0.3}, "finite"),
    ],
)
def test_bad_ratios_are_refused_with_a_reason(ratios: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        task(SAMR_ALL, ratios=ratios)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: task(SAMR_ALL, team_size=1), "at least 2"),
        (lambda: task(SAMR_ALL, mode="nearby"), "cross_office, local, any"),
        (lambda: task(), "no items"),
        (lambda: task(SAMR_ALL, SAMR_ALL), "listed twice"),
        (lambda: ItemScope("X", "SAMR", "general", min_inspectors=1), "at least 2"),
        (lambda: ItemScope("X", "SAMR", "urgent"), "key, general"),
        (lambda: ItemScope("X", "SAMR", "general", entity_types=["firm"]), "firm"),
        (lambda: ItemScope("X", "SAMR", "general", industries=["62"]), "62"),
        (lambda: TaskFilters(districts=["4401"]), "4401"),
        (lambda: ExclusionPolicy(yearly_cap=0), "yearly_cap"),
        (lambda: ExclusionPolicy(grace_waived_classes=["E"]), "grace_waived_classes"),
        (lambda: ExclusionPolicy(allowed_statuses=[]), "allowed_statuses"),
    ],
)
def test_validation_messages(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


# --------------------------------------------------------------------------- exclusions


def test_each_exclusion_with_its_reason() -> None:
    policy = ExclusionPolicy(recent_window_days=180, yearly_cap=2, grace_days=180)
    columns = city(
        enterprise(1),
        enterprise(2, status="revoked"),
        enterprise(3, last_inspected_on={"SAMR": AS_OF - timedelta(days=10)}),
        enterprise(4, inspections_this_year=2),
        enterprise(5, registered_on=AS_OF - timedelta(days=30), risk_class="B"),
    )
    frame = build_frame(columns, task(SAMR_ALL), policy, AS_OF)
    assert frame_codes(frame) == {code(1)}
    assert excluded(frame) == {
        code(2): "status_not_active",
        code(3): "inspected_recently_by_department",
        code(4): "yearly_cap_reached",
        code(5): "grace_period_new_enterprise",
    }
    assert frame.exclusions.counts() == dict.fromkeys(EXCLUSION_REASONS, 1)


def test_exclusions_keep_the_first_reason_in_the_fixed_order() -> None:
    recent = {"SAMR": AS_OF - timedelta(days=1)}
    young = AS_OF - timedelta(days=1)
    columns = city(
        enterprise(1, status="cancelled", last_inspected_on=recent, inspections_this_year=5),
        enterprise(2, last_inspected_on=recent, inspections_this_year=5, registered_on=young),
        enterprise(3, inspections_this_year=5, registered_on=young),
    )
    frame = build_frame(columns, task(SAMR_ALL), ExclusionPolicy(), AS_OF)
    assert excluded(frame) == {
        code(1): "status_not_active",
        code(2): "inspected_recently_by_department",
        code(3): "yearly_cap_reached",
    }


def test_recent_window_boundary_and_other_departments() -> None:
    columns = city(
        enterprise(1, last_inspected_on={"SAMR": AS_OF - timedelta(days=179)}),
        enterprise(2, last_inspected_on={"SAMR": AS_OF - timedelta(days=180)}),
        enterprise(3, last_inspected_on={"HEALTH": AS_OF - timedelta(days=5)}),
        enterprise(4, last_inspected_on={"SAMR": AS_OF + timedelta(days=3)}),
    )
    policy = ExclusionPolicy(recent_window_days=180, yearly_cap=None, grace_days=0)
    frame = build_frame(columns, task(SAMR_ALL), policy, AS_OF)
    assert frame_codes(frame) == {code(2), code(3)}
    assert set(excluded(frame)) == {code(1), code(4)}


def test_recent_inspection_counts_only_for_a_department_whose_item_applies() -> None:
    recent_health = {"HEALTH": AS_OF - timedelta(days=5)}
    columns = city(
        enterprise(1, last_inspected_on=recent_health),
        enterprise(2, last_inspected_on=recent_health, licences="food_business"),
    )
    joint = task(SAMR_ALL, ItemScope("H-1", "HEALTH", "general", licences=["food_business"]))
    policy = ExclusionPolicy(recent_window_days=30, yearly_cap=None, grace_days=0)
    frame = build_frame(columns, joint, policy, AS_OF)
    assert frame_codes(frame) == {code(1)}
    assert excluded(frame) == {code(2): "inspected_recently_by_department"}


def test_grace_period_is_waived_for_high_risk_classes() -> None:
    young = AS_OF - timedelta(days=20)
    columns = city(
        *(
            enterprise(i, registered_on=young, risk_class=rc)
            for i, rc in enumerate(["A", "B", "C", "D", ""])
        ),
        enterprise(9, registered_on=AS_OF - timedelta(days=180), risk_class="A"),
    )
    policy = ExclusionPolicy(recent_window_days=0, yearly_cap=None, grace_days=180)
    frame = build_frame(columns, task(SAMR_ALL), policy, AS_OF)
    assert frame_codes(frame) == {code(2), code(3), code(9)}
    assert set(excluded(frame).values()) == {"grace_period_new_enterprise"}
    assert set(excluded(frame)) == {code(0), code(1), code(4)}


def test_yearly_cap_counts_every_inspection_of_the_year() -> None:
    codes = np.array([code(1), code(2), code(3)])
    # code 1: a SAMR random check and a FIRE complaint check this year; code 2: one this
    # year, one last year; code 3: none.
    history = InspectionHistory.from_events(
        codes,
        2026,
        event_credit_code=[code(1), code(1), code(2), code(2)],
        inspected_on=["2026-02-01", "2026-07-15", "2026-03-01", "2025-12-31"],
        department=["SAMR", "FIRE", "SAMR", "SAMR"],
        departments=["HEALTH"],
    )
    assert history.inspections_this_year.tolist() == [2, 1, 0]
    assert history.last_inspected_on["SAMR"].tolist() == [
        date(2026, 2, 1),
        date(2026, 3, 1),
        None,
    ]
    assert np.isnat(history.last_inspected_on["HEALTH"]).all()
    columns = EnterpriseColumns(
        credit_code=codes,
        status=Coded.encode(["active"] * 3),
        entity_type=Coded.encode(["company"] * 3),
        industry=Coded.encode(["H62"] * 3),
        district=Coded.encode(["440106"] * 3),
        unit=Coded.encode(["u"] * 3),
        registered_on=np.array(["2010-01-01"] * 3, dtype="datetime64[D]"),
        licences=TagSet.empty(3),
        risk_class=np.array(["", "", ""]),
        history=history,
    )
    health = task(ItemScope("H-1", "HEALTH", "general"))
    policy = ExclusionPolicy(recent_window_days=180, yearly_cap=2, grace_days=0)
    frame = build_frame(columns, health, policy, AS_OF)
    assert excluded(frame) == {code(1): "yearly_cap_reached"}


def test_rules_can_be_switched_off() -> None:
    columns = city(
        enterprise(1, last_inspected_on={"SAMR": AS_OF}),
        enterprise(2, inspections_this_year=9),
        enterprise(3, registered_on=AS_OF),
        enterprise(4, status="moved_out"),
    )
    assert frame_codes(build_frame(columns, task(SAMR_ALL), NO_EXCLUSIONS, AS_OF)) == {
        code(1),
        code(2),
        code(3),
    }
    everyone = ExclusionPolicy(
        recent_window_days=0,
        yearly_cap=None,
        grace_days=0,
        allowed_statuses=["active", "moved_out"],
    )
    assert len(build_frame(columns, task(SAMR_ALL), everyone, AS_OF)) == 4


def test_history_must_match_the_year_and_cover_the_departments() -> None:
    columns = city(enterprise(1))
    with pytest.raises(ValueError, match="rebuild the history for 2027"):
        build_frame(columns, task(SAMR_ALL), NO_EXCLUSIONS, date(2027, 1, 5))
    with pytest.raises(ValueError, match="FIRE"):
        build_frame(columns, task(ItemScope("F", "FIRE", "general")), NO_EXCLUSIONS, AS_OF)


def test_preview_is_the_frame_summary_and_provenance_records_the_policy() -> None:
    columns = city(enterprise(1), enterprise(2, status="revoked"), enterprise(3, risk_class="D"))
    policy = ExclusionPolicy()
    summary = preview(columns, task(SAMR_ALL), policy, AS_OF)
    assert (summary.in_scope, summary.units) == (3, 2)
    assert summary.exclusions["status_not_active"] == 1
    assert summary.expected_size == pytest.approx(1.0)  # 0.03 + 0.3 scaled to n = 1
    record = build_frame(columns, task(SAMR_ALL), policy, AS_OF).lambda_provenance
    assert record["exclusion_policy"]["yearly_cap"] == 2
    assert record["exclusion_policy"]["order"] == list(EXCLUSION_REASONS)
    assert record["ratios"] == RATIOS
    shown = summary.as_dict()
    assert shown["classes"]["D"]["ratio"] == "0.3"
    assert {k: shown["classes"]["D"][k] for k in ("units", "lambda", "pi")} == {
        "units": 1,
        "lambda": shown["inclusion"][1]["lambda"],
        "pi": shown["inclusion"][1]["pi"],
    }
    assert sum(float(c["target"]) * c["units"] for c in shown["classes"].values()) == pytest.approx(
        1
    )


def test_columns_refuse_unsorted_codes_and_bad_classes() -> None:
    with pytest.raises(ValueError, match="sorted"):
        EnterpriseColumns(
            credit_code=np.array([code(2), code(1)]),
            status=Coded.encode(["active"] * 2),
            entity_type=Coded.encode(["company"] * 2),
            industry=Coded.encode(["H62"] * 2),
            district=Coded.encode(["440106"] * 2),
            unit=Coded.encode(["u"] * 2),
            registered_on=np.array(["2010-01-01"] * 2, dtype="datetime64[D]"),
            licences=TagSet.empty(2),
            risk_class=np.array(["", ""]),
            history=InspectionHistory(2026, np.zeros(2, np.int32), {}),
        )
    with pytest.raises(ValueError, match="risk_class"):
        city(enterprise(1, risk_class="E"))
    with pytest.raises(ValueError, match="risk_class"):
        city(enterprise(1, risk_class="AB"))


def test_tag_sets_from_cells_and_from_pairs_agree() -> None:
    cells = TagSet.from_cells(["food_business;cosmetics", None, "", ["cosmetics"]])
    pairs = TagSet.from_pairs(4, [0, 0, 3], ["cosmetics", "food_business", "cosmetics"])
    for tags in (cells, pairs):
        assert [tags.tags(i) for i in range(4)] == [
            {"food_business", "cosmetics"},
            set(),
            set(),
            {"cosmetics"},
        ]
        assert tags.has_any({"cosmetics", "drug_retail"}).tolist() == [True, False, False, True]
        assert not tags.has_any({"unknown_licence"}).any()


# --------------------------------------------------------------------------- properties

DEPARTMENTS = ("SAMR", "HEALTH")
INDUSTRIES = ("F52", "F51", "H62", "C14")
LICENCES = ("food_business", "drug_retail", "cosmetics")
DECIMALS = ("0.002", "0.01", "0.03", "0.1", "0.25", "0.5", "0.999", "1")

subsets = st.lists
day_offsets = st.integers(-5, 400)


@st.composite
def enterprises(draw: st.DrawFn) -> list[dict[str, Any]]:
    numbers = draw(st.lists(st.integers(0, 999_999_999), min_size=0, max_size=25, unique=True))
    rows = []
    for number in numbers:
        last = {
            d: AS_OF - timedelta(days=draw(day_offsets)) for d in DEPARTMENTS if draw(st.booleans())
        }
        rows.append(
            enterprise(
                number,
                status=draw(st.sampled_from(["active", "active", "revoked", "cancelled"])),
                entity_type=draw(st.sampled_from(["company", "individual", "branch"])),
                industry=draw(st.sampled_from(INDUSTRIES)),
                district=draw(st.sampled_from(["440106", "440104"])),
                registered_on=AS_OF - timedelta(days=draw(day_offsets)),
                licences=draw(subsets(st.sampled_from(LICENCES), max_size=2)),
                risk_class=draw(st.sampled_from(["A", "B", "C", "D", ""])),
                inspections_this_year=draw(st.integers(0, 3)),
                last_inspected_on=last,
            )
        )
    return rows


@st.composite
def items(draw: st.DrawFn) -> ItemScope:
    return ItemScope(
        item_code=f"I{draw(st.integers(0, 99))}",
        department=draw(st.sampled_from(DEPARTMENTS)),
        kind=draw(st.sampled_from(["key", "general"])),
        entity_types=draw(subsets(st.sampled_from(["company", "individual"]), max_size=1)),
        industries=draw(subsets(st.sampled_from(["F", "F52", "H62", "C"]), max_size=2)),
        licences=draw(subsets(st.sampled_from(LICENCES), max_size=2)),
    )


@st.composite
def tasks(draw: st.DrawFn) -> TaskSpec:
    scopes = draw(st.lists(items(), min_size=1, max_size=3, unique_by=lambda i: i.item_code))
    has_key = any(i.kind == "key" for i in scopes)
    allowed = DECIMALS if has_key else DECIMALS[:-1]
    ratios = {c: draw(st.sampled_from(allowed)) for c in "ABCD"}
    floor = draw(
        st.sampled_from([d for d in DECIMALS if float(d) <= min(map(float, ratios.values()))])
    )
    targeted = draw(st.booleans())
    filters = TaskFilters()
    if targeted:
        filters = TaskFilters(
            districts=draw(subsets(st.sampled_from(["440106", "440104"]), min_size=1, max_size=1)),
            industries=draw(subsets(st.sampled_from(["F", "H62"]), max_size=1)),
        )
    return TaskSpec(
        "T", "t", scopes, ratios, floor=float(floor), targeted=targeted, filters=filters
    )


policies = st.builds(
    ExclusionPolicy,
    recent_window_days=st.sampled_from([0, 30, 180]),
    yearly_cap=st.sampled_from([None, 1, 2]),
    grace_days=st.sampled_from([0, 90, 180]),
    grace_waived_classes=subsets(st.sampled_from("ABCD"), max_size=4),
)


def reference(record: dict[str, Any], spec: TaskSpec, policy: ExclusionPolicy) -> str | None:
    """Row-by-row restatement of the rules: None (out of scope), 'frame', or the reason."""

    def applies(item: ItemScope) -> bool:
        return (
            (not item.entity_types or record["entity_type"] in item.entity_types)
            and (
                not item.industries
                or any(record["industry"].startswith(p) for p in item.industries)
            )
            and (not item.licences or bool(set(record["licences"]) & set(item.licences)))
        )

    applying = [item for item in spec.items if applies(item)]
    if not applying:
        return None
    f = spec.filters
    if spec.targeted and not (
        (not f.districts or record["district"] in f.districts)
        and (not f.industries or any(record["industry"].startswith(p) for p in f.industries))
    ):
        return None
    if record["status"] not in policy.allowed_statuses:
        return "status_not_active"
    for item in applying:
        last = record["last_inspected_on"].get(item.department)
        if policy.recent_window_days and last and (AS_OF - last).days < policy.recent_window_days:
            return "inspected_recently_by_department"
    if policy.yearly_cap is not None and record["inspections_this_year"] >= policy.yearly_cap:
        return "yearly_cap_reached"
    age = (AS_OF - record["registered_on"]).days
    if (
        policy.grace_days
        and age < policy.grace_days
        and record["risk_class"] not in policy.grace_waived_classes
    ):
        return "grace_period_new_enterprise"
    return "frame"


@settings(max_examples=150, deadline=None)
@given(rows=enterprises(), spec=tasks(), policy=policies)
def test_frame_and_exclusions_partition_the_scope(
    rows: list[dict[str, Any]], spec: TaskSpec, policy: ExclusionPolicy
) -> None:
    frame = build_frame(city(*rows), spec, policy, AS_OF)
    expected = {r["credit_code"]: reference(r, spec, policy) for r in rows}
    in_frame = frame_codes(frame)
    out = excluded(frame)
    assert not in_frame & set(out)
    assert in_frame | set(out) == {c for c, fate in expected.items() if fate is not None}
    assert in_frame == {c for c, fate in expected.items() if fate == "frame"}
    assert out == {c: fate for c, fate in expected.items() if fate not in (None, "frame")}
    assert frame.codes() == sorted(in_frame)
    assert len(frame.rows) == len(in_frame) and np.all(np.diff(frame.rows) > 0)


@settings(max_examples=150, deadline=None)
@given(rows=enterprises(), spec=tasks())
def test_every_unit_has_its_class_lambda_at_or_above_the_floor(
    rows: list[dict[str, Any]], spec: TaskSpec
) -> None:
    frame = build_frame(city(*rows), spec, NO_EXCLUSIONS, AS_OF)
    classes = {r["credit_code"]: r["risk_class"] or "B" for r in rows}
    per_class = {c.risk_class: c for c in frame.classes}
    for unit_code, lam, text in zip(frame.codes(), frame.lam, frame.lambda_texts(), strict=True):
        kept = per_class[classes[unit_code]]
        assert lam == float(text) == float(kept.lam)
        assert float(kept.ratio) == max(float(spec.ratios[classes[unit_code]]), spec.floor)
        # The promise keeps the floor, and the exact π keeps the promise within 1 %.
        assert spec.floor <= float(kept.target) <= 1
        assert abs(float(kept.pi) - float(kept.target)) <= 0.01 * float(kept.target) + 1e-9
        if not spec.has_key_item and len(frame) > sum(frame.lam >= 1):
            assert lam < 1 or len(frame) == 1 or float(kept.target) == 1
    if len(frame):
        n = round(frame.expected_size)
        assert n >= 1
        assert abs(frame.expected_size - n) < 1e-6 * len(frame) + 1e-9
