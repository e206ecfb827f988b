"""The sizing kernel: bounds, monotone λ, whole n, capacity, refusal, joint, cross_office
and qualification cases, the objective against enumeration, and the coordinated-visit
margin against simulated Pareto draws."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from inspect_engine.sampling import protocol
from inspect_engine.sampling.sizing import (
    Need,
    Reserved,
    SizingRefused,
    SizingTask,
    StaffPool,
    UnitGroup,
    check,
    size_draw,
    task_bounds,
)

NONE: frozenset[str] = frozenset()


def one_task(units=(40, 30, 20, 10), problems=(0.4, 0.9, 2.0, 3.0), ratios=(0.05, 0.1, 0.3, 0.6),
             floor=0.01, min_ratio=None, code="T"):  # fmt: skip
    return SizingTask(code, units, problems, ratios, floor, min_ratio)


def groups_of(task_index: int, units, offices=("o1", "o2"), team=2, dept="S", quals=NONE,
              mode="cross_office"):  # fmt: skip
    """The task's units split evenly over the offices, one group per class and office."""
    out = []
    for c, count in enumerate(units):
        for k, office in enumerate(offices):
            share = count // len(offices) + (1 if k < count % len(offices) else 0)
            if share:
                out.append(
                    UnitGroup(share, c, (task_index,), office, "d1", mode, team,
                              (Need(dept, quals, (task_index,)),))
                )  # fmt: skip
    return out


def staff(per_office: float, offices=("o1", "o2"), dept="S", quals=NONE):
    return [StaffPool(dept, o, "d1", quals, per_office) for o in offices]


def loads_ok(sizing) -> bool:
    return all(row["load"] <= row["capacity"] + 1e-6 for row in sizing.loads)


def test_bounds_monotone_whole_n_and_capacity() -> None:
    task = one_task(min_ratio=0.02)
    sizing = size_draw([task], groups_of(0, task.units), staff(20.0))
    lam = sizing.lambdas["T"]
    upper, _, _ = task_bounds(task)
    assert all(0.02 - 1e-9 <= v <= u + 1e-9 for v, u in zip(lam, upper, strict=True))
    assert list(lam) == sorted(lam)
    n = sum(u * v for u, v in zip(task.units, lam, strict=True))
    assert abs(n - round(n)) < 1e-6 and round(n) == sizing.sizes["T"] >= 1
    assert loads_ok(sizing)
    # the department row binds: 2 × n ≤ 0.9 × 40
    assert 2 * n <= 0.9 * 40 + 1e-6


def test_plenty_of_staff_gives_the_ratios() -> None:
    task = one_task()
    sizing = size_draw([task], groups_of(0, task.units), staff(1000.0))
    upper, _, _ = task_bounds(task)
    assert sizing.lambdas["T"] == pytest.approx(upper, abs=1e-7)


def test_the_ratios_cap_unless_a_whole_n_needs_more() -> None:
    # 5 units at 0.05 ask for 0.25 of a unit: a whole n ≥ 1 needs λ = 0.2
    task = one_task(units=(5, 0, 0, 0), ratios=(0.05, 0.05, 0.05, 0.05))
    sizing = size_draw([task], groups_of(0, task.units), staff(100.0))
    assert sizing.sizes["T"] == 1 and sizing.lambdas["T"][0] == pytest.approx(0.2)


def test_mandated_minimums_that_do_not_fit_name_the_department_and_office() -> None:
    task = one_task(min_ratio=0.3, ratios=(0.3, 0.3, 0.3, 0.6))
    with pytest.raises(SizingRefused) as refused:
        size_draw([task], groups_of(0, task.units, offices=("o1", "o2")), staff(5.0))
    # minimum: n = 30 visits × 2 = 60 inspector-visits; capacity 0.9 × 10 = 9: short by 51
    total = next(s for s in refused.value.shortfalls if s["kind"] == "department")
    assert total["department"] == "S" and total["shortfall"] == pytest.approx(51.0, abs=1e-6)
    assert "department S" in str(refused.value)


def test_an_office_short_of_other_offices_staff_is_named() -> None:
    # all units are office o1's and all staff sits in o1: cross_office has nobody
    task = one_task()
    groups = groups_of(0, task.units, offices=("o1",))
    pools = [StaffPool("S", "o1", "d1", NONE, 500.0), StaffPool("S", "o2", "d1", NONE, 1.0)]
    with pytest.raises(SizingRefused) as refused:
        size_draw([task], groups, pools)
    named = {(s["kind"], s["office"]) for s in refused.value.shortfalls}
    assert ("office", "o1") in named
    # the same units in local mode are served by their own district
    local = groups_of(0, task.units, offices=("o1",), mode="local")
    assert loads_ok(size_draw([task], local, pools))


def test_a_qualification_task_draws_only_on_holders() -> None:
    task = one_task()
    groups = groups_of(0, task.units, quals=frozenset({"boiler"}))
    holders = staff(5.0, quals=frozenset({"boiler"}))
    others = staff(500.0)
    sized = size_draw([task], groups, holders + others)
    n = sum(u * v for u, v in zip(task.units, sized.lambdas["T"], strict=True))
    assert 2 * n <= 0.9 * 10 + 1e-6  # only the 10 holders' visits count
    row = next(
        r for r in sized.loads if r["qualifications"] == ["boiler"] and r["kind"] == "department"
    )
    assert row["capacity"] == pytest.approx(9.0)


