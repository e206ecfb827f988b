"""The same enterprises imported from CSV and from .xlsx (issue 19: within 5× of CSV).

    PYTHONPATH=. .venv/bin/python -m benchmarks.bench_xlsx --rows 100000

Each import runs on a fresh SQLite database, in its own process so that its peak memory
(ru_maxrss) is its own. The files are generated into a temporary folder."""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from inspect_engine.formats.spec import ENTERPRISES
from tests.workflows import tinycity


def write_files(folder: Path, rows: int) -> tuple[Path, Path]:
    table = [
        [tinycity.credit_code(k + 1, "440106"), f"企业{k}", "company", "F52", "440106",
         "440106-01", "2020-03-01", "100000", "active", "food_business", "", f"天河路{k}号",
         "23.1", "113.3"]
        for k in range(rows)
    ]  # fmt: skip
    csv = folder / "enterprises.csv"
    text = [",".join(r) + "\n" for r in [list(ENTERPRISES.names), *table]]
    csv.write_text("".join(text), encoding="utf-8")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("企业")
    for row in [list(ENTERPRISES.names), *table]:
        sheet.append(row)
    xlsx = folder / "enterprises.xlsx"
    book.save(xlsx)
    return csv, xlsx


def import_once(path: Path) -> None:
    from inspect_engine.workflows.imports import import_file
    from models.db import make_engine, make_session_factory
    from models.migrate import upgrade

    engine = make_engine(f"sqlite:///{path.with_suffix('.db')}")
    upgrade(engine)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        report = import_file(session, "enterprises", path)
        session.commit()
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{path.suffix:6} {report.rows:>9,} rows  {seconds:7.1f} s  peak {peak:6.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        import_once(args.one)
        return
    with tempfile.TemporaryDirectory(prefix="bench-xlsx-") as folder:
        for path in write_files(Path(folder), args.rows):
            subprocess.run([sys.executable, "-m", "benchmarks.bench_xlsx", "--one", str(path)])


if __name__ == "__main__":
    main()
