"""Benchmark of the synthetic city generator (not a test): time and peak memory.

    .venv/bin/python benchmarks/bench_city.py                    # Guangzhou scale, 2.7 M
    .venv/bin/python benchmarks/bench_city.py --scale city --seed 3

The city is written to .cache/synthetic-city/<scale>-<seed>/ (reused by experiments).
Peak memory is the process's maximum resident set size (resource.getrusage).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulations.city import generate_city  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="guangzhou", help="small | city | guangzhou | N")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="output folder")
    args = parser.parse_args()
    out = args.out or ROOT / ".cache" / "synthetic-city" / f"{args.scale}-{args.seed}"

    started = time.perf_counter()
    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if done == total:
            marks[stage] = time.perf_counter() - started
            print(f"  {marks[stage]:7.1f} s  {stage:<10} done   peak {peak_rss_mb():7.0f} MB")

    summary = generate_city(args.scale, args.seed, out, progress=progress)
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
    print(f"scale {args.scale} ({summary.n_enterprises:,} entities), seed {args.seed} → {out}")
    for name, rows in summary.rows.items():
        print(f"  {name:<22} {rows:>12,} rows")
    print(f"time {seconds:.1f} s, peak RSS {peak_rss_mb():.0f} MB, files {size:.0f} MiB")


if __name__ == "__main__":
    main()
