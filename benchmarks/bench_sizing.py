"""Benchmark: sizing a Guangzhou month's draw to the staff (issue 18), and the short-staffed
scenario.

1. Sizing. The synthetic city (`simulations.city`, generated once into
   benchmarks/cache/city-<scale>-<seed>/) is read into the frames' columns; each
   enterprise's class and problem probability come from the city's truth (`problem_prob`,
   classed by the published shares: the lowest 65 % A, then 25 % B, 8 % C, the rest D), as
   a stand-in for the risk model's scores. Timed: grouping the frames' units
   (`sizing_inputs`), and `size_draw` (rows, both passes of the MIP, the result), beside
   a bare limit measured in the same run: building the 12 frames alone (scope, filters,
   exclusions: what any sizing must do) plus SCIP's `Solve` alone on the final model,
   already built. Loading the CSV files is left out. Target: under 10 s.
2. Scenario (`--scenario`): the same city with a quarter of every inspector's capacity and
   a quarter of the inspectors (drawn by a fixed seed) on leave for half the month. The
   draw is sized with `--fit-capacity`'s kernel, the frames built with the sized λ, drawn
   (ie-draw-v1, a fixed seed), merged into visits and staffed by the existing team draw
   (`assignment.assign`) with the visit calendar of ie-teams-v2 (max_per_day 3). Printed:
   the share of visits staffed and scheduled, against the same month drawn with the
   tasks' own ratios.

    .venv/bin/python benchmarks/bench_sizing.py [--scale guangzhou] [--scenario]

The history is left empty (no exclusion for a recent inspection or the yearly cap: the
frames are somewhat larger than the month's real ones); exclusions for status and the
grace period apply.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inspect_engine.assignment import (  # noqa: E402
    DateRange,
    Inspector,
    Month,
    Visit,
    assign,
    department_needs,
    merge_office_mode,
    merge_team_size,
)
from inspect_engine.assignment.schedule import DEFAULT_MAX_VISITS_PER_DAY  # noqa: E402
from inspect_engine.sampling import protocol  # noqa: E402
from inspect_engine.sampling.frames import (  # noqa: E402
    Coded,
    EnterpriseColumns,
    ExclusionPolicy,
    InspectionHistory,
    ItemScope,
    TagSet,
    TaskFilters,
    TaskSpec,
    build_frame,
    frame_members,
)
from inspect_engine.sampling.sizing import build_model, size_draw  # noqa: E402
from inspect_engine.sampling.sizing_groups import sizing_inputs, staff_pools  # noqa: E402
from simulations.city import generate_city  # noqa: E402

CACHE = ROOT / "benchmarks" / "cache"
AS_OF = date(2026, 12, 1)
SHARES = (0.65, 0.25, 0.08)  # A, B, C; the rest D
DRAW_SEED = hashlib.sha256(b"bench_sizing draw").hexdigest()
LEAVE_SEED = 20261207


def city_folder(scale: str, seed: int) -> Path:
    folder = CACHE / f"city-{scale}-{seed}"
    if not (folder / "truth.csv").exists():
        print(f"generating the {scale} city into {folder} (once) ...", flush=True)
        generate_city(scale, seed, folder)
    return folder


def _split(cell: Any) -> list[str]:
    return [] if not isinstance(cell, str) or not cell else cell.split(";")


def _read(path: Path, names: Sequence[str]) -> dict[str, list[str]]:
    """The named columns of a CSV file, as text."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        at = [header.index(name) for name in names]
        columns: list[list[str]] = [[] for _ in names]
        for row in reader:
            for out, i in zip(columns, at, strict=True):
                out.append(row[i])
    return dict(zip(names, columns, strict=True))


def _rows(path: Path) -> list[SimpleNamespace]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [SimpleNamespace(**row) for row in csv.DictReader(handle)]


