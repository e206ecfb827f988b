"""The public results feed under load: 50 concurrent clients over 1,000,000 published results.

    .venv/bin/python -m benchmarks.bench_feed [--backend postgresql|sqlite] [--clients 50]
        [--rate 1] [--seconds 30] [--workers 2] [--reuse]

Fills a database of its own once (publications only, with foreign-key checks off for the
fill: the public list reads the publication snapshots alone), starts the API with uvicorn on
127.0.0.1 (loopback only), and lets `--clients` clients ask for pages of /public/results,
each `--rate` times a second (1: fifty people paging through results; 0: again as soon as
answered, which measures throughput), for `--seconds` (bounded: a request times out after 10
s). The requests mix the public list's uses: the latest page, a district, a department and a
month, one result code, a credit code, part of an enterprise name, and the next page through
a cursor (`--kinds` chooses among them). Prints p50/p95/p99 latency and throughput, overall
and per kind of query, the server's CPU time per request (its processes' user + system time
over the run: unlike latency, hardly moved by other work on the machine), and one JSON line
for benchmarks.run. Target (issue 9): p95 under 50 ms. Clients and server share the
machine's two cores, so the figures are worse than a separate load generator would see."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from benchmarks.common import CACHE, States, load_average, transaction

RESULTS = 1_000_000
DISTRICTS = ("440103", "440104", "440105", "440106", "440111", "440112", "440113", "440114",
             "440115", "440117", "440118")  # fmt: skip
DEPARTMENTS = ("SAMR", "SAMR", "SAMR", "SAMR", "HEALTH", "FIRE", "ECOENV")
# result codes in about the shares a city publishes (most inspections find nothing)
RESULT_MIX = (("no_problem", 82), ("corrected", 8), ("not_disclosed", 4), ("pending", 2),
              ("unreachable", 2), ("no_activity", 1), ("non_cooperation", 1))  # fmt: skip
NAMES = ("餐饮店", "商贸有限公司", "科技有限公司", "食品经营部", "五金店", "美容美发店", "药房")
COLUMNS = (
    "id", "result_id", "due_on", "published_at", "state", "updated_at", "visit_code",
    "task_code", "credit_code", "enterprise_name", "district", "department", "item_code",
    "result", "inspected_on", "version",
)  # fmt: skip
FIRST_DAY = date(2024, 1, 1)
DAYS = 1000


def publications(count: int, seed: int = 2026) -> Iterator[tuple[Any, ...]]:
    """Published result lines over `DAYS` days: one enterprise per three lines (a visit
    checks several items), names and codes that look like a city's."""
    rng = random.Random(seed)
    results = [code for code, share in RESULT_MIX for _ in range(share)]
    published = datetime(2026, 11, 1)
    for n in range(1, count + 1):
        visit = (n - 1) // 3
        district = DISTRICTS[visit % len(DISTRICTS)]
        day = FIRST_DAY + timedelta(days=visit * DAYS // (count // 3 + 1))
        yield (
            n, n, day + timedelta(days=28), published, "current", published,
            f"{day:%Y-%m}-{visit:07d}", f"{day:%Y-%m}-SAMR-INFO", f"91{district}{visit:010d}",
            f"广州市{visit % 9973}号{NAMES[visit % len(NAMES)]}", district,
            DEPARTMENTS[visit % len(DEPARTMENTS)], f"ITEM-{n % 25:02d}", rng.choice(results),
            day, 1,
        )  # fmt: skip


def fill(url: str, count: int) -> None:
    from models.db import make_engine
    from models.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    raw = engine.raw_connection()
    names = ", ".join(COLUMNS)
    try:
        cursor = raw.cursor()
        if url.startswith("postgresql"):
            cursor.execute("SET session_replication_role = replica")  # no FK triggers
            with cursor.copy(f"COPY publications ({names}) FROM STDIN") as copy:
                for row in publications(count):
                    copy.write_row(row)
            raw.commit()
        else:
            cursor.execute("PRAGMA foreign_keys=OFF")
            cursor.execute("BEGIN")
            marks = ", ".join("?" for _ in COLUMNS)
            rows = publications(count)
            while chunk := [_sqlite_values(r) for r in islice(rows, 100_000)]:
                cursor.executemany(f"INSERT INTO publications ({names}) VALUES ({marks})", chunk)
            cursor.execute("COMMIT")
    finally:
        raw.close()
    # what autovacuum / a DBA does after a bulk load: fresh statistics for the planner
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE publications" if "postgresql" in url else "ANALYZE"))
    engine.dispose()


def _sqlite_values(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Dates and times as SQLAlchemy stores them in SQLite (ISO text)."""
    return tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else
                 v.isoformat() if isinstance(v, date) else v for v in row)  # fmt: skip


def migrate(url: str) -> None:
    from models.db import make_engine
    from models.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def stored(url: str) -> int:
    try:
        with transaction(url) as session:
            return int(session.scalar(text("SELECT count(*) FROM publications")) or 0)
    except Exception:  # no database or no table yet
        return 0


KINDS = ("latest", "district", "department-month", "result", "credit-code", "name", "next-page")
NAME_PARTS = ("餐饮店", "药房", "五金", "9972号", "1234号美容")


def query_mix(rng: random.Random, kinds: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """One request of the public list: its kind and its query parameters."""
    kind = rng.choice(kinds)
    if kind == "district":
        return kind, {"district": rng.choice(DISTRICTS)}
    if kind == "department-month":
        first = FIRST_DAY + timedelta(days=rng.randrange(DAYS - 31))
        return kind, {
            "department": rng.choice(DEPARTMENTS),
            "date_from": first.isoformat(),
            "date_to": (first + timedelta(days=30)).isoformat(),
        }
    if kind == "result":
        return kind, {"result": rng.choice(["pending", "unreachable", "corrected"])}
    if kind == "credit-code":
        district = rng.choice(DISTRICTS)
        return kind, {"q": f"91{district}{rng.randrange(RESULTS // 3):010d}"}
    if kind == "name":
        return kind, {"q": rng.choice(NAME_PARTS)}
    return kind, {}  # latest; next-page: the latest page, then the one after it


Latency = tuple[str, float]  # kind of query, seconds


async def client(
    base: str,
    seed: int,
    until: float,
    rate: float,
    kinds: tuple[str, ...],
    latencies: list[Latency],
    errors: list[str],
) -> None:
    """One client: a request (sometimes two, following the cursor), then the next one at
    its scheduled time (`rate` per second, from a random phase) or at once when rate is 0."""
    rng = random.Random(seed)
    interval = 1 / rate if rate > 0 else 0.0
    next_at = time.perf_counter() + rng.random() * interval
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as http:
        while time.perf_counter() < until:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += interval
            kind, params = query_mix(rng, kinds)
            started = time.perf_counter()
            try:
                answer = await http.get("/public/results", params=params)
                follow = kind == "next-page" and answer.status_code == 200
                cursor = answer.json().get("next_cursor") if follow else None
                if cursor:
                    latencies.append(("latest", time.perf_counter() - started))
                    started = time.perf_counter()
                    answer = await http.get("/public/results", params={"cursor": cursor})
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                continue
            if answer.status_code != 200:
                errors.append(f"HTTP {answer.status_code}")
                continue
            latencies.append((kind, time.perf_counter() - started))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the API server exited with status {server.returncode}")
        try:
            if httpx.get(base + "/public/results", params={"limit": 1}, timeout=5).is_success:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the API server did not answer within a minute")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process and its descendants so far (Linux /proc; None
    elsewhere). Children that exited are counted by their parent only once reaped."""
    tick = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    try:
        while pending:
            current = pending.pop()
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
    except (OSError, ValueError, IndexError):
        return None
    return total


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)

    def at(share: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)

    if not ordered:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99)}