def test_a_joint_task_draws_on_each_department() -> None:
    # team of 3 from S and F, at least one each; F has room for 10 × 0.9 places
    task = one_task()
    groups = [
        UnitGroup(u, c, (0,), "o1", "d1", "any", 3, (Need("F", NONE, (0,)), Need("S", NONE, (0,))))
        for c, u in enumerate(task.units)
    ]
    pools = [StaffPool("S", "o1", "d1", NONE, 1000.0), StaffPool("F", "o1", "d1", NONE, 10.0)]
    sized = size_draw([task], groups, pools)
    n = sum(u * v for u, v in zip(task.units, sized.lambdas["T"], strict=True))
    # F holds its own place and, at most, the spare third one: 2 places per visit
    assert n == pytest.approx(4.0, abs=1e-6)
    f_row = next(r for r in sized.loads if r["department"] == "F")
    assert f_row["load"] == pytest.approx(8.0, abs=1e-3) and f_row["capacity"] == 9.0
    s_row = next(r for r in sized.loads if r["department"] == "S")
    assert s_row["load"] == pytest.approx(8.0, abs=1e-3)
    assert loads_ok(sized)


def test_reserved_visits_take_their_places_first() -> None:
    task = one_task()
    groups = groups_of(0, task.units)
    free = size_draw([task], groups, staff(20.0))
    reserved = [Reserved("S", "o1", "d1", "cross_office", 10.0)]
    held = size_draw([task], groups, staff(20.0), reserved)
    assert held.sizes["T"] < free.sizes["T"]
    assert loads_ok(held)


def test_check_reports_an_overflow_of_given_lambdas() -> None:
    task = one_task()
    upper, _, _ = task_bounds(task)
    over = check([task], groups_of(0, task.units), staff(2.0), [upper])
    assert over and over[0]["department"] == "S"
    assert not check([task], groups_of(0, task.units), staff(500.0), [upper])


def test_the_objective_against_enumeration() -> None:
    """Two classes, one task, cross_office over two offices: enumerate λ on a grid that
    holds every whole n, check each candidate's loads by hand, and keep the best."""
    units = (10, 0, 10, 0)
    problems = (1.0, 0.0, 6.0, 0.0)
    task = SizingTask("T", units, problems, (0.2, 0.2, 0.5, 0.5), 0.05)
    groups = groups_of(0, units)
    pools = [StaffPool("S", "o1", "d1", NONE, 4.0), StaffPool("S", "o2", "d1", NONE, 6.0)]
    sized = size_draw([task], groups, pools)
    got = sum(p * v for p, v in zip(problems, sized.lambdas["T"], strict=True))
    best = -1.0
    grid = [k / 200 for k in range(10, 101)]  # λ from 0.05 to 0.5 by 0.005
    for a, c in itertools.product(grid, grid):
        if a > 0.2 + 1e-12 or a > c:
            continue
        n = 10 * a + 10 * c
        if abs(n - round(n)) > 1e-9 or round(n) < 1:
            continue
        # office o1's enterprises (5 per class) are visited by o2's staff and vice versa
        per_office = 2 * (5 * a + 5 * c)
        if 2 * n > 0.9 * 10 + 1e-9 or per_office > 0.9 * 4 + 1e-9:
            continue
        best = max(best, a * 1.0 + c * 6.0)
    assert best > 0
    assert got == pytest.approx(best, abs=1e-6)


@pytest.mark.parametrize(("size", "lam"), [(10, 0.2), (40, 0.1)])
def test_the_coordinated_visit_margin_covers_simulated_draws(size: int, lam: float) -> None:
    """Two frames of `size` units at λ sharing one unit, drawn with one PRN per unit: the
    model's visit probability is at least the simulated one, and not far above it."""
    tasks = [
        SizingTask(f"T{k}", (size, 0, 0, 0), (1.0, 0, 0, 0), (lam,) * 4, 0.001) for k in (0, 1)
    ]
    shared = UnitGroup(1, 0, (0, 1), "o1", "d1", "any", 2, (Need("S", NONE, (0, 1)),))
    alone = [
        UnitGroup(size - 1, 0, (k,), "o1", "d1", "any", 2, (Need("S", NONE, (k,)),)) for k in (0, 1)
    ]
    sized = size_draw(tasks, [shared, *alone], [StaffPool("S", "o1", "d1", NONE, 1e6)])
    model_visits = sized.expected_visits - sum(
        g.units * sized.lambdas[f"T{g.tasks[0]}"][0] for g in alone
    )
    rng = np.random.default_rng(20261207)
    codes = [f"{i:018d}" for i in range(2 * size - 1)]  # unit 0 is in both frames
    first, second = codes[:size], [codes[0], *codes[size:]]
    hits, reps = 0, 8000
    lams = np.full(size, lam)
    for _ in range(reps):
        u = dict(zip(codes, rng.random(len(codes)).tolist(), strict=True))
        a = protocol.pareto_select(first, lams, np.array([u[c] for c in first]))
        b = protocol.pareto_select(second, lams, np.array([u[c] for c in second]))
        hits += bool(a[0] or b[0])
    simulated = hits / reps
    error = 3 * math.sqrt(simulated * (1 - simulated) / reps)
    assert model_visits >= simulated - error
    assert model_visits <= 1.25 * simulated
    assert model_visits > lam  # not the largest λ