def load_columns(folder: Path) -> tuple[EnterpriseColumns, np.ndarray]:
    names = ["credit_code", "entity_type", "industry", "district", "unit", "registered_on"]
    raw = _read(folder / "enterprises.csv", [*names, "status", "licences"])
    truth = _read(folder / "truth.csv", ["credit_code", "problem_prob"])
    codes = np.array(raw["credit_code"], dtype="<U18")
    order = np.argsort(codes, kind="stable")
    codes = codes[order]
    known = np.array(truth["credit_code"], dtype="<U18")
    prob = np.zeros(codes.size)
    at = np.searchsorted(codes, known)
    prob[at] = np.array([float(x or 0) for x in truth["problem_prob"]])

    def column(name: str) -> np.ndarray:
        return np.asarray(raw[name], dtype=object)[order]

    ranked = np.argsort(prob, kind="stable")
    classes = np.full(prob.size, "D", dtype="<U1")
    cuts = np.cumsum([int(s * prob.size) for s in SHARES])
    classes[ranked[: cuts[0]]] = "A"
    classes[ranked[cuts[0] : cuts[1]]] = "B"
    classes[ranked[cuts[1] : cuts[2]]] = "C"
    columns = EnterpriseColumns(
        credit_code=codes,
        status=Coded.encode(column("status").astype(str)),
        entity_type=Coded.encode(column("entity_type").astype(str)),
        industry=Coded.encode(column("industry").astype(str)),
        district=Coded.encode(column("district").astype(str)),
        unit=Coded.encode(column("unit").astype(str)),
        registered_on=column("registered_on").astype("datetime64[D]"),
        licences=TagSet.from_cells(column("licences").tolist()),
        risk_class=classes,
        history=InspectionHistory(AS_OF.year, np.zeros(codes.size, np.int32), {}),
    )
    return columns, prob


def load_tasks(folder: Path, columns: EnterpriseColumns) -> list[TaskSpec]:
    items = {
        row.item_code: ItemScope(
            row.item_code,
            row.department,
            row.kind,
            _split(row.entity_types),
            _split(row.industries),
            _split(row.licences),
            row.qualification or None,
            int(row.min_inspectors or 2),
        )
        for row in _rows(folder / "items.csv")
    }
    specs = []
    for row in _rows(folder / "tasks.csv"):
        filters = TaskFilters(
            _split(row.entity_types), _split(row.industries), _split(row.districts),
            _split(row.licences),
        )  # fmt: skip
        specs.append(
            TaskSpec(
                row.task_code,
                row.title,
                [items[i] for i in _split(row.items)],
                {c: getattr(row, f"ratio_{c}") for c in "ABCD"},
                row.floor,
                row.targeted == "true",
                filters,
                row.mode,
                int(row.team_size),
            )
        )
    departments = {i.department for s in specs for i in s.items}
    never = np.full(len(columns), np.datetime64("NaT"), dtype="datetime64[D]")
    history = InspectionHistory(AS_OF.year, columns.history.inspections_this_year,
                                {d: never for d in departments})  # fmt: skip
    object.__setattr__(columns, "history", history)
    return specs


def load_inspectors(folder: Path) -> list[Inspector]:
    leave: dict[str, list[DateRange]] = {}
    for row in _rows(folder / "leave.csv"):
        leave.setdefault(row.inspector_id, []).append(
            DateRange(date.fromisoformat(row.starts_on), date.fromisoformat(row.ends_on))
        )
    return [
        Inspector(
            row.inspector_id,
            row.department,
            row.unit,
            row.district,
            frozenset(_split(row.qualifications)),
            date.fromisoformat(row.certificate_expires),
            int(row.monthly_capacity),
            row.lead == "true",
            row.active != "false",
            tuple(leave.get(row.inspector_id, ())),
        )
        for row in _rows(folder / "inspectors.csv")
    ]


