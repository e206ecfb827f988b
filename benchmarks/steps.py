"""One step of `make bench`, run in its own process so that its peak memory is its own.

    .venv/bin/python -m benchmarks.steps STEP --backend sqlite|postgresql --city DIR [...]

STEP is one of: import, import-1m, score, rescore, month-one, month-two, draw-one. Each times the
workflow the CLI calls, then (outside the timed part) its bare limit on the same data, and
prints progress lines followed by one JSON line: {"rows": [...]}. `benchmarks.run` starts
these and prints the table; the database states they read and write are in common.States.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from benchmarks.common import (
    CACHE,
    States,
    load_average,
    peak_since_reset_mib,
    reset_peak,
    transaction,
)

MONTH = "2026-12"
AS_OF = date(2026, 12, 1)  # `score --as-of`: the first day of the planned month
CONTRIBUTION = "bench: 2026-12 public lottery 07 19 23 31 42 + 05"
# Import order of the CLI (demo.sh): directories first, then what refers to them.
IMPORT_ORDER = (
    "items",
    "enterprises",
    "inspectors",
    "inspections",
    "penalties",
    "complaints",
    "annual-reports",
    "lists",
    "leave",
    "conflicts",
)
ONE_TASK = "2026-12-ALL-REG"
# SAMR-REG-01 has no scope: it applies to every enterprise, so this task's frame is the
# whole active directory. Ratios as a city would set them for a registration check.
ONE_TASK_CSV = (
    "task_code,title,items,targeted,ratio_A,ratio_B,ratio_C,ratio_D,floor,mode,team_size\n"
    f"{ONE_TASK},2026年12月市场主体登记事项全域抽查,SAMR-REG-01,false,"
    "0.002,0.005,0.02,0.1,0.002,cross_office,2\n"
)
VERIFY = Path(__file__).resolve().parents[1] / "inspect_engine" / "verify.py"


@dataclass
class Row:
    """One line of the table: a measured step beside its bare limit."""

    step: str
    seconds: float
    bare: str = ""  # what the bare limit is
    bare_seconds: float | None = None
    peak_mib: float = 0.0  # peak resident memory of this step (this process only)
    load: float = 0.0  # one-minute load average when the step ended
    target_seconds: float | None = None
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def _say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def _measure(label: str) -> Iterator[dict[str, float]]:
    """Seconds and peak memory of the block, in the returned dict once it ends."""
    out: dict[str, float] = {}
    reset_peak()
    started = time.perf_counter()
    yield out
    out["seconds"] = time.perf_counter() - started
    out["peak_mib"] = peak_since_reset_mib()
    out["load"] = load_average()
    _say(f"{label}: {out['seconds']:.1f} s, peak {out['peak_mib']:.0f} MiB, load {out['load']:.1f}")


def _bare(label: str, work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    _say(f"  bare {label}: {seconds:.2f} s")
    return seconds


def _csv_parse_seconds(path: Path) -> float:
    """The floor of any import: reading the file with the csv module and nothing else."""
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as f:
        for _ in csv.reader(f):
            pass
    return time.perf_counter() - started


def _city_file(city: Path, kind: str) -> Path:
    return city / f"{kind.replace('-', '_')}.csv"


# --------------------------------------------------------------------------- import


def step_import(states: States, city: Path) -> list[Row]:
    """Every file of the city through import_file, one transaction per file (the CLI's
    path), into a new database that becomes the "imported" state when all succeed."""
    from inspect_engine.workflows.imports import import_file
    from models.db import make_engine
    from models.migrate import upgrade

    url = states.create_empty("importing")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    per_file: dict[str, dict[str, float]] = {}
    for kind in IMPORT_ORDER:
        path = _city_file(city, kind)
        with _measure(f"import {kind}") as m, transaction(url) as session:
            report = import_file(session, kind, path)
        per_file[kind] = {**m, "rows": report.rows, "bare": _csv_parse_seconds(path)}
    states.rename("importing", "imported")
    groups = {
        "enterprises": ("enterprises",),
        "history": ("inspections", "penalties", "complaints", "annual-reports", "lists"),
        "inspectors, items, leave, conflicts": ("inspectors", "items", "leave", "conflicts"),
    }
    rows = []
    for name, kinds in groups.items():
        parts = [per_file[k] for k in kinds]
        count = int(sum(p["rows"] for p in parts))
        rows.append(
            Row(
                f"import {name} ({count:,} rows)",
                sum(p["seconds"] for p in parts),
                "csv parse",
                sum(p["bare"] for p in parts),
                max(p["peak_mib"] for p in parts),
                max(p["load"] for p in parts),
                detail={k: per_file[k] for k in kinds},
            )
        )
    return rows


def step_import_1m(states: States) -> list[Row]:
    """issue 2's figure: 1,000,000 enterprises (bench_import's file) into an empty database."""
    from benchmarks.bench_import import write_enterprises
    from inspect_engine.workflows.imports import import_file
    from models.db import make_engine
    from models.migrate import upgrade

    path = CACHE / "enterprises-1000000.csv"
    if not path.exists():
        write_enterprises(path, 1_000_000)
    url = states.create_empty("import1m")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    with _measure("import 1,000,000 enterprises") as m, transaction(url) as session:
        import_file(session, "enterprises", path)
    states.drop("import1m")
    return [
        Row(
            "import 1,000,000 enterprises (empty database)",
            m["seconds"],
            "csv parse",
            _csv_parse_seconds(path),
            m["peak_mib"],
            m["load"],
            target_seconds=60,
        )
    ]


# --------------------------------------------------------------------------- score


def step_score(states: States, source: str) -> list[Row]:
    """`score --as-of` twice: first training the model, then with the model reused (the
    monthly re-scoring). The database becomes the "scored" state."""
    from inspect_engine.workflows.scoring import score_city

    url = states.copy(source, "scoring")
    with _measure("score (train + class)") as trained, transaction(url) as session:
        first = score_city(session, AS_OF)
    with _measure("score (model reused)") as reused, transaction(url) as session:
        again = score_city(session, AS_OF)
    bare = _predict_proba_seconds(url)
    states.rename("scoring", "scored")
    classes = ", ".join(f"{k} {v:,}" for k, v in again.classes.items())
    return [
        Row(
            f"score --as-of {AS_OF}: train ({first.kind}) + class {first.scored:,}",
            trained["seconds"],
            "predict_proba",
            bare,
            trained["peak_mib"],
            trained["load"],
        ),
        Row(
            f"score --as-of {AS_OF}: model reused, class {again.scored:,}",
            reused["seconds"],
            "predict_proba",
            bare,
            reused["peak_mib"],
            reused["load"],
            target_seconds=180,
            note=classes,
        ),
    ]


def step_rescore(states: States) -> list[Row]:
    """`score --as-of` again on a copy of the "scored" state: the model is reused, the
    city's scores are rewritten (the monthly re-scoring alone, measured again cheaply)."""
    from inspect_engine.workflows.scoring import score_city

    url = states.copy("scored", "rescoring")
    with _measure("score (model reused)") as reused, transaction(url) as session:
        again = score_city(session, AS_OF)
    bare = _predict_proba_seconds(url)
    states.drop("rescoring")
    return [
        Row(
            f"score --as-of {AS_OF}: model reused, class {again.scored:,}",
            reused["seconds"],
            "predict_proba",
            bare,
            reused["peak_mib"],
            reused["load"],
            target_seconds=180,
            note=", ".join(f"{k} {v:,}" for k, v in again.classes.items()),
        )
    ]


