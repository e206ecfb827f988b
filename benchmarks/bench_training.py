"""Training the risk model on a generated city's files: time, CPU, memory, test figures.

    .venv/bin/inspect-engine simulate city --scale guangzhou --seed 1 --out /tmp/gz
    .venv/bin/python -m benchmarks.bench_training /tmp/gz [--threads 2] [--seed 1]

Loads the city's CSV files with the experiment's loader (no database), then times
`train_risk_model` alone (wall and CPU seconds, growth of the resident set) and prints the
backtest's test AUC, log loss and lift per candidate, and the lift of the top 5% of scores
against the hidden truth (`truth.csv`). The figures of docs/risk-model.md come from here.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.common import load_average, peak_since_reset_mib, reset_peak
from inspect_engine.risk.pipeline import TrainingConfig, score_enterprises, train_risk_model
from simulations.experiment_city import load_city


def truth_problem_prob(city_dir: Path) -> np.ndarray:
    """The truth's problem probability, in credit-code order (as the city's)."""
    with (city_dir / "truth.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    codes = np.array([r["credit_code"] for r in rows], dtype="<U18")
    values = np.array([float(r["problem_prob"]) for r in rows])
    return values[np.argsort(codes, kind="stable")]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("city", type=Path, help="a directory written by `simulate city`")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    city = load_city(args.city)
    reset_peak()
    before = peak_since_reset_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    result = train_risk_model(
        city.table, city.history, str(city.as_of), TrainingConfig(threads=args.threads),
        random_state=args.seed,
    )  # fmt: skip
    figures: dict[str, object] = {
        "train_s": round(time.perf_counter() - wall, 1),
        "train_cpu_s": round(time.process_time() - cpu, 1),
        "memory_growth_mib": round(peak_since_reset_mib() - before),
        "visits": len(result.labels),
        "chosen": result.backtest.chosen,
        "test": {
            name: {m: round(getattr(c.test, m), 4) for m in ("auc", "log_loss", "lift")}
            for name, c in result.backtest.candidates.items()
        },
    }
    active = np.flatnonzero(city.active)
    scores = score_enterprises(
        result.artifact, city.table, city.history, str(city.as_of), rows=active
    )
    truth = truth_problem_prob(args.city)[active]
    top = np.argsort(-scores.probability.astype(np.float64), kind="stable")[: len(active) // 20]
    figures["top5_vs_uniform_truth"] = round(float(truth[top].sum() / (0.05 * truth.sum())), 2)
    figures["load"] = round(load_average(), 2)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
