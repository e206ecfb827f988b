"""Re-assignment after publication: only the withdrawn inspector's places change."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_engine.assignment import (
    Inspector,
    Month,
    OfficeMode,
    Recusals,
    Visit,
    assign,
    over_capacity,
    reassign,
    team_violations,
)

InspectorFactory = Callable[..., Inspector]
VisitFactory = Callable[..., Visit]


def city(
    make_inspector: InspectorFactory, make_visit: VisitFactory
) -> tuple[list[Inspector], list[Visit]]:
    offices = ["440106-01", "440106-02", "440115-01"]
    directory = [
        make_inspector(f"S{o}-{k}", unit=o, quals=("food",) if k % 2 else (), capacity=3)
        for o in offices
        for k in range(5)
    ]
    directory += [
        make_inspector(f"F{o}-{k}", dept="FIRE", unit=o, capacity=3, lead=k == 0)
        for o in offices
        for k in range(2)
    ]
    visits = [
        make_visit(
            f"V{k:02d}",
            needs={"SAMR": ("food",) if k % 3 == 0 else (), **({"FIRE": ()} if k % 4 == 0 else {})},
            unit=offices[k % 3],
            size=2 + (k % 5 == 0),
            want_lead=k % 6 == 0,
        )
        for k in range(12)
    ]
    return directory, visits


def test_reassign_replaces_only_the_withdrawn_inspector(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    directory, visits = city(make_inspector, make_visit)
    plan = assign(visits, directory, month, "plan-seed")
    assert not plan.unstaffed
    busiest = max(plan.loads, key=lambda i: (plan.loads[i], i))
    again = reassign(plan.teams, visits, directory, month, "plan-seed", [busiest], "sick-1")

    by_id = {i.inspector_id: i for i in directory}
    by_visit = {v.visit_id: v for v in visits}
    assert not again.unstaffed
    for visit_id, team in plan.teams.items():
        new = again.teams[visit_id]
        assert busiest not in new
        if busiest in team:
            assert set(team) - {busiest} <= set(new)  # everyone else kept his place
            assert len(set(new) - set(team)) == 1
        else:
            assert new == team
        assert team_violations([by_id[m] for m in new], by_visit[visit_id], month, set()) == []
    assert over_capacity(([by_id[m] for m in t] for t in again.teams.values()), month) == {}


def test_reassign_is_reproducible_from_seed_and_label(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01", capacity=3) for k in range(10)]
    visits = [make_visit(f"V{k}", mode=OfficeMode.ANY) for k in range(3)]
    plan = assign(visits, directory, month, "plan-seed")
    gone = plan.teams["V0"][0]

    def redo(label: str) -> dict[str, tuple[str, ...]]:
        return dict(
            reassign(plan.teams, visits, directory, month, "plan-seed", [gone], label).teams
        )

    assert redo("2026-12-07 sick leave") == redo("2026-12-07 sick leave")
    # 8 inspectors could replace him: different labels draw different replacements.
    assert len({redo(f"label-{k}")["V0"] for k in range(8)}) > 1


def test_reassign_that_cannot_complete_a_team_says_why(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01", capacity=1) for k in range(2)]
    directory.append(make_inspector("F1", dept="FIRE", unit="440115-01"))
    visits = [make_visit("V1", needs={"SAMR": (), "FIRE": ()}, size=3)]
    plan = assign(visits, directory, month, "s")
    assert set(plan.teams["V1"]) == {"S0", "S1", "F1"}
    again = reassign(plan.teams, visits, directory, month, "s", ["F1"], "transfer")
    assert again.teams == {}
    (gap,) = again.unstaffed
    assert gap.reason.startswith("re-assignment impossible: no FIRE inspector")
    assert again.loads == {}  # the dropped visit frees its remaining members


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 50))
def test_reassign_keeps_every_other_place_on_random_withdrawals(
    make_inspector: InspectorFactory,
    make_visit: VisitFactory,
    month: Month,
    seed: int,
    pick: int,
) -> None:
    directory, visits = city(make_inspector, make_visit)
    recusals = Recusals.build(conflicts=[("S440115-01-1", "C-V03"), ("F440115-01-0", "C-V04")])
    plan = assign(visits, directory, month, f"seed-{seed}", recusals)
    used = sorted(plan.loads)
    gone = used[pick % len(used)]
    again = reassign(
        plan.teams, visits, directory, month, f"seed-{seed}", [gone], f"l{pick}", recusals
    )
    by_id = {i.inspector_id: i for i in directory}
    by_visit = {v.visit_id: v for v in visits}
    barred = recusals.barred_pairs(month)
    dropped = {u.visit_id for u in again.unstaffed}
    for visit_id, team in plan.teams.items():
        if visit_id in dropped:
            assert gone in team
            continue
        new = again.teams[visit_id]
        assert set(team) - {gone} <= set(new) and gone not in new
        assert team_violations([by_id[m] for m in new], by_visit[visit_id], month, barred) == []
    assert over_capacity(([by_id[m] for m in t] for t in again.teams.values()), month) == {}


def test_reassign_with_nobody_withdrawn_changes_nothing(
    make_inspector: InspectorFactory, make_visit: VisitFactory, month: Month
) -> None:
    directory = [make_inspector(f"S{k}", unit="440115-01") for k in range(4)]
    visits = [make_visit("V1", mode=OfficeMode.ANY)]
    plan = assign(visits, directory, month, "s")
    idle = next(i.inspector_id for i in directory if i.inspector_id not in plan.teams["V1"])
    assert reassign(plan.teams, visits, directory, month, "s", [idle], "x").teams == plan.teams