def _predict_proba_seconds(url: str) -> float:
    """The model's predict_proba on the matrix scoring builds (active enterprises, features
    as of the scoring day): the floor for scoring the city with this model."""
    from inspect_engine.risk.features import build_features
    from inspect_engine.risk.pipeline import RiskModelArtifact
    from inspect_engine.workflows.risk_data import load_risk_data
    from models import ModelVersion

    with transaction(url) as session:
        data = load_risk_data(session)
        blob = session.scalars(
            select(ModelVersion.artefact).order_by(ModelVersion.id.desc()).limit(1)
        ).one()
    artifact = RiskModelArtifact.from_bytes(blob)
    rows = np.flatnonzero(data.active)
    X = build_features(artifact.spec, data.enterprises, data.history, rows, np.datetime64(AS_OF))
    return _bare("predict_proba", lambda: artifact.model.predict_proba(X))


# --------------------------------------------------------------------------- the month


class _StepClock:
    """The month_run progress callback: seconds and peak memory of each step."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.started = 0.0
        self.steps: dict[str, dict[str, float]] = {}

    def __call__(self, name: str, index: int, total: int) -> None:
        now = time.perf_counter()
        if self.current is not None:
            self.steps[self.current] = {
                "seconds": now - self.started,
                "peak_mib": peak_since_reset_mib(),
                "load": load_average(),
            }
            _say(f"  {self.current}: {now - self.started:.1f} s")
        reset_peak()
        self.current = None if name == "done" else name
        self.started = now


def _policy() -> Any:
    from inspect_engine.sampling.frames import ExclusionPolicy
    from inspect_engine.settings import Settings

    defaults = Settings.model_fields
    return ExclusionPolicy(
        recent_window_days=defaults["recent_window_days"].default,
        yearly_cap=defaults["yearly_cap"].default,
        grace_days=defaults["grace_days"].default,
    )


def _transactions(url: str) -> Callable[[], Any]:
    return lambda: transaction(url)


def scaled_tasks(city: Path, factor: float) -> Path:
    """The city's tasks.csv with every ratio and floor multiplied by `factor`.

    The generator sets the ratios for 20,000 visits under a nominal class mix, but the
    exclusions (recently inspected, yearly cap, grace period) and the merging of tasks into
    visits leave about 8,000 visits; the scaled tasks bring the month to the design load."""
    source = city / "tasks.csv"
    if factor == 1:
        return source
    target = city.parent / f"{city.name}-tasks-x{factor:g}.csv"
    with source.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    scale = Decimal(str(factor))
    for row in rows:
        for name in ("ratio_A", "ratio_B", "ratio_C", "ratio_D", "floor"):
            if row.get(name):
                value = min(Decimal(row[name]) * scale, Decimal("0.99"))
                row[name] = format(value.quantize(Decimal("1e-9")).normalize(), "f")
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return target


def _as_the_code_leaves_it(url: str) -> float:
    """A cached state brought to this code's schema, with the snapshots the enterprise
    import and the scoring leave behind (states cached by older code have none): seconds
    they took, which the import and the scoring pay, not the month."""
    from inspect_engine.workflows.columns import (
        refresh_class_snapshot,
        refresh_directory_snapshot,
    )
    from models.db import make_engine
    from models.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    started = time.perf_counter()
    with transaction(url) as session:
        refresh_directory_snapshot(session)
        refresh_class_snapshot(session)  # what scoring leaves behind
    return time.perf_counter() - started


def step_month_one(states: States, city: Path, source: str, tasks_scale: float) -> list[Row]:
    """`month run --tasks --fit-capacity`: score → plan (sized to the staff) → freeze, on a
    copy of `source` ("imported": the model is trained as in a new month; "scored": the
    month's model already exists)."""
    from inspect_engine.workflows.month_run import run_phase_one

    tasks = scaled_tasks(city, tasks_scale)
    url = states.copy(source, "month")
    _say(f"  directory snapshot (the import's work): {_as_the_code_leaves_it(url):.1f} s")
    clock = _StepClock()
    with _measure("month run, phase one") as m:
        one = run_phase_one(
            _transactions(url), MONTH, tasks, _policy(), progress=clock, fit_capacity=True
        )
    bare_predict = _predict_proba_seconds(url)
    bare_select = _directory_select_seconds(url)
    steps = clock.steps
    peak = max(s["peak_mib"] for s in steps.values())  # the clock restarts the peak per step
    units = sum(f.units for f in one.freeze.frames)
    trained = one.score is not None and one.score.trained
    return [
        Row(
            f"month run phase one (score, plan, freeze; tasks' ratios x{tasks_scale:g})",
            m["seconds"],
            "predict_proba + SELECT",
            bare_predict + bare_select,
            peak,
            m["load"],
        ),
        _sub(
            f"  score ({'model trained' if trained else 'model reused'})",
            steps["score"],
            "predict_proba",
            bare_predict,
        ),
        _sub("  plan (--fit-capacity: sized to the staff)", steps["plan"], "", None),
        _sub(
            f"  freeze ({len(one.freeze.frames)} frames, {units:,} units)",
            steps["freeze"],
            "SELECT directory",
            bare_select,
        ),
    ]


def _sub(label: str, measured: dict[str, float], bare: str, bare_seconds: float | None) -> Row:
    return Row(
        label,
        measured["seconds"],
        bare,
        bare_seconds,
        measured["peak_mib"],
        measured["load"],
    )


def step_month_two(states: States) -> list[Row]:
    """`month run --contribution --dir`: draw → assign → export on the "month" state."""
    from inspect_engine.workflows.month_run import run_phase_two

    url = states.url("month")
    out = CACHE / "out" / f"{states.city}-{states.backend}"
    clock = _StepClock()
    with _measure("month run, phase two") as m:
        two = run_phase_two(
            _transactions(url), MONTH, CONTRIBUTION, out, recusal_window_days=365, progress=clock
        )
    bare_pareto = _pareto_seconds(url, MONTH)
    bare_flow, arcs = _min_cost_flow_seconds(url, MONTH)
    bare_export = _export_select_seconds(url, MONTH)
    bare_calendar = _calendar_bare_seconds(url, MONTH)
    steps = clock.steps
    peak = max(s["peak_mib"] for s in steps.values())
    summary = two.draw.summary
    assigned = two.assign
    return [
        Row(
            "month run phase two (draw, assign, export)",
            m["seconds"],
            "pareto + flow + SELECT",
            bare_pareto + bare_flow + bare_export,
            peak,
            m["load"],
        ),
        _sub(
            f"  draw ({summary.get('selections', 0):,} selections, {two.draw.visits:,} visits)",
            steps["draw"],
            "pareto_select",
            bare_pareto,
        ),
        _sub(
            f"  assign ({assigned.staffed:,} of {assigned.visits:,} staffed, {arcs:,} arcs)",
            steps["assign"],
            "min-cost flow",
            bare_flow,
        ),
        _sub(
            f"    of which the calendar ({assigned.fairness.get('day_swaps', 0):,} members "
            "replaced for a day)",
            {**steps["assign"], "seconds": float(assigned.calendar_seconds or 0)},
            "day keys + bare pick",
            bare_calendar,
        ),
        _sub(
            f"  export ({len(two.export.records)} records, {two.export.visits:,} visits)",
            steps["export"],
            "SELECT same rows",
            bare_export,
        ),
    ]


def _pareto_seconds(url: str, month: str) -> float:
    """ie-draw-v1's Pareto πps kernel alone on the plan's frozen frames (PRNs given)."""
    from inspect_engine.sampling import protocol
    from inspect_engine.workflows.planning import frame_lines, get_plan, plan_frames

    with transaction(url) as session:
        plan = get_plan(session, month)
        seed = plan.seed or "0" * 64
        frames = [frame_lines(f) for f in plan_frames(session, plan)]
    inputs = [
        (codes, protocol.parse_lambdas(lambdas), protocol.prn(seed, codes))
        for codes, lambdas in frames
    ]

    def select_all() -> None:
        for codes, lam, u in inputs:
            protocol.pareto_select(codes, lam, u)

    return _bare("pareto_select", select_all)


def _calendar_bare_seconds(url: str, month: str) -> float:
    """The calendar's bare limit on the month's stored teams (bench_calendar.bare_days):
    the day keys, and each team's first common duty day by key, no cap, no grouping."""
    from benchmarks.bench_calendar import bare_days
    from inspect_engine.assignment.staffing import merge_visits
    from inspect_engine.workflows import staffing
    from inspect_engine.workflows.planning import get_plan

    with transaction(url) as session:
        plan = get_plan(session, month)
        snapshot = staffing.load_snapshot(session, plan)
        selections = staffing.plan_selections(session, plan)
        seed = staffing.team_seed_of(plan, snapshot.protocol)
        teams = staffing.current_teams(session, plan)
    visits = [v.spec() for v in merge_visits(snapshot, selections)]
    hashed, pick = bare_days(seed, teams, visits, snapshot.inspectors(), snapshot.month())
    _say(f"  bare calendar: day keys {hashed:.2f} s + pick {pick:.2f} s")
    return hashed + pick


def _min_cost_flow_seconds(url: str, month: str) -> tuple[float, int]:
    """A plain source → inspector → visit min-cost flow on the same eligible pairs as the
    month's assignment (bench_assign's bare limit, on the visits and inspectors stored)."""
    from benchmarks.bench_assign import bare_flow
    from inspect_engine.assignment.eligibility import InspectorTable, candidates
    from inspect_engine.assignment.optimiser import _barred_index
    from inspect_engine.assignment.staffing import merge_visits
    from inspect_engine.workflows import staffing
    from inspect_engine.workflows.planning import get_plan

    with transaction(url) as session:  # the month's own frozen staffing
        plan = get_plan(session, month)
        snapshot = staffing.load_snapshot(session, plan)
        selections = staffing.plan_selections(session, plan)
        seed = staffing.team_seed_of(plan, snapshot.protocol)
    visits = [v.spec() for v in merge_visits(snapshot, selections)]
    inspectors, recusals, the_month = snapshot.inspectors(), snapshot.recusals(), snapshot.month()
    table = InspectorTable.build(inspectors, the_month)
    barred = _barred_index(
        sorted(visits, key=lambda v: v.visit_id), table, recusals.barred_pairs(the_month)
    )
    usable = table.lawful_on_duty() & (table.capacity > 0)
    pairs = [(v, i) for v, ii in barred.items() for i in ii]
    arcs = candidates(sorted(visits, key=lambda v: v.visit_id), table, pairs, usable).arcs
    seconds, status = bare_flow(visits, inspectors, the_month, recusals, seed)
    _say(f"  bare min-cost flow: {seconds:.2f} s (status {status}, {arcs:,} arcs)")
    return seconds, int(arcs)


def _fetch_all(session: Session, sql: str, params: dict[str, Any]) -> int:
    """Read every row through the driver's cursor and throw it away."""
    result = session.connection().execute(text(sql), params)
    count = 0
    while rows := result.fetchmany(100_000):
        count += len(rows)
    return count


def _directory_select_seconds(url: str) -> float:
    """The rows a freeze reads: every enterprise's columns and the latest model's classes,
    each table read in storage order with nothing done to the rows (the freeze sorts them
    by credit code itself)."""
    with transaction(url) as session:
        version = session.scalar(text("SELECT max(model_version_id) FROM risk_scores"))
        directory = (
            "SELECT credit_code, status, entity_type, industry, district, unit, licences, "
            "registered_on FROM enterprises"
        )
        scores = "SELECT credit_code, risk_class FROM risk_scores WHERE model_version_id = :v"

        def read() -> None:
            _fetch_all(session, directory, {})
            _fetch_all(session, scores, {"v": version})

        return _bare("SELECT directory", read)


def _export_select_seconds(url: str, month: str) -> float:
    """The rows an export reads (frames, draw records, visits, team members), only read."""
    with transaction(url) as session:
        plan_id = session.scalar(text("SELECT id FROM plans WHERE month = :m"), {"m": month})
        queries = (
            "SELECT f.task_code, f.frame_text_gz FROM frames f JOIN tasks t "
            "ON t.task_code = f.task_code WHERE t.plan_id = :p",
            "SELECT task_code, record FROM draws WHERE plan_id = :p",
            "SELECT * FROM visits WHERE plan_id = :p ORDER BY visit_code",
            "SELECT m.visit_id, m.inspector_id FROM team_members m JOIN visits v "
            "ON v.id = m.visit_id WHERE v.plan_id = :p AND m.replaced_at IS NULL",
        )

        def read() -> None:
            for sql in queries:
                _fetch_all(session, sql, {"p": plan_id})

        return _bare("SELECT export rows", read)


# --------------------------------------------------------------------------- one big task


def step_draw_one(states: States, source: str) -> list[Row]:
    """issue 4's figure: plan, freeze and draw one task whose frame is the whole directory
    (SAMR-REG-01 applies to every enterprise), then verify its record like the public."""
    from inspect_engine.workflows.planning import (
        auditor_record,
        draw_month,
        freeze_month,
        plan_month,
    )

    url = states.copy(source, "one")
    _say(f"  directory snapshot (the import's work): {_as_the_code_leaves_it(url):.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        tasks = Path(tmp) / "tasks.csv"
        tasks.write_text(ONE_TASK_CSV, encoding="utf-8")
        with _measure("plan one task") as planned, transaction(url) as session:
            plan_month(session, MONTH, tasks)
    with _measure("freeze one task") as frozen, transaction(url) as session:
        freeze = freeze_month(session, MONTH, _policy())
    with _measure("draw one task") as drawn, transaction(url) as session:
        draw = draw_month(session, MONTH, CONTRIBUTION)
    bare_pareto = _pareto_seconds(url, MONTH)
    bare_select = _directory_select_seconds(url)
    with tempfile.TemporaryDirectory() as tmp:
        record_path = Path(tmp) / f"{ONE_TASK}.json"
        with transaction(url) as session:
            record = auditor_record(session, ONE_TASK)
        record_path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        del record
        with _measure("verify.py") as verified:
            checked = subprocess.run(
                [sys.executable, str(VERIFY), str(record_path)], capture_output=True, text=True
            )
    states.drop("one")
    units = freeze.frames[0].units
    selected = len(draw.records[0]["selected"])
    both = frozen["seconds"] + drawn["seconds"]
    return [
        Row(
            f"freeze + draw one task over {units:,} units (n = {selected:,})",
            both,
            "pareto + SELECT",
            bare_pareto + bare_select,
            max(frozen["peak_mib"], drawn["peak_mib"]),
            max(frozen["load"], drawn["load"]),
            target_seconds=10,
            note=f"plan {planned['seconds']:.1f} s before it",
        ),
        _sub("  freeze", frozen, "SELECT directory", bare_select),
        _sub("  draw", drawn, "pareto_select", bare_pareto),
        Row(
            "verify.py on that record (separate process)",
            verified["seconds"],
            peak_mib=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
            target_seconds=60,
            load=verified["load"],
            note=f"exit {checked.returncode}",
        ),
    ]


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument(
        "step",
        choices=["import", "import-1m", "score", "rescore", "month-one", "month-two", "draw-one"],
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--city", type=Path, required=True, help="the generated city folder")
    parser.add_argument("--source", default="imported", help="database state to start from")
    parser.add_argument(
        "--tasks-scale", type=float, default=1.0, help="month-one: multiply the tasks' ratios"
    )
    args = parser.parse_args(argv)
    states = States(args.backend, args.city.name.removeprefix("city-"))
    if args.step == "import":
        rows = step_import(states, args.city)
    elif args.step == "import-1m":
        rows = step_import_1m(states)
    elif args.step == "score":
        rows = step_score(states, args.source)
    elif args.step == "rescore":
        rows = step_rescore(states)
    elif args.step == "month-one":
        rows = step_month_one(states, args.city, args.source, args.tasks_scale)
    elif args.step == "month-two":
        rows = step_month_two(states)
    else:
        rows = step_draw_one(states, args.source)
    print(json.dumps({"rows": [asdict(r) for r in rows]}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