def short_staffed(inspectors: list[Inspector], month: Month) -> list[Inspector]:
    """A quarter of the capacity; a quarter of the inspectors (seeded) on leave for the
    first or the second half of the month."""
    rng = np.random.default_rng(LEAVE_SEED)
    away = rng.random(len(inspectors)) < 0.25
    half = month.first_day + timedelta(days=14)
    out = []
    for k, inspector in enumerate(inspectors):
        leave = inspector.leave
        if away[k]:
            first = k % 2 == 0
            span = (
                DateRange(month.first_day, half)
                if first
                else DateRange(half + timedelta(days=1), month.last_day)
            )
            leave = (*leave, span)
        capacity = (inspector.monthly_capacity + 2) // 4  # a quarter, rounded
        out.append(replace(inspector, monthly_capacity=capacity, leave=leave))
    return out


def timed(work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def bench_sizing(columns: EnterpriseColumns, prob: np.ndarray, specs: list[TaskSpec],
                 inspectors: list[Inspector], month: Month) -> dict[str, float]:  # fmt: skip
    policy = ExclusionPolicy()
    (tasks, groups), grouping = timed(lambda: sizing_inputs(columns, specs, policy, AS_OF, prob))
    pools = staff_pools(inspectors, month)
    sized, sizing = timed(lambda: size_draw(tasks, groups, pools))
    model = build_model(tasks, groups, pools)
    _, solve = timed(model.Solve)
    # the least any sizing must do: build the frames (scope, filters, exclusions) and
    # solve the final model once
    _, frames = timed(lambda: [frame_members(columns, spec, policy, AS_OF) for spec in specs])
    bare = frames + solve
    units = sum(g.units for g in groups)
    size = f"{model.NumVariables():,} variables, {model.NumConstraints():,} constraints"
    print(f"frames' units {units:,} in {len(groups):,} groups; {len(tasks)} tasks;"
          f" {len(pools)} staff pools; {len(sized.loads)} capacity rows; model {size}")  # fmt: skip
    print(f"grouping the units        {grouping:6.2f} s")
    print(f"size_draw (two passes)    {sizing:6.2f} s")
    print(f"bare: the frames alone    {frames:6.2f} s; SCIP Solve alone {solve:.3f} s")
    total = grouping + sizing
    print(f"sizing total              {total:6.2f} s (target < 10 s); bare {bare:.2f} s,"
          f" ratio {total / max(bare, 1e-9):.1f}x")  # fmt: skip
    print(f"expected visits {sized.expected_visits:,.0f}; sizes {sum(sized.sizes.values()):,}")
    return {"seconds": total, "bare_seconds": bare, "groups": len(groups), "units": units}


def merged_visits(
    specs: list[TaskSpec], columns: EnterpriseColumns, selections: dict[str, np.ndarray]
) -> list[Visit]:
    """One visit per selected enterprise, as the draw merges them (every selecting task's
    items that apply)."""
    from inspect_engine.sampling.frames import item_applies

    per_row: dict[int, list[int]] = {}
    for k, spec in enumerate(specs):
        for row in selections[spec.task_code].tolist():
            per_row.setdefault(row, []).append(k)
    visits = []
    rows = np.array(sorted(per_row), dtype=np.intp)
    applies = {
        i.item_code: dict(zip(rows.tolist(), item_applies(columns, i, rows).tolist(), strict=True))
        for s in specs
        for i in s.items
    }
    for number, row in enumerate(rows.tolist()):
        chosen = [specs[k] for k in per_row[row]]
        items = [i for s in chosen for i in s.items if applies[i.item_code][row]]
        needs = department_needs((i.department, i.qualification) for i in items)
        visits.append(
            Visit(
                visit_id=f"2026-12-{number:06d}",
                credit_code=str(columns.credit_code[row]),
                unit=columns.unit.value(row),
                district=columns.district.value(row),
                needs=needs,
                mode=merge_office_mode(str(s.mode) for s in chosen),
                team_size=merge_team_size(
                    [s.team_size for s in chosen], [i.min_inspectors for i in items], len(needs)
                ),
            )
        )
    return visits


def staffed_share(
    specs: list[TaskSpec], columns: EnterpriseColumns, inspectors: list[Inspector], month: Month
) -> tuple[int, int, int, float]:
    policy = ExclusionPolicy()
    selections = {}
    for spec in specs:
        frame = build_frame(columns, spec, policy, AS_OF)
        drawn = protocol.draw_frame(frame.codes(), frame.lambda_texts(), DRAW_SEED)
        selections[spec.task_code] = frame.rows[np.flatnonzero(drawn.mask)]
    visits = merged_visits(specs, columns, selections)
    # the team draw and the visit calendar of ie-teams-v2 (a day for every team, at most
    # DEFAULT_MAX_VISITS_PER_DAY visits per inspector-day)
    result, seconds = timed(
        lambda: assign(visits, inspectors, month, DRAW_SEED, max_per_day=DEFAULT_MAX_VISITS_PER_DAY)
    )
    return len(visits), len(result.teams), len(result.days), seconds


def scenario(columns: EnterpriseColumns, prob: np.ndarray, specs: list[TaskSpec],
             inspectors: list[Inspector], month: Month) -> dict[str, dict[str, float]]:  # fmt: skip
    short = short_staffed(inspectors, month)
    pools = staff_pools(short, month)
    (tasks, groups), grouping = timed(
        lambda: sizing_inputs(columns, specs, ExclusionPolicy(), AS_OF, prob)
    )
    sized, sizing = timed(lambda: size_draw(tasks, groups, pools))
    rounds = sum(1 for row in sized.loads if row["load"] >= 0.99 * row["capacity"] > 0)
    print(f"short-staffed sizing: grouping {grouping:.2f} s + size_draw {sizing:.2f} s;"
          f" {rounds} capacity rows at 99 % or more")  # fmt: skip
    fitted = [
        replace(s, ratios=dict(zip("ABCD", [float(protocol.format_lambda(v)) for v in
                                             sized.lambdas[s.task_code]], strict=True)))
        for s in specs
    ]  # fmt: skip
    print(f"short-staffed: capacity {sum(p.visits for p in pools):,.0f} inspector-visits"
          f" after leave; sized expected visits {sized.expected_visits:,.0f}")  # fmt: skip
    out = {}
    for label, month_specs in (("--fit-capacity", fitted), ("tasks' own ratios", specs)):
        visits, staffed, scheduled, seconds = staffed_share(month_specs, columns, short, month)
        out[label] = {"visits": visits, "staffed": staffed, "scheduled": scheduled,
                      "seconds": seconds}  # fmt: skip
        print(f"{label:<18} visits {visits:>7,}  staffed {staffed:>7,}"
              f"  scheduled {scheduled:>7,}  share {scheduled / max(visits, 1):6.1%}"
              f"  (teams and days {seconds:.1f} s)")  # fmt: skip
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="guangzhou")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", action="store_true", help="also the short-staffed month")
    parser.add_argument("--json", action="store_true", help="end with the figures as JSON")
    args = parser.parse_args()
    folder = city_folder(args.scale, args.seed)
    started = time.perf_counter()
    columns, prob = load_columns(folder)
    specs = load_tasks(folder, columns)
    inspectors = load_inspectors(folder)
    month = Month.of(2026, 12)
    loaded = time.perf_counter() - started
    print(f"city {args.scale}-{args.seed}: {len(columns):,} enterprises, {len(specs)} tasks,"
          f" {len(inspectors):,} inspectors (loaded in {loaded:.1f} s)")  # fmt: skip
    figures: dict[str, Any] = {"sizing": bench_sizing(columns, prob, specs, inspectors, month)}
    if args.scenario:
        figures["scenario"] = scenario(columns, prob, specs, inspectors, month)
    if args.json:
        print(json.dumps(figures))  # the last line: read by benchmarks.run


if __name__ == "__main__":
    main()
