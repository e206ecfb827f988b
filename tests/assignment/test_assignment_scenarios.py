"""Hand-built months: the reasons given for gaps, the soft lead, balanced workloads, the
common duty day and the local_cross mode."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest

from inspect_engine.assignment import (
    DateRange,
    Inspector,
    Month,
    OfficeMode,
    Recusals,
    Visit,
    assign,
)

InspectorFactory = Callable[..., Inspector]
VisitFactory = Callable[..., Visit]
Seed = Callable[[str], str]


def test_cross_office_reason_names_the_department_and_the_office(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01") for k in range(4)]
    directory += [make_inspector(f"F{k}", dept="FIRE", unit="440106-03") for k in range(3)]
    visit = make_visit("V1", needs={"SAMR": (), "FIRE": ()}, unit="440106-03", size=2)
    result = assign([visit], directory, month, seed("s"))
    assert result.teams == {}
    (gap,) = result.unstaffed
    assert gap.visit_id == "V1"
    assert "no FIRE inspector" in gap.reason
    assert "own office 440106-03" in gap.reason
    assert "3 FIRE inspectors" in gap.reason


def test_recusal_reason(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01", quals=("food",)) for k in range(2)] + [
        make_inspector("S9", unit="440115-01")
    ]
    visit = make_visit("V1", needs={"SAMR": ("food",)}, unit="440115-02", mode=OfficeMode.LOCAL)
    recusals = Recusals.build(conflicts=[("S0", visit.credit_code), ("S1", visit.credit_code)])
    result = assign([visit], directory, month, seed("s"), recusals)
    (gap,) = result.unstaffed
    assert "recused" in gap.reason and "holding food" in gap.reason
    assert "district 440115" in gap.reason


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        (
            {"certificate_expires": date(2026, 11, 30)},
            "certificate valid on a working day from 2026-12-01 to 2026-12-31",
        ),
        ({"active": False}, "none is active"),
        ({"leave": (DateRange(date(2026, 11, 1), date(2027, 1, 31)),)}, "on leave"),
        ({"capacity": 0}, "capacity"),
        ({"quals": ()}, "none holds food"),
    ],
)
def test_each_rule_is_named_when_it_empties_the_pool(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
    changes: dict[str, object],
    phrase: str,
) -> None:
    settings: dict[str, object] = {"unit": "440115-01", "quals": ("food",), **changes}
    directory = [make_inspector(f"S{k}", **settings) for k in range(3)]
    visit = make_visit("V1", needs={"SAMR": ("food",)})
    result = assign([visit], directory, month, seed("s"))
    assert result.teams == {}
    assert phrase in result.unstaffed[0].reason


def test_team_size_shortfall_is_explained(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01") for k in range(2)]
    directory += [make_inspector("S9", unit="440106-03")]
    result = assign([make_visit("V1", size=3)], directory, month, seed("s"))
    assert result.unstaffed[0].reason.startswith("only 2 inspectors can fill the 3 places")
    assert "cross-office" in result.unstaffed[0].reason


def test_capacity_contention_staffs_one_visit_and_explains_the_other(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01", capacity=1) for k in range(3)]
    visits = [make_visit("V1"), make_visit("V2")]
    result = assign(visits, directory, month, seed("s"))
    assert len(result.teams) == 1 and len(result.unstaffed) == 1
    assert result.partial
    assert "the capacity rule leaves 1" in result.unstaffed[0].reason


def test_lead_is_placed_whenever_one_is_eligible(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01") for k in range(8)]
    directory.append(make_inspector("LEAD", unit="440115-01", lead=True))
    visit = make_visit("V1", want_lead=True)
    for k in range(15):
        result = assign([visit], directory, month, seed(f"plan-{k}"))
        assert "LEAD" in result.teams["V1"]
        assert result.lead_missing == ()
        assert result.stats.lead_swaps == 0  # placed by the flow itself, not by the fix-up


def test_lead_from_another_department_by_swap_when_the_drawn_one_is_needed_elsewhere(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    # V2 needs both SAMR inspectors, so the SAMR lead cannot serve V1; V1 must then take the
    # FIRE lead, whichever department the draw first picked for its lead.
    directory = [
        make_inspector("S-LEAD", unit="440115-01", lead=True, capacity=1),
        make_inspector("S2", unit="440115-01", capacity=1),
        make_inspector("S3", unit="440115-01", capacity=1),
        make_inspector("F-LEAD", dept="FIRE", unit="440115-01", lead=True, capacity=1),
        make_inspector("F2", dept="FIRE", unit="440115-01", capacity=1),
    ]
    v1 = make_visit("V1", needs={"SAMR": (), "FIRE": ()}, want_lead=True)
    v2 = make_visit("V2", needs={"SAMR": ()})
    recusals = Recusals.build(conflicts=[("S3", v2.credit_code)])
    swaps = 0
    for k in range(20):
        result = assign([v1, v2], directory, month, seed(f"plan-{k}"), recusals)
        assert set(result.teams["V2"]) == {"S-LEAD", "S2"}
        assert "F-LEAD" in result.teams["V1"] and "S3" in result.teams["V1"]
        swaps += result.stats.lead_swaps
    assert swaps > 0  # the fix-up path ran for some seeds


def test_missing_lead_is_reported_not_hidden(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01") for k in range(3)]
    directory.append(make_inspector("LEAD", unit="440106-03", lead=True))  # own office
    result = assign([make_visit("V1", want_lead=True)], directory, month, seed("s"))
    assert "V1" in result.teams
    assert [m.visit_id for m in result.lead_missing] == ["V1"]
    assert "lead" in result.lead_missing[0].reason


def test_workload_is_balanced_and_proportional_to_capacity(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: Seed,
) -> None:
    directory = [make_inspector(f"A{k}", unit="440115-01", capacity=8) for k in range(6)]
    directory += [make_inspector(f"B{k}", unit="440115-01", capacity=16) for k in range(3)]
    visits = [make_visit(f"V{k:02d}", size=2, mode=OfficeMode.ANY) for k in range(24)]
    result = assign(visits, directory, month, seed("balance"))
    load = Counter(m for team in result.teams.values() for m in team)
    # 48 places over a total capacity of 96: everyone at half his capacity.
    assert all(load[f"A{k}"] == 4 for k in range(6))
    assert all(load[f"B{k}"] == 8 for k in range(3))
    assert result.fairness.utilisation_min == result.fairness.utilisation_max == 0.5
    assert result.fairness.share_used == 1.0


def test_empty_month(make_inspector: InspectorFactory, month: Month, seed: Seed) -> None:
    result = assign([], [make_inspector("A")], month, seed("s"))
    assert result.teams == {} and result.unstaffed == () and not result.partial
    nobody = assign([], [], month, seed("s"))
    assert nobody.fairness.inspectors_available == 0


def test_no_common_duty_day_is_named_as_the_reason(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month, seed: Seed
) -> None:
    # Each is eligible (on duty half the month), but no day has both: not a capacity problem.
    directory = [
        make_inspector("A", unit="440115-01",
                       leave=(DateRange(date(2026, 12, 1), date(2026, 12, 15)),)),
        make_inspector("B", unit="440115-01", certificate_expires=date(2026, 12, 15)),
    ]  # fmt: skip
    result = assign([make_visit("V1")], directory, month, seed("s"))
    assert result.teams == {}
    (gap,) = result.unstaffed
    assert "share no working day of the window" in gap.reason
    assert "the best day has 1" in gap.reason
    assert "capacity" not in gap.reason


def test_a_window_opened_late_keeps_out_those_on_duty_only_before_it(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month, seed: Seed
) -> None:
    late = replace(month, window_first=date(2026, 12, 16))
    directory = [
        make_inspector("EXPIRES", unit="440115-01", certificate_expires=date(2026, 12, 15)),
        make_inspector("AWAY", unit="440115-01",
                       leave=(DateRange(date(2026, 12, 16), date(2027, 1, 10)),)),
        make_inspector("S1", unit="440115-01"),
        make_inspector("S2", unit="440115-01"),
    ]  # fmt: skip
    visits = [make_visit(f"V{k}") for k in range(3)]
    for k in range(10):
        result = assign(visits[:1], directory, late, seed(f"plan-{k}"))
        assert result.teams["V0"] == ("S1", "S2")
        # Over the whole month both are lawful, and balancing 6 places draws them.
        whole_month = assign(visits, directory, month, seed(f"plan-{k}")).teams
        assert {"EXPIRES", "AWAY"} <= {m for team in whole_month.values() for m in team}
