"""`make bench`: a Guangzhou-scale month on SQLite and PostgreSQL, each step beside its bare
limit, with peak memory and the load average of the machine.

    .venv/bin/python -m benchmarks.run                      # everything, both databases
    .venv/bin/python -m benchmarks.run --backends sqlite --steps score --reuse
    .venv/bin/python -m benchmarks.run --scale small        # a quick rehearsal

The city (simulations.city, 2,696,700 market entities for `guangzhou`) is generated once
into benchmarks/cache/city-<scale>-<seed>/. Each step runs in its own process
(benchmarks.steps), so its peak memory is its own; the database states between steps
("imported", "scored", the month's working copy) are kept under benchmarks/cache/db/ (SQLite)
or as ie_bench_* databases on the local PostgreSQL server, so that one step can be measured
again with --reuse and --steps. What each row measures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import BACKENDS, CACHE, States, load_average, print_table, run_child

STEPS = ("import", "import-1m", "score", "rescore", "month", "draw-one", "feed", "sizing")
DEFAULT_STEPS = ("import", "import-1m", "score", "month", "draw-one", "feed", "sizing")
SIZING_TARGET_SECONDS = 10
STAFFED_TARGET_SHARE = 0.97
FEED_TARGET_SECONDS = 0.050
MONTH_TARGET_SECONDS = 300
MEMORY_TARGET_MIB = 4096


@dataclass(frozen=True)
class Options:
    backends: tuple[str, ...]
    steps: tuple[str, ...]
    city: Path
    reuse: bool
    month_from: str
    tasks_scale: float
    feed_seconds: float


def ensure_city(scale: str, seed: int) -> Path:
    """The synthetic city's import files, generated once (same seed, same bytes)."""
    from simulations.city import generate_city

    city = CACHE / f"city-{scale}-{seed}"
    if city.exists():
        return city
    print(f"generating the {scale} city (seed {seed}) into {city} ...", flush=True)
    started = time.perf_counter()
    partial = city.with_name(city.name + ".partial")
    generate_city(scale, seed, partial)
    partial.rename(city)  # a generation cut short is never taken for a city
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)
    return city


def run_step(
    step: str, backend: str, options: Options, source: str = "", *extra: str
) -> list[dict[str, Any]]:
    """One step in its own process; its rows, each with the process's own peak memory."""
    argv = [sys.executable, "-m", "benchmarks.steps", step, "--backend", backend]
    argv += ["--city", str(options.city), *extra]
    if source:
        argv += ["--source", source]
    print(f"[{backend}] {step} (load {load_average():.1f})", flush=True)
    child = run_child(argv)
    if child.returncode != 0:
        raise SystemExit(f"[{backend}] step {step} failed with exit status {child.returncode}")
    result = json.loads(child.stdout.strip().splitlines()[-1])
    rows: list[dict[str, Any]] = result["rows"]
    for row in rows:
        row["backend"] = backend
        row["process_peak_mib"] = child.peak_mib
    return rows


def run_backend(backend: str, options: Options) -> list[dict[str, Any]]:
    states = States(backend, options.city.name.removeprefix("city-"))
    wanted = set(options.steps)
    rows: list[dict[str, Any]] = []

    def have(state: str) -> bool:
        return states.exists(state)

    # A step runs when asked for, or when a later step needs the state it leaves behind
    # and that state is missing; --reuse skips a step whose state is already there.
    needs_imported = bool(wanted & {"score", "month", "draw-one"})
    if ("import" in wanted and not (options.reuse and have("imported"))) or (
        needs_imported and not have("imported")
    ):
        rows += run_step("import", backend, options)
    if "import-1m" in wanted:
        rows += run_step("import-1m", backend, options)
    month_needs_scores = "month" in wanted and options.month_from == "scored"
    needs_scored = bool(wanted & {"draw-one", "rescore"}) or month_needs_scores
    if ("score" in wanted and not (options.reuse and have("scored"))) or (
        needs_scored and not have("scored")
    ):
        rows += run_step("score", backend, options)
    if "rescore" in wanted:
        rows += run_step("rescore", backend, options)
    if "month" in wanted:
        scale = ("--tasks-scale", f"{options.tasks_scale:g}")
        one = run_step("month-one", backend, options, options.month_from, *scale)
        two = run_step("month-two", backend, options)
        rows += [_whole_month(one[0], two[0]), *one, *two]
    if "draw-one" in wanted:
        rows += run_step("draw-one", backend, options, source="scored")
    if "feed" in wanted:
        rows += feed(backend, options)
    return rows


