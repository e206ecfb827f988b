"""Guangdong's one-machine kernels at province scale (18 million units, synthetic inputs).

    .venv/bin/python -m benchmarks.bench_province                    # 18,000,000 units
    .venv/bin/python -m benchmarks.bench_province --units 1000000 --skip-rows
    .venv/bin/python -m benchmarks.bench_province --skip-risk --skip-assign --json run.json

Each kernel runs in its own process, so the peak memory it reports is its own:

  draw      ie-draw-v1 on one frame of --units units (bench_draw's synthetic frame with its
            risk-tiered λ, so n is about 0.65% of the frame): frame text + frame hash, PRNs,
            Pareto πps selection, draw_frame end to end, and the auditors' record with its
            frame written to benchmarks/cache/province/
  verify    inspect_engine/verify.py on that record, in a process of its own as the public
            runs it (the record is deleted afterwards unless --keep-record)
  risk      a model trained on a simulated city of --risk-sample enterprises, then the
            features built from that city's tables repeated to --features-rows (a city's
            worth, 2.7 M by default), then on --units rows of repeated feature rows the bare
            predict_proba and score_enterprises (probability, classes, reasons)
  estimate  the Horvitz–Thompson share with non-response weighting classes over --units
            drawn units
  assign    the team optimiser on one jurisdiction's month (20,000 visits, 3,000
            inspectors, as bench_assign) and on twice that; the province-wide month
            (130,000 / 20,000) runs only if the per-pair rates of those two runs project it
            under 10 minutes and the memory budget, otherwise the projection is printed
  rows      bytes per stored row on PostgreSQL after one month of the small synthetic city
            (import, score, plan, freeze, draw, assign, export, and 100,000 publications
            filled as bench_feed does), for the storage estimate

Every row gives seconds, the step's peak resident memory (the high-water mark since the
step began, so it includes what the process already held, shown as "held") and the
one-minute load average. Nothing is asserted. The capacity plan that uses these figures:
docs/capacity-guangdong.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import math
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast
from unittest import mock

import numpy as np

from benchmarks.common import (
    CACHE,
    States,
    load_average,
    peak_since_reset_mib,
    print_table,
    reset_peak,
    run_child,
)

OUT = CACHE / "province"
VERIFY = Path(__file__).resolve().parents[1] / "inspect_engine" / "verify.py"
GUANGZHOU_ENTITIES = 2_696_700
GUANGZHOU_MONTH_VISITS = 20_000
GUANGZHOU_INSPECTORS = 3_000
CHUNK = 1_000_000  # frame units built and written per pass, to bound memory
TASK = "2026-12-GD-ALL-REG"
CONTRIBUTION = "bench_province: 2026-12 public lottery 07 19 23 31 42 + 05"
COMMITTED_AT, DRAWN_AT = "2026-11-20T02:00:00Z", "2026-11-21T03:30:00Z"
KERNELS = ("draw", "verify", "risk", "estimate", "assign", "rows")
ASSIGN_LIMIT_SECONDS = 600
BLOCK = 500_000  # rows scored at a time, as score_enterprises does


@dataclass
class Figure:
    """One measured step: seconds, peak resident memory, memory held when it began."""

    kernel: str
    step: str
    seconds: float
    peak_mib: float
    held_mib: float
    load: float
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Collects the figures of one kernel process; `step` times a block of it."""

    def __init__(self, kernel: str) -> None:
        self.kernel = kernel
        self.figures: list[Figure] = []

    @contextmanager
    def step(self, label: str) -> Iterator[Figure]:
        reset_peak()
        figure = Figure(self.kernel, label, 0.0, 0.0, peak_since_reset_mib(), 0.0)
        started = time.perf_counter()
        yield figure
        figure.seconds = time.perf_counter() - started
        figure.peak_mib = peak_since_reset_mib()
        figure.load = load_average()
        self.figures.append(figure)
        print(
            f"  {label}: {figure.seconds:.1f} s, peak {figure.peak_mib:,.0f} MiB "
            f"(held {figure.held_mib:,.0f}), load {figure.load:.1f} {figure.note}",
            flush=True,
        )


# --------------------------------------------------------------------------- draw


