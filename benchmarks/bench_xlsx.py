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

import xlsxwriter
from openpyxl import Workbook

from inspect_engine.formats.spec import ENTERPRISES
from tests.workflows import tinycity


def write_files(folder: Path, rows: int) -> tuple[Path, Path, Path]:
    """The same rows as CSV, as a workbook laid out as Excel and WPS save one (shared
    strings, the sheet's dimension first: written by XlsxWriter), and as openpyxl writes
    one (inline strings, no dimension: the engine's own exports)."""
    sample = {
        "entity_type": "company", "industry": "F52", "district": "440106",
        "unit": "440106-01", "registered_on": "2020-03-01", "registered_capital": "100000",
        "status": "active", "contact": "", "licences": "food_business", "tags": "",
        "lat": "23.1", "lon": "113.3",
    }  # fmt: skip
    table = []
    for k in range(rows):
        code = tinycity.credit_code(k + 1, "440106")
        own = {"credit_code": code, "name": f"企业{k}", "address": f"天河路{k}号"}
        table.append([own.get(name, sample.get(name, "")) for name in ENTERPRISES.names])
    header = list(ENTERPRISES.names)
    csv = folder / "enterprises.csv"
    csv.write_text("".join(",".join(r) + "\n" for r in [header, *table]), encoding="utf-8")
    excel = folder / "enterprises-excel.xlsx"
    book = xlsxwriter.Workbook(str(excel), {"strings_to_numbers": False})
    sheet = book.add_worksheet("企业")
    for at, row in enumerate([header, *table]):
        sheet.write_row(at, 0, row)
    book.close()
    mine = folder / "enterprises-openpyxl.xlsx"
    written = Workbook(write_only=True)
    own_sheet = written.create_sheet("企业")
    for row in [header, *table]:
        own_sheet.append(row)
    written.save(mine)
    return csv, excel, mine


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
    print(f"{path.name:26} {report.rows:>9,} rows  {seconds:7.1f} s  peak {peak:6.0f} MB")


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