def feed(backend: str, options: Options) -> list[dict[str, Any]]:
    """The public results feed under load (benchmarks.bench_feed), when the API exists:
    50 clients at one request a second each (the target), then asking as fast as answered
    (the throughput)."""
    try:
        from api.app import create_app  # noqa: F401
    except ImportError:
        print(f"[{backend}] feed: skipped, there is no api.app.create_app")
        return []
    rows = []
    for rate in (1, 0):
        print(f"[{backend}] feed, rate {rate} (load {load_average():.1f})", flush=True)
        child = run_child([sys.executable, "-m", "benchmarks.bench_feed", "--backend", backend,
                           "--reuse", "--seconds", f"{options.feed_seconds:g}",
                           "--rate", str(rate)])  # fmt: skip
        if child.returncode != 0:
            raise SystemExit(f"[{backend}] the feed benchmark failed ({child.returncode})")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        figures = result["feed"]
        pace = "1 request/s each" if rate else "no pause"
        rows.append(
            {
                "step": f"public results feed p95: {result['clients']} clients ({pace}), "
                f"1,000,000 results",
                "backend": backend,
                "seconds": figures["p95_ms"] / 1000,
                "bare": "",
                "bare_seconds": None,
                "peak_mib": 0.0,
                "load": figures["load"],
                "target_seconds": FEED_TARGET_SECONDS if rate else None,
                "note": f"p50 {figures['p50_ms']} ms, {figures['per_second']} requests/s, "
                f"{figures['errors']} errors",
            }
        )
    return rows


def sizing(options: Options, scale: str, seed: int) -> list[dict[str, Any]]:
    """Sizing the draw to the staff (benchmarks.bench_sizing: the kernels on the city's
    columns, no database) beside its bare limit, and the short-staffed city's month."""
    print(f"[kernel] sizing (load {load_average():.1f})", flush=True)
    child = run_child([sys.executable, "-m", "benchmarks.bench_sizing", "--scale", scale,
                       "--seed", str(seed), "--scenario", "--json"])  # fmt: skip
    if child.returncode != 0:
        raise SystemExit(f"the sizing benchmark failed ({child.returncode})")
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    size, fitted = figures["sizing"], figures["scenario"]["--fit-capacity"]
    own = figures["scenario"]["tasks' own ratios"]
    share = fitted["scheduled"] / max(fitted["visits"], 1)
    met = "met" if share >= STAFFED_TARGET_SHARE else "MISSED"
    load = load_average()
    return [
        {"step": f"sizing: grouping + SCIP ({size['units']:,} units, {size['groups']:,} groups)",
         "backend": "kernel", "seconds": size["seconds"], "bare": "frames + SCIP solve",
         "bare_seconds": size["bare_seconds"], "peak_mib": child.peak_mib, "load": load,
         "target_seconds": SIZING_TARGET_SECONDS},
        {"step": f"quarter capacity, --fit-capacity: {fitted['scheduled']:,} of "
                 f"{fitted['visits']:,} staffed and scheduled ({share:.1%}, target "
                 f"{STAFFED_TARGET_SHARE:.0%} {met}; own ratios {own['scheduled']:,} of "
                 f"{own['visits']:,})",
         "backend": "kernel", "seconds": fitted["seconds"], "bare": "", "bare_seconds": None,
         "peak_mib": child.peak_mib, "load": load},
    ]  # fmt: skip


