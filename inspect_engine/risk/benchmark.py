"""Time and memory of the risk kernel at city scale, on a simulated city.

    python -m inspect_engine.risk.benchmark --enterprises 2700000 --visits-per-month 20000

Prints one line per stage (seconds) and the peak memory that scoring allocates (numpy
allocations, through tracemalloc), then the backtest figures and the lift against the
simulated truth. `--report DIR` also writes the backtest report there.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from inspect_engine.risk.backtest import write_backtest_report
from inspect_engine.risk.pipeline import TrainingConfig, score_enterprises, train_risk_model
from inspect_engine.risk.synthetic import simulate_city

T = TypeVar("T")


def _timed(label: str, timings: dict[str, float], work: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = work()
    timings[label] = round(time.perf_counter() - start, 2)
    print(f"{label:<28}{timings[label]:>9.2f} s", flush=True)
    return result


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=2_700_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--visits-per-month", type=int, default=20_000)
    parser.add_argument("--inspectors", type=int, default=3_000)
    parser.add_argument("--candidates", default="scorecard,gbm")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--report", default=None, help="write the backtest report here")
    args = parser.parse_args(argv)

    timings: dict[str, float] = {}
    city = _timed(
        "simulate city",
        timings,
        lambda: simulate_city(
            n_enterprises=args.enterprises,
            months=args.months,
            seed=args.seed,
            monthly_ratio=args.visits_per_month / args.enterprises,
            n_inspectors=args.inspectors,
        ),
    )
    config = TrainingConfig(candidates=tuple(args.candidates.split(",")), threads=args.threads)
    result = _timed(
        "train (backtest + refit)",
        timings,
        lambda: train_risk_model(city.enterprises, city.history, city.end, config, args.seed),
    )
    blob = result.artifact.to_bytes()

    tracemalloc.start()
    scores = _timed(
        "score all enterprises",
        timings,
        lambda: score_enterprises(result.artifact, city.enterprises, city.history, city.end),
    )
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    joined = _timed("join reason texts", timings, scores.reasons.joined)

    if result.backtest is None:
        raise SystemExit(f"no model fitted: {result.artifact.metadata['fallback']}")
    truth = city.true_probability()
    top = np.argsort(-scores.probability, kind="stable")[: len(truth) // 20]
    figures: dict[str, object] = {
        "enterprises": args.enterprises,
        "visits": len(result.labels),
        "chosen": result.backtest.chosen,
        "timings_s": timings,
        "scoring_peak_mib": round(peak / 2**20),
        "artefact_mib": round(len(blob) / 2**20, 1),
        "backtest": result.backtest.metadata()["candidates"],
        "lift_at_5pct_vs_truth": round(float(truth[top].sum() / (0.05 * truth.sum())), 3),
        "oracle_lift_at_5pct": round(
            float(np.sort(truth)[::-1][: len(top)].sum() / (0.05 * truth.sum())), 3
        ),
        "class_shares": np.round(
            np.bincount(scores.risk_class, minlength=4) / len(truth), 4
        ).tolist(),
        "example_reasons": [str(joined[i]) for i in range(3)],
    }
    print(json.dumps(figures, ensure_ascii=False, indent=1))
    if args.report:
        path = write_backtest_report(result.backtest, args.report, result.inspectors)
        print(f"report: {path}")
    return figures


if __name__ == "__main__":
    main()
