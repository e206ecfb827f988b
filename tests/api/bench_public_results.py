"""Latency of the public results query (api.queries.public_results) over a million
published results. Not a test: run it by hand (or move it to benchmarks/).

    .venv/bin/python -m tests.api.bench_public_results postgresql+psycopg://postgres@127.0.0.1:5432/bench_pub
    .venv/bin/python -m tests.api.bench_public_results sqlite:////tmp/bench_pub.db

The database is created (PostgreSQL) or overwritten (SQLite), migrated, and filled with
publications only: foreign keys are switched off for the fill, since the query reads the
publication snapshots alone. `--reuse` measures an already filled database again."""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.queries import ResultFilter, public_results
from models.db import make_engine, make_session_factory
from models.migrate import upgrade

ROWS = 1_000_000
DISTRICTS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114",
             "440115", "440117", "440118")  # fmt: skip
DEPARTMENTS = ("SAMR", "SAMR", "SAMR", "HEALTH", "FIRE", "ECOENV")
RESULTS = ["no_problem"] * 80 + ["corrected"] * 8 + ["not_disclosed"] * 5 + ["pending"] * 3
RESULTS += ["unreachable"] * 2 + ["no_activity", "non_cooperation"]
KINDS = ("餐饮店", "商贸有限公司", "科技有限公司", "食品经营部", "五金店", "美容美发店")
REPEATS = 200


def _rows(rng: random.Random) -> list[tuple[object, ...]]:
    start = date(2024, 1, 1)
    now = datetime(2026, 11, 1)
    out = []
    for n in range(1, ROWS + 1):
        district = rng.choice(DISTRICTS)
        code = f"91{district}{n:09d}X"
        name = f"广州市{n % 9973}号{rng.choice(KINDS)}"
        day = start + timedelta(days=rng.randrange(0, 1030))
        out.append(
            (n, n, day + timedelta(days=28), now, "current", None, now, None,
             f"V{n // 3:08d}", "2026-01-TASK", code, name, district, rng.choice(DEPARTMENTS),
             "ITEM", rng.choice(RESULTS), day, 1)
        )  # fmt: skip
    return out


COLUMNS = ("id, result_id, due_on, published_at, state, reason, updated_at, corrects_id, "
           "visit_code, task_code, credit_code, enterprise_name, district, department, "
           "item_code, result, inspected_on, version")  # fmt: skip


def fill(url: str) -> None:
    rng = random.Random(7)
    rows = _rows(rng)
    engine = make_engine(url)
    upgrade(engine)
    if url.startswith("postgresql"):
        raw = engine.raw_connection()
        with raw.cursor() as cursor:  # type: ignore[attr-defined]
            cursor.execute("SET session_replication_role = replica")  # no FK checks
            with cursor.copy(f"COPY publications ({COLUMNS}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        raw.commit()
        raw.close()
        # what autovacuum does soon after a bulk load (GIN pending list, statistics)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE publications"))
    else:
        raw = engine.raw_connection()
        cursor = raw.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.execute("BEGIN")
        cursor.executemany(
            f"INSERT INTO publications ({COLUMNS}) VALUES ({', '.join('?' * 18)})", rows
        )
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
        raw.close()
    engine.dispose()


def _department_month(rng: random.Random) -> ResultFilter:
    first = date(2025, rng.randint(1, 12), 1)
    return ResultFilter(
        department=rng.choice(DEPARTMENTS), date_from=first, date_to=first + timedelta(days=30)
    )


def measure(url: str) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    rng = random.Random(11)
    cases: dict[str, Callable[[], ResultFilter]] = {
        "latest, no filter": ResultFilter,
        "district": lambda: ResultFilter(district=rng.choice(DISTRICTS)),
        "department + month": lambda: _department_month(rng),
        "rare result": lambda: ResultFilter(result="non_cooperation"),
        "credit code": lambda: ResultFilter(
            q=f"91{rng.choice(DISTRICTS)}{rng.randint(1, ROWS):09d}X"
        ),
        "name, common": lambda: ResultFilter(q=rng.choice(KINDS)),
        "name, rare": lambda: ResultFilter(q=f"广州市{rng.randint(1, 9972)}号"),
    }
    print(f"{url.split('://')[0]}: {ROWS:,} publications; {REPEATS} requests per case, each")
    print("  the first page of 50 and, where there is one, the next page by its cursor")
    for label, make in cases.items():
        timings = []
        for _ in range(REPEATS):
            filters = make()
            with factory() as session:
                started = time.perf_counter()
                page = public_results(session, filters, after=None, limit=51)
                if len(page) == 51:  # and the next page, through its cursor
                    public_results(
                        session, filters, after=(page[49].inspected_on, page[49].id), limit=51
                    )
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        p95 = timings[int(0.95 * len(timings)) - 1]
        print(f"  {label:<20} p50 {statistics.median(timings):7.1f} ms   p95 {p95:7.1f} ms")
    engine.dispose()


def main(url: str, reuse: bool = False) -> None:
    if reuse:  # the database was filled by an earlier run
        measure(url)
        return
    if url.startswith("postgresql"):
        parsed = make_url(url)
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    else:
        path = url.split("///", 1)[1]
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    fill(url)
    print(f"filled in {time.perf_counter() - started:.0f} s")
    measure(url)


if __name__ == "__main__":
    main(sys.argv[1], reuse="--reuse" in sys.argv[2:])