def _whole_month(one: dict[str, Any], two: dict[str, Any]) -> dict[str, Any]:
    return {
        "step": "month run, whole month (phase one + phase two)",
        "backend": one["backend"],
        "seconds": one["seconds"] + two["seconds"],
        "bare": "sum of the bare limits",
        "bare_seconds": one["bare_seconds"] + two["bare_seconds"],
        "peak_mib": max(one["peak_mib"], two["peak_mib"]),
        "load": max(one["load"], two["load"]),
        "target_seconds": MONTH_TARGET_SECONDS,
        "note": f"peak target {MEMORY_TARGET_MIB} MiB",
    }


def table_rows(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for r in rows:
        bare = r.get("bare_seconds")
        target = r.get("target_seconds")
        verdict = ""
        if target is not None:
            verdict = f"< {target:g} s " + ("met" if r["seconds"] < target else "MISSED")
        out.append(
            (
                r["step"],
                r["backend"],
                f"{r['seconds']:.1f}" if r["seconds"] >= 1 else f"{r['seconds']:.3f}",
                r.get("bare") or "",
                "" if bare is None else f"{bare:.2f}",
                "" if not bare else f"{r['seconds'] / bare:.1f}",
                f"{r['peak_mib']:.0f}" if r.get("peak_mib") else "",
                f"{r['load']:.1f}",
                verdict,
            )
        )
    return out


HEADER = ("step", "database", "seconds", "bare limit", "bare s", "× bare", "peak MiB", "load",
          "target")  # fmt: skip


def machine() -> dict[str, Any]:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(pages / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument(
        "--steps",
        default=",".join(DEFAULT_STEPS),
        help=f"some of {', '.join(STEPS)} (default: all but rescore, which is part of score)",
    )
    parser.add_argument("--scale", default="guangzhou", help="small | city | guangzhou | N")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--reuse", action="store_true", help="skip import/score when their database is cached"
    )
    parser.add_argument(
        "--month-from",
        choices=("imported", "scored"),
        default="imported",
        help="imported: the month trains its model (a new month); scored: the model exists",
    )
    parser.add_argument(
        "--tasks-scale",
        type=float,
        default=2.5,
        help="multiply the synthetic tasks' ratios (2.5: about 20,000 visits, the design load)",
    )
    parser.add_argument("--feed-seconds", type=float, default=30, help="length of the load test")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument(
        "--table", type=Path, nargs="*", help="only print the table of earlier --json files"
    )
    args = parser.parse_args(argv)
    if args.table:
        saved = [json.loads(path.read_text(encoding="utf-8")) for path in args.table]
        print_table(table_rows([row for run in saved for row in run["rows"]]), HEADER)
        return
    steps = tuple(s for s in args.steps.split(",") if s)
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s) {', '.join(sorted(unknown))}; one of {', '.join(STEPS)}")
    options = Options(
        backends=tuple(args.backends.split(",")),
        steps=steps,
        city=ensure_city(args.scale, args.seed),
        reuse=args.reuse,
        month_from=args.month_from,
        tasks_scale=args.tasks_scale,
        feed_seconds=args.feed_seconds,
    )
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    rows: list[dict[str, Any]] = []
    for backend in options.backends:
        rows += run_backend(backend, options)
    if "sizing" in options.steps:
        rows += sizing(options, args.scale, args.seed)
    about = machine()
    print()
    print(
        f"{options.city.name}, {started}: {about['cores']} cores, {about['memory_gib']} GiB, "
        f"Python {about['python']}, SQLite {about['sqlite']}; load = one-minute load average "
        "when the step ended; peak = the step's own resident memory (the database server's "
        "is not counted)"
    )
    print_table(table_rows(rows), HEADER)
    path = args.json or CACHE / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"started": started, "machine": about, "rows": rows}, indent=1) + "\n",
        encoding="utf-8",
    )
    print(f"rows written to {path}")


if __name__ == "__main__":
    main()