def province_frame(units: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    """bench_draw's synthetic frame, built a million units at a time: its vectorised check
    characters need about 300 bytes per unit at once. Each million carries bench_draw's
    certain units (λ = 1), so a province frame has 200 per million."""
    from benchmarks.bench_draw import synthetic_frame

    codes: list[str] = []
    lambdas: list[str] = []
    classes: list[str] = []
    seeds = np.random.SeedSequence(seed).generate_state(math.ceil(units / CHUNK))
    for k, chunk_seed in enumerate(seeds):
        part = synthetic_frame(min(CHUNK, units - k * CHUNK), int(chunk_seed))
        codes += part[0]
        lambdas += part[1]
        classes += part[2]
    if len(set(codes)) < len(codes):  # codes of different chunks may (rarely) collide
        keep = sorted(dict(zip(codes, range(len(codes)), strict=True)).values())
        codes = [codes[i] for i in keep]
        lambdas = [lambdas[i] for i in keep]
        classes = [classes[i] for i in keep]
    return codes, lambdas, classes


def write_record(
    path: Path, record: dict[str, Any], codes: Sequence[str], lambdas: Sequence[str]
) -> None:
    """The auditors' record (draw_record with include_frame=True), written a million frame
    lines at a time instead of as 18 million dicts in memory. The codes use the credit-code
    alphabet (digits, capitals) and λ is a canonical decimal, so neither needs escaping."""
    head = json.dumps(record, ensure_ascii=False)
    with path.open("w", encoding="utf-8") as out:
        out.write(head[:-1] + ', "frame": [')
        for lo in range(0, len(codes), CHUNK):
            lines = ", ".join(
                f'{{"credit_code": "{code}", "lambda": "{text}"}}'
                for code, text in zip(codes[lo : lo + CHUNK], lambdas[lo : lo + CHUNK], strict=True)
            )
            out.write((", " if lo else "") + lines)
        out.write("]}")


def record_path(units: int) -> Path:
    return OUT / f"{TASK}-{units}.json"


def kernel_draw(units: int, seed: int) -> list[Figure]:
    from inspect_engine.sampling import protocol

    rec = Recorder("draw")
    with rec.step("build the synthetic frame (setup, not a kernel)") as f:
        codes, texts, classes = province_frame(units, seed)
        f.note = f"{len(codes):,} units"
    nonce = hashlib.sha256(f"bench_province|{seed}".encode()).hexdigest()
    with rec.step("frame text (check codes and λ, sort lines)"):
        text = protocol.frame_text(codes, texts)
    with rec.step("frame hash (SHA-256 of the text)"):
        fh = protocol.sha256_hex(text)
    with rec.step("gzip the frame text, level 1, as the freeze stores it") as f:
        stored = len(gzip.compress(text.encode("utf-8"), compresslevel=1, mtime=0))
        f.note = f"{stored / 1e6:,.0f} MB, {stored / len(codes):.1f} bytes per unit"
        f.detail = {"frame_gz_bytes": stored, "units": len(codes)}
    del text
    plan = protocol.commit_plan([(TASK, fh)], COMMITTED_AT, nonce)
    reveal = protocol.reveal_plan(plan, nonce, CONTRIBUTION, DRAWN_AT)
    with rec.step("parse λ + n (fsum)") as f:
        lam = protocol.parse_lambdas(texts)
        n = protocol.sample_size(lam)
        f.note = f"n = {n:,}"
    with rec.step("PRN (SHA-256 per unit)"):
        u = protocol.prn(reveal.seed, codes)
    with rec.step("Pareto πps selection") as f:
        mask = protocol.pareto_select(codes, lam, u)
        f.note = f"{int(mask.sum()):,} selected"
    del lam, u, mask
    with rec.step("draw_frame (all of the above, one call)") as f:
        draw = protocol.draw_frame(codes, texts, reveal.seed)
        f.note = f"{len(draw.selected):,} selected"
    record = protocol.draw_record(
        TASK, "全省登记事项抽查（基准）", draw, plan, reveal, risk_classes=classes
    )
    del draw
    OUT.mkdir(parents=True, exist_ok=True)
    path = record_path(units)
    with rec.step("write the auditors' record with frame") as f:
        write_record(path, record, codes, texts)
        f.note = f"{path.stat().st_size / 1e6:,.0f} MB"
    return rec.figures


def kernel_verify(units: int, keep: bool) -> list[Figure]:
    """verify.py in a process of its own, as the public runs it; its peak from wait4."""
    path = record_path(units)
    if not path.exists():
        print(f"  verify skipped: no record {path} (run the draw kernel first)", flush=True)
        return []
    child = run_child([sys.executable, str(VERIFY), str(path)])
    figure = Figure(
        "verify",
        "verify.py on the auditors' record (own process)",
        child.seconds,
        child.peak_mib,
        0.0,
        load_average(),
        f"exit {child.returncode}",
    )
    if not keep:
        path.unlink()
    return [figure]


# --------------------------------------------------------------------------- risk


def repeated_city(city: Any, rows: int) -> tuple[Any, Any]:
    """The simulated city's directory and history repeated until it has `rows`
    enterprises; each copy's events point at that copy's enterprises and its address
    clusters are its own. Credit codes are left empty: scoring never reads them."""
    from inspect_engine.risk.tables import HistoryEvents

    size = len(city.enterprises)
    copies = math.ceil(rows / size)

    def owners(enterprise: np.ndarray) -> np.ndarray:
        shift = np.repeat(np.arange(copies, dtype=np.int64) * size, len(enterprise))
        return np.tile(enterprise, copies) + shift

    def repeat(table: Any) -> Any:
        changes = {
            f.name: owners(value) if f.name == "enterprise" else np.tile(value, copies)
            for f in dataclasses.fields(table)
            if isinstance(value := getattr(table, f.name), np.ndarray)
        }
        return dataclasses.replace(table, **changes)

    directory = repeat(dataclasses.replace(city.enterprises, credit_code=np.full(size, "")))
    address = city.enterprises.address
    clusters = np.tile(address, copies) + np.repeat(
        np.arange(copies, dtype=np.int64) * (int(address.max()) + 1), size
    )
    directory = dataclasses.replace(directory, address=np.where(clusters >= 0, clusters, -1))
    history = city.history
    events = HistoryEvents(*(repeat(getattr(history, f.name)) for f in dataclasses.fields(history)))
    return directory, events


def kernel_risk(units: int, sample: int, kind: str, seed: int, features_rows: int) -> list[Figure]:
    from inspect_engine.risk.features import FeatureSpec, build_features
    from inspect_engine.risk.models import ModelKind
    from inspect_engine.risk.pipeline import (
        RiskModelArtifact,
        TrainingConfig,
        score_enterprises,
        training_examples,
    )
    from inspect_engine.risk.synthetic import simulate_city

    rec = Recorder("risk")
    with rec.step("simulate the training city (setup)") as f:
        city = simulate_city(
            n_enterprises=sample,
            months=36,
            seed=seed,
            monthly_ratio=GUANGZHOU_MONTH_VISITS / GUANGZHOU_ENTITIES,
            n_inspectors=max(100, round(GUANGZHOU_INSPECTORS * sample / GUANGZHOU_ENTITIES)),
        )
        f.note = f"{sample:,} enterprises, 36 months"
    model_kind = cast(ModelKind, kind)
    # One thread trains faster on a shared 2-core machine (docs/risk-model.md); scoring
    # below uses every core, as the scoring workflow does.
    config = TrainingConfig(candidates=(model_kind,), threads=1)
    with rec.step(f"train one {kind} (3 folds + refit, no backtest)") as f:
        spec = FeatureSpec.from_table(city.enterprises, config.features)
        X, labels = training_examples(spec, city.enterprises, city.history, city.end, config)
        model = config.model(model_kind, seed).fit(X, labels.problem, labels.weight, labels.teams)
        f.note = f"{len(labels):,} labelled visits"
    model.threads = None
    artifact = RiskModelArtifact(model, spec, {"kind": kind})
    del X, labels
    with rec.step(f"repeat the tables to {features_rows:,} enterprises (setup)") as f:
        directory, history = repeated_city(city, features_rows)
        f.note = f"{len(history.inspections.enterprise):,} inspections, " + (
            f"{len(history.annual_reports.enterprise):,} annual reports"
        )
    with rec.step(f"features from the tables, {features_rows:,} rows (build_features)") as f:
        X = build_features(spec, directory, history, np.arange(features_rows), city.end)
        f.note = f"{X.values.shape[1]} float32 columns"
    del X, directory, history
    # At 18 M rows, building features from the tables needs about 9 GiB (the tables plus
    # about 300 bytes a row while building); the step above measures it at a city's size.
    # The province's matrix is the sample's own feature rows repeated.
    with rec.step(f"the sample's feature rows repeated to {units:,} (setup)"):
        rows = np.arange(units, dtype=np.int64)
        own = build_features(spec, city.enterprises, city.history, np.arange(sample), city.end)
        X = own.take(rows % sample)
        del own
    with rec.step(f"bare predict_proba on {units:,} rows, blocks of {BLOCK:,}"):
        for lo in range(0, units, BLOCK):
            model.predict_proba(X.take(rows[lo : lo + BLOCK]))
    # score_enterprises as the workflow calls it, its feature step handing over that matrix
    given = mock.patch("inspect_engine.risk.pipeline.build_features", return_value=X)
    with rec.step("score_enterprises, features given: probability, classes, reasons") as f:
        with given:
            scores = score_enterprises(
                artifact, city.enterprises, city.history, city.end, rows=rows
            )
        shares = np.bincount(scores.risk_class, minlength=4) / units
        f.note = "classes A/B/C/D " + "/".join(f"{s:.3f}" for s in shares)
    return rec.figures


# --------------------------------------------------------------------------- estimation


def kernel_estimate(units: int, seed: int) -> list[Figure]:
    from benchmarks.bench_draw import CLASS_LAMBDAS, CLASS_SHARES
    from inspect_engine.sampling.estimation import ht_share

    rec = Recorder("estimate")
    rng = np.random.default_rng(seed)
    with rec.step("synthetic drawn units (setup)"):
        risk_class = rng.choice(4, size=units, p=list(CLASS_SHARES.values()))
        lam = np.array([float(v) for v in CLASS_LAMBDAS.values()])[risk_class]
        problem = rng.random(units) < np.array([0.08, 0.15, 0.3, 0.5])[risk_class]
        observed = rng.random(units) < 0.95  # drawn but not visited: non-response
        # weighting classes: risk class x one of 21 cities
        weight_class = risk_class * 21 + rng.integers(0, 21, units)
        frame_size = round(float((1.0 / lam).sum()))
    with rec.step("ht_share with 84 non-response classes") as f:
        est = ht_share(problem, lam, frame_size, observed=observed, weight_class=weight_class)
        f.note = f"share {est.value:.4f} ± {1.96 * est.std_error:.4f}"
    return rec.figures


# --------------------------------------------------------------------------- assignment


def kernel_assign(visits: int, inspectors: int, seed: int) -> list[Figure]:
    from benchmarks.bench_assign import make_inspectors, make_recusals, make_visits
    from inspect_engine.assignment import Month, assign

    rec = Recorder("assign")
    month = Month.of(2026, 12)
    rng = np.random.default_rng(seed)
    with rec.step(f"synthetic directory and month, {visits:,} visits (setup)"):
        staff = make_inspectors(inspectors, month, rng)
        month_visits = make_visits(visits, rng)
        recusals = make_recusals(month_visits, staff, month, rng)
    draw_seed = hashlib.sha256(f"bench_province|assign|{seed}".encode()).hexdigest()
    with rec.step(f"assign {visits:,} visits / {inspectors:,} inspectors") as f:
        result = assign(month_visits, staff, month, draw_seed, recusals)
        st = result.stats
        f.note = (
            f"{st.eligible_pairs:,} eligible pairs, {st.solver_pairs:,} solved; "
            f"staffed {len(result.teams):,}, unstaffed {len(result.unstaffed):,}"
        )
        f.detail = {"visits": visits, "inspectors": inspectors, "pairs": st.eligible_pairs}
    return rec.figures


def project_assign(runs: list[Figure], visits: int, inspectors: int) -> dict[str, float]:
    """Seconds and MiB of a larger month from the measured runs' per-pair rates (the
    larger of the two, to be safe). Eligible pairs grow with visits x inspectors, since
    each visit's pool is a share of the directory."""
    measured = [r for r in runs if r.detail.get("pairs")]
    base = measured[0].detail
    pairs = base["pairs"] * visits / base["visits"] * inspectors / base["inspectors"]
    per_pair_s = max(r.seconds / r.detail["pairs"] for r in measured)
    per_pair_mib = max((r.peak_mib - r.held_mib) / r.detail["pairs"] for r in measured)
    held = max(r.held_mib for r in measured) * visits / base["visits"]
    return {
        "pairs": pairs,
        "seconds": pairs * per_pair_s,
        "peak_mib": held + pairs * per_pair_mib,
    }


# --------------------------------------------------------------------------- database rows

FRAMES_SQL = "SELECT sum(units), sum(octet_length(frame_text_gz)) FROM frames"
SIZES_SQL = """
SELECT c.relname, c.reltuples::bigint, pg_relation_size(c.oid),
       pg_indexes_size(c.oid), pg_total_relation_size(c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
ORDER BY pg_total_relation_size(c.oid) DESC
"""


def kernel_rows(scale: str, seed: int, publications: int) -> list[Figure]:
    """One month of the synthetic city on PostgreSQL, then bytes per row of every table
    (heap, indexes, total with TOAST) after VACUUM ANALYZE. Its own databases only."""
    from sqlalchemy import create_engine, text

    from benchmarks.bench_feed import fill
    from benchmarks.steps import CONTRIBUTION as MONTH_CONTRIBUTION
    from benchmarks.steps import MONTH, _policy, _transactions, scaled_tasks, step_import
    from inspect_engine.workflows.month_run import run_phase_one, run_phase_two
    from simulations.city import generate_city

    rec = Recorder("rows")
    city = OUT / f"city-{scale}-{seed}"
    if not city.exists():
        partial = city.with_name(city.name + ".partial")
        generate_city(scale, seed, partial)
        partial.rename(city)
    states = States("postgresql", f"province-rows-{scale}")
    with rec.step(f"import the {scale} city (setup)"):
        step_import(states, city)
    url = states.url("imported")
    with rec.step("one month: score, plan, freeze, draw, assign, export (setup)"):
        run_phase_one(_transactions(url), MONTH, scaled_tasks(city, 2.5), _policy())
        run_phase_two(
            _transactions(url), MONTH, MONTH_CONTRIBUTION, OUT / "out", recusal_window_days=365
        )
        fill(url, publications)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
        sizes = [tuple(r) for r in conn.execute(text(SIZES_SQL))]
        units, frame_bytes = conn.execute(text(FRAMES_SQL)).one()
    engine.dispose()
    states.drop("imported")
    detail = {
        str(name): {"rows": int(n), "heap": int(heap), "indexes": int(idx), "total": int(tot)}
        for name, n, heap, idx, tot in sizes
    }
    detail["frame units"] = {"rows": int(units), "frame_text_gz": int(frame_bytes)}
    note = f"{scale} city; frames: {frame_bytes / units:.1f} gzip bytes per unit"
    rec.figures.append(
        Figure("rows", "bytes per stored row", 0.0, 0.0, 0.0, load_average(), note, detail)
    )
    print(f"  {note}")
    header = ("table", "rows", "heap B/row", "index B/row", "total B/row", "total MiB")
    print_table(
        [
            (
                str(name),
                f"{int(n):,}",
                *(f"{v / max(int(n), 1):,.0f}" for v in (heap, idx, tot)),
                f"{int(tot) / 2**20:,.1f}",
            )
            for name, n, heap, idx, tot in sizes
            if int(n) > 0
        ],
        header,
    )
    return rec.figures


# --------------------------------------------------------------------------- driver


def run_kernel(name: str, args: argparse.Namespace, *extra: str) -> list[Figure]:
    """One kernel in its own process; its figures, the last with the process's own peak."""
    argv = [sys.executable, "-m", "benchmarks.bench_province", "--kernel", name]
    argv += ["--units", str(args.units), "--seed", str(args.seed)]
    argv += ["--risk-sample", str(args.risk_sample), "--risk-model", args.risk_model]
    argv += ["--features-rows", str(args.features_rows)]
    argv += ["--rows-scale", args.rows_scale, *extra]
    print(f"[{name}] (load {load_average():.1f})", flush=True)
    child = run_child(argv)
    if child.returncode != 0:
        raise SystemExit(f"kernel {name} failed with exit status {child.returncode}")
    last = json.loads(child.stdout.strip().splitlines()[-1])
    figures = [Figure(**row) for row in last["figures"]]
    # No process peak here: wait4's maximum is reset with each step's (clear_refs).
    print(f"  {name} done in {child.seconds:.0f} s", flush=True)
    return figures


def assign_figures(args: argparse.Namespace) -> list[Figure]:
    runs: list[Figure] = []
    for factor in (1, 2):
        visits, inspectors = args.visits * factor, args.inspectors * factor
        runs += run_kernel("assign", args, "--visits", str(visits), "--inspectors", str(inspectors))
    measured = [r for r in runs if r.detail.get("pairs")]
    guess = project_assign(measured, args.province_visits, args.province_inspectors)
    label = f"assign {args.province_visits:,} visits / {args.province_inspectors:,} inspectors"
    budget_mib = args.memory_budget_gib * 1024
    print(
        f"  province-wide projection: {guess['pairs']:,.0f} eligible pairs, "
        f"{guess['seconds']:,.0f} s, {guess['peak_mib']:,.0f} MiB",
        flush=True,
    )
    if guess["seconds"] > ASSIGN_LIMIT_SECONDS or guess["peak_mib"] > budget_mib:
        reason = (
            f"skipped: projected {guess['seconds']:,.0f} s (limit {ASSIGN_LIMIT_SECONDS}) and "
            f"{guess['peak_mib']:,.0f} MiB (budget {budget_mib:,.0f}) for "
            f"{guess['pairs']:,.0f} eligible pairs"
        )
        print(f"  {label}: {reason}", flush=True)
        return [
            *runs,
            Figure(
                "assign",
                label,
                math.nan,
                math.nan,
                math.nan,
                load_average(),
                reason,
                {"projection": guess},
            ),
        ]
    return runs + run_kernel(
        "assign",
        args,
        "--visits",
        str(args.province_visits),
        "--inspectors",
        str(args.province_inspectors),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--units", type=int, default=18_000_000)
    parser.add_argument("--seed", type=int, default=20261201)
    for name in KERNELS:
        parser.add_argument(f"--skip-{name}", action="store_true")
    parser.add_argument("--keep-record", action="store_true", help="keep the draw record")
    parser.add_argument(
        "--risk-sample",
        type=int,
        default=300_000,
        help="enterprises of the simulated city the model is trained on",
    )
    parser.add_argument("--risk-model", choices=["scorecard", "gbm"], default="gbm")
    parser.add_argument(
        "--features-rows",
        type=int,
        default=GUANGZHOU_ENTITIES,
        help="rows whose features are built from the tables (at most --units)",
    )
    parser.add_argument("--visits", type=int, default=GUANGZHOU_MONTH_VISITS)
    parser.add_argument("--inspectors", type=int, default=GUANGZHOU_INSPECTORS)
    parser.add_argument("--province-visits", type=int, default=130_000)
    parser.add_argument("--province-inspectors", type=int, default=20_000)
    parser.add_argument("--memory-budget-gib", type=float, default=9.0)
    parser.add_argument("--rows-scale", default="small", help="synthetic city for `rows`")
    parser.add_argument("--publications", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--kernel", choices=KERNELS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.kernel:  # a child: one kernel, then its figures as the last line
        rows = [asdict(f) for f in child_kernel(args)]
        print(json.dumps({"figures": rows}, ensure_ascii=False), flush=True)
        return

    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    figures: list[Figure] = []
    for name in ("draw", "verify", "risk", "estimate"):
        if getattr(args, f"skip_{name}"):
            continue
        if name == "verify":
            figures += kernel_verify(args.units, args.keep_record)
        else:
            figures += run_kernel(name, args)
    if not args.skip_assign:
        figures += assign_figures(args)
    if not args.skip_rows:
        figures += run_kernel("rows", args, "--publications", str(args.publications))

    print(f"\nprovince kernels at {args.units:,} units (load now {load_average():.1f})")
    print_table(
        [
            (
                f.kernel,
                f.step,
                _number(f.seconds, "{:,.1f}"),
                _number(f.peak_mib, "{:,.0f}"),
                _number(f.held_mib or math.nan, "{:,.0f}"),
                f"{f.load:.1f}",
                f.note,
            )
            for f in figures
            if f.kernel != "rows" or not f.detail
        ],
        ("kernel", "step", "seconds", "peak MiB", "held MiB", "load", "note"),
    )
    OUT.mkdir(parents=True, exist_ok=True)
    path = args.json or OUT / f"results-{time.strftime('%Y%m%d-%H%M%S')}.json"
    payload = {"started": started, "units": args.units, "figures": [asdict(f) for f in figures]}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"figures written to {path}")


def _number(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else spec.format(value)


def child_kernel(args: argparse.Namespace) -> list[Figure]:
    if args.kernel == "draw":
        return kernel_draw(args.units, args.seed)
    if args.kernel == "risk":
        features_rows = min(args.units, args.features_rows)
        return kernel_risk(args.units, args.risk_sample, args.risk_model, args.seed, features_rows)
    if args.kernel == "estimate":
        return kernel_estimate(args.units, args.seed)
    if args.kernel == "assign":
        return kernel_assign(args.visits, args.inspectors, args.seed)
    if args.kernel == "rows":
        return kernel_rows(args.rows_scale, args.seed, args.publications)
    return kernel_verify(args.units, args.keep_record)


if __name__ == "__main__":
    main()