def measure(
    url: str,
    clients: int,
    seconds: float,
    workers: int,
    rate: float,
    kinds: tuple[str, ...],
    http: str = "auto",
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "INSPECT_DATABASE_URL": url}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning", "--no-access-log", "--http", http,
         "--loop", "asyncio" if http == "h11" else "auto"],
        env=env, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    try:
        wait_until_up(base, server)
        latencies: list[Latency] = []
        errors: list[str] = []
        until = time.perf_counter() + seconds

        async def crowd() -> None:
            await asyncio.gather(
                *(client(base, k, until, rate, kinds, latencies, errors) for k in range(clients))
            )

        cpu_before, clients_before = cpu_seconds(server.pid), time.process_time()
        started = time.perf_counter()
        asyncio.run(crowd())
        elapsed = time.perf_counter() - started
        cpu_after, clients_cpu = cpu_seconds(server.pid), time.process_time() - clients_before
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    every = [t for _, t in latencies]
    server_cpu = (
        round(1000 * (cpu_after - cpu_before) / len(every), 2)
        if every and cpu_before is not None and cpu_after is not None
        else None
    )
    by_kind = {
        kind: {"requests": len(times), **percentiles(times)}
        for kind in (*kinds, "latest")
        if (times := [t for k, t in latencies if k == kind])
    }
    return {
        "requests": len(every),
        "errors": len(errors),
        "seconds": round(elapsed, 1),
        "per_second": round(len(every) / elapsed, 1),
        **percentiles(every),
        "mean_ms": round(1000 * statistics.fmean(every), 1) if every else 0,
        "server_cpu_ms": server_cpu,
        "client_cpu_ms": round(1000 * clients_cpu / len(every), 2) if every else None,
        "load": round(load_average(), 2),
        "kinds": by_kind,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--results", type=int, default=RESULTS)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--http",
        choices=("auto", "httptools", "h11"),
        default="auto",
        help="uvicorn's HTTP parser (h11: the pure-Python one, with the asyncio loop)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1.0,
        help="requests per second per client (0: each client asks again as soon as answered)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"kinds of query to mix, among {', '.join(KINDS)}",
    )
    args = parser.parse_args(argv)
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip())
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown or not kinds:
        parser.error(f"unknown kind(s) of query: {', '.join(unknown) or '(none)'}")
    CACHE.mkdir(exist_ok=True)
    states = States(args.backend, "feed")
    url = states.url(f"{args.results}")
    if not (args.reuse and stored(url) == args.results):
        states.create_empty(f"{args.results}")
        started = time.perf_counter()
        fill(url, args.results)
        print(f"filled {args.results:,} publications in {time.perf_counter() - started:.0f} s")
    else:
        migrate(url)  # a database filled by older code gets this code's schema
    figures = measure(url, args.clients, args.seconds, args.workers, args.rate, kinds, args.http)
    pace = f"{args.rate:g} request/s each" if args.rate > 0 else "no pause"
    print(
        f"{args.backend}: {args.clients} clients ({pace}) for {figures['seconds']} s on loopback, "
        f"{args.workers} worker(s): {figures['requests']:,} requests "
        f"({figures['per_second']}/s), {figures['errors']} errors; "
        f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms; "
        f"CPU per request: server {figures['server_cpu_ms']} ms, clients "
        f"{figures['client_cpu_ms']} ms; load {figures['load']}"
    )
    for kind, row in figures["kinds"].items():
        print(
            f"  {kind:<17} {row['requests']:>6,} requests  p50 {row['p50_ms']:>7} ms  "
            f"p95 {row['p95_ms']:>7} ms  p99 {row['p99_ms']:>7} ms"
        )
    print(
        json.dumps(
            {"feed": figures, "backend": args.backend, "clients": args.clients, "rate": args.rate}
        )
    )


if __name__ == "__main__":
    main()
