"""Time the ie-draw-v1 kernel and the standalone verifier at city scale.

    .venv/bin/python benchmarks/bench_draw.py              # 2.7 million units
    .venv/bin/python benchmarks/bench_draw.py --units 100000

Builds a synthetic frame of valid-looking credit codes (GB 32100-2015 check character) with
risk-tiered λ (about 20,000 selected, as in a Guangzhou month), times each step of the draw,
writes the auditors' record (with frame) to a temporary file and times the verifier on it as
a separate process, the way the public runs it. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from inspect_engine.sampling import protocol
from inspect_engine.uscc import ALPHABET

T = TypeVar("T")

VERIFY = Path(__file__).resolve().parents[1] / "inspect_engine" / "verify.py"
DISTRICTS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114")
# Risk class mix and λ per class, plus a few certain units (court orders, follow-ups).
CLASS_SHARES = {"A": 0.60, "B": 0.30, "C": 0.08, "D": 0.02}
CLASS_LAMBDAS = {"A": "0.002", "B": "0.005", "C": "0.02", "D": "0.1"}
CERTAIN_UNITS = 200


def synthetic_codes(count: int, rng: np.random.Generator) -> list[str]:
    """Unique 18-character codes with a correct check character, vectorised."""
    alphabet = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
    weights = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
    head = np.array([list(b"91"), list(b"92")], dtype=np.uint8)[rng.integers(0, 2, count)]
    region = np.frombuffer("".join(DISTRICTS).encode(), dtype=np.uint8).reshape(-1, 6)
    region = region[rng.integers(0, len(DISTRICTS), count)]
    body = alphabet[rng.integers(0, 31, size=(count, 9))]
    chars = np.concatenate([head, region, body], axis=1)
    lookup = np.zeros(256, dtype=np.int64)
    lookup[alphabet] = np.arange(31)
    total = (lookup[chars] * weights).sum(axis=1)
    check = alphabet[(31 - total % 31) % 31]
    raw = np.concatenate([chars, check[:, None]], axis=1).tobytes()
    codes = [raw[i : i + 18].decode("ascii") for i in range(0, len(raw), 18)]
    unique = list(dict.fromkeys(codes))  # collisions are rare (31^9 bodies); drop them
    return unique


def synthetic_frame(units: int, seed: int) -> tuple[list[str], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    codes = synthetic_codes(units, rng)
    labels = list(CLASS_SHARES)
    classes = rng.choice(labels, size=len(codes), p=list(CLASS_SHARES.values())).tolist()
    lambdas = [CLASS_LAMBDAS[label] for label in classes]
    for i in rng.choice(len(codes), size=min(CERTAIN_UNITS, len(codes)), replace=False):
        lambdas[i] = "1"
    return codes, lambdas, classes


def timed(rows: list[tuple[str, float, str]], label: str, fn: Callable[[], T], note: str = "") -> T:
    start = time.perf_counter()
    value = fn()
    rows.append((label, time.perf_counter() - start, note))
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--units", type=int, default=2_700_000)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()

    rows: list[tuple[str, float, str]] = []
    codes, texts, classes = timed(
        rows, "build synthetic frame", lambda: synthetic_frame(args.units, args.seed)
    )
    units = len(codes)
    nonce = protocol.new_nonce()
    fh = timed(rows, "frame_hash", lambda: protocol.frame_hash(codes, texts))
    plan = protocol.commit_plan([("BENCH", fh)], "2026-11-20T02:00:00Z", nonce)
    reveal = protocol.reveal_plan(plan, nonce, "bench:6-2-5-1-4-3", "2026-11-21T03:30:00Z")
    lam = timed(rows, "parse_lambdas", lambda: protocol.parse_lambdas(texts))
    n = timed(rows, "sample_size (fsum)", lambda: protocol.sample_size(lam))
    u = timed(rows, "prn (SHA-256 per unit)", lambda: protocol.prn(reveal.seed, codes))
    mask = timed(rows, "pareto_select (pure kernel)", lambda: protocol.pareto_select(codes, lam, u))
    rows[-1] = (*rows[-1][:2], f"{int(mask.sum())} selected")
    draw = timed(
        rows,
        "draw_frame (all of the above)",
        lambda: protocol.draw_frame(codes, texts, reveal.seed),
    )
    record = protocol.draw_record(
        "BENCH", "benchmark", draw, plan, reveal, risk_classes=classes, include_frame=True
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "BENCH.json"
        timed(
            rows,
            "write record JSON",
            lambda: path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8"),
        )
        size_mb = path.stat().st_size / 1e6
        done = timed(
            rows,
            "verify.py (separate process)",
            lambda: subprocess.run(
                [sys.executable, str(VERIFY), str(path)], capture_output=True, text=True
            ),
        )
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows[-1] = (
        *rows[-1][:2],
        f"exit {done.returncode}, {size_mb:.0f} MB file, {peak_mb:.0f} MB RSS",
    )

    print(f"ie-draw-v1 benchmark: {units:,} units, n = {n:,}")
    print(f"{'step':<34}{'seconds':>9}  note")
    for label, seconds, note in rows:
        print(f"{label:<34}{seconds:>9.3f}  {note}")
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n")


if __name__ == "__main__":
    main()
