"""Import 1,000,000 enterprises through the real import workflow, on SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.bench_import [--rows 1000000]

Target (issue 2): under 60 s on each database on the 2-core development machine. The bare
limit beside it is the time to stream-parse the same file with the csv module alone."""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from benchmarks.common import CACHE, fresh_database, peak_rss_mib, print_table
from inspect_engine import uscc
from inspect_engine.workflows.imports import import_file
from models.db import make_engine, make_session_factory
from models.migrate import upgrade

DISTRICTS = [
    "440103",
    "440104",
    "440105",
    "440106",
    "440111",
    "440112",
    "440113",
    "440114",
    "440115",
    "440117",
    "440118",
]
INDUSTRIES = ["F52", "H62", "I65", "L72", "C14", "O80", "F51", "E48"]


def write_enterprises(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    districts = rng.integers(0, len(DISTRICTS), rows)
    industries = rng.integers(0, len(INDUSTRIES), rows)
    days = rng.integers(0, 9000, rows)
    base = np.datetime64("2000-01-01")
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "credit_code",
                "name",
                "entity_type",
                "industry",
                "district",
                "unit",
                "registered_on",
                "registered_capital",
                "status",
                "licences",
                "address",
            ]
        )
        for i in range(rows):
            district = DISTRICTS[districts[i]]
            body = f"91{district}{i:09d}"
            writer.writerow(
                [
                    body + uscc.check_char(body),
                    f"广州测试{i}有限公司",
                    "company",
                    INDUSTRIES[industries[i]],
                    district,
                    f"{district}-0{i % 5 + 1}",
                    str(base + days[i]),
                    f"{(i % 997) * 1000}",
                    "active",
                    "food_business" if industries[i] == 1 else "",
                    f"广州市测试路{i % 50000}号",
                ]
            )


def bare_parse(path: Path) -> float:
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as f:
        for _ in csv.reader(f):
            pass
    return time.perf_counter() - start


def import_once(backend: str, path: Path) -> float:
    engine = make_engine(fresh_database(backend))
    upgrade(engine)
    session = make_session_factory(engine)()
    start = time.perf_counter()
    import_file(session, "enterprises", path)
    session.commit()
    elapsed = time.perf_counter() - start
    session.close()
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"enterprises-{args.rows}.csv"
    if not path.exists():
        write_enterprises(path, args.rows)
    bare = bare_parse(path)
    table = []
    for backend in args.backends.split(","):
        seconds = import_once(backend, path)
        table.append(
            (
                f"import {args.rows:,} enterprises",
                backend,
                f"{seconds:.1f}",
                f"{seconds / bare:.1f}",
                f"{peak_rss_mib():.0f}",
            )
        )
    print_table(table, ("step", "database", "seconds", "× bare csv parse", "peak MiB"))
    print(f"bare csv parse of the same file: {bare:.2f} s")


if __name__ == "__main__":
    main()
