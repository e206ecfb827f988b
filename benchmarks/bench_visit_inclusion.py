"""Benchmark: each drawn enterprise's probability of a visit under a coordinated plan.

A Guangzhou-like month: 2.1 million enterprises, 12 frames (2.1 M, 0.8 M, 0.3 M and 0.1 M
units, three of each; 9.9 million frame rows), λ 0.002–0.06 as risk classes give them. The
targets are the enterprises one coordinated draw selects (about 30,000). Times:

- the kernel `sampling.population.visit_inclusion` (Rao–Blackwellised), with 8, 32 and
  128 replicates and with its default stopping rule, each with its largest standard error;
- the workflow's computation at the draw (`workflows.visit_inclusion.compute`: the union of
  the frames' credit codes, each row's recorded π, the kernel);
- with `--old`, the method it replaces (`coordinated_inclusion`, counting hits, which the
  estimates ran with 400 replicates at every publication) at 2 and 20 replicates, and its
  400-replicate time extrapolated from them.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_visit_inclusion.py [--old]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from inspect_engine.sampling.population import (
    _pareto_selected,
    coordinated_inclusion,
    pareto_inclusion,
    visit_inclusion,
)
from inspect_engine.workflows import visit_inclusion as plan_pi

UNITS = 2_100_000


def city() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    frames = []
    for k in range(12):
        size = [2_100_000, 800_000, 300_000, 100_000][k % 4]
        rows = np.sort(rng.choice(UNITS, size, replace=False))
        lam = rng.choice([0.002, 0.006, 0.02, 0.06], size, p=[0.65, 0.25, 0.08, 0.02])
        frames.append((rows, lam, pareto_inclusion(lam)))
    return frames


def show(label: str, made: object, seconds: float) -> None:
    pi, se, reps = made.pi, made.std_error, made.reps  # type: ignore[attr-defined]
    shared = se > 0
    print(
        f"{label}: {reps} replicates, {seconds:.1f} s; max SE {se.max():.2e}, "
        f"max SE/π {(se[shared] / pi[shared]).max():.2e} (load {os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", action="store_true", help="also time coordinated_inclusion")
    args = parser.parse_args()
    frames = city()
    u = np.random.default_rng(3).random(UNITS)
    drawn = np.unique(np.concatenate([r[_pareto_selected(lam, u[r])] for r, lam, _ in frames]))
    print(f"{sum(r.size for r, _, _ in frames):,} frame rows, {drawn.size:,} drawn enterprises")
    for reps in (8, 32, 128):
        start = time.perf_counter()
        made = visit_inclusion(
            frames, UNITS, drawn, rng=np.random.default_rng(2), min_reps=reps, max_reps=reps
        )
        show(f"kernel, {reps} fixed", made, time.perf_counter() - start)
    start = time.perf_counter()
    made = visit_inclusion(frames, UNITS, drawn, rng=np.random.default_rng(2))
    show("kernel, default stopping rule", made, time.perf_counter() - start)

    codes = np.char.add("9144010", np.char.zfill(np.arange(UNITS).astype(str), 11))
    lines = [
        plan_pi.FrameLines(
            codes[rows].tolist(),
            lam,
            {repr(a): repr(b) for a, b in set(zip(lam.tolist(), pi.tolist(), strict=True))},
        )
        for rows, lam, pi in frames
    ]
    start = time.perf_counter()
    _, made = plan_pi.compute(lines, "ab" * 32, codes[drawn].tolist())
    show("at the draw (union of codes + recorded π + kernel)", made, time.perf_counter() - start)

    if args.old:
        seconds = {}
        for reps in (2, 20):
            start = time.perf_counter()
            coordinated_inclusion(frames, UNITS, reps=reps, rng=np.random.default_rng(2))
            seconds[reps] = time.perf_counter() - start
            print(f"old, {reps} replicates: {seconds[reps]:.1f} s")
        per_rep = (seconds[20] - seconds[2]) / 18
        print(f"old, 400 replicates (extrapolated): {seconds[2] + 398 * per_rep:.0f} s")


if __name__ == "__main__":
    main()
