"""`inspect-engine audit verify` over a long audit log: seconds, peak memory, bare limit.

    .venv/bin/python -m benchmarks.bench_audit [--backend sqlite|postgresql]
        [--entries 1000000] [--reuse]

Fills a database of its own once (benchmarks/cache/db/audit-<N>.sqlite, or the PostgreSQL
database ie_bench_audit_<N>) with a chained log of N entries, hashed by the same
`audit.entry_hash` that `audit.record` uses (inserted in bulk: appending a million entries
one transaction at a time would measure the fill, not the check). Then runs the CLI's
`audit verify --expect-head` as a user would, in its own process, and beside it the bare
limit: reading the same rows in id order and nothing else. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import islice
from typing import Any

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from benchmarks.common import States, load_average, transaction
from inspect_engine.workflows import audit
from models import AuditEntry

ACTIONS = ("plan.tasks", "plan.freeze", "plan.draw", "plan.assign", "result.submit",
           "result.review", "result.publish", "import.enterprises")  # fmt: skip
BATCH = 10_000


def entries(count: int) -> Iterator[dict[str, Any]]:
    """A plausible log: actors, actions and months cycling, small details, one chain."""
    prev = audit.GENESIS
    start = datetime(2024, 1, 1)
    for n in range(count):
        at = start + timedelta(seconds=37 * n, microseconds=n % 1000)
        actor = f"sup_{n % 40:02d}"
        action = ACTIONS[n % len(ACTIONS)]
        subject = f"{2024 + n // 400_000}-{n // 33_334 % 12 + 1:02d}"
        details = {"rows": n % 977, "file": f"upload-{n}.csv"}
        digest = audit.entry_hash(prev, at, actor, action, subject, details)
        yield {
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details,
            "prev_hash": prev,
            "entry_hash": digest,
        }
        prev = digest


def fill(url: str, count: int) -> None:
    from models.db import make_engine
    from models.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    table: Table = AuditEntry.__table__  # type: ignore[assignment]
    rows = entries(count)
    with transaction(url) as session:
        while batch := list(islice(rows, BATCH)):
            session.execute(insert(table), batch)


def stored(url: str) -> int:
    try:
        with transaction(url) as session:
            return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
    except Exception:  # no database or no table yet
        return 0


def bare_read_seconds(session: Session) -> float:
    """The rows `verify` reads, in the same order and chunks, and nothing done with them."""
    started = time.perf_counter()
    last = 0
    columns = "id, at, actor, action, subject, details, prev_hash, entry_hash"
    while True:
        chunk = session.execute(
            text(f"SELECT {columns} FROM audit_log WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": audit.CHUNK},
        ).all()
        if not chunk:
            return time.perf_counter() - started
        last = chunk[-1][0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    args = parser.parse_args(argv)
    states = States(args.backend, "audit")
    url = states.url(str(args.entries))
    if not (args.reuse and stored(url) == args.entries):
        states.create_empty(str(args.entries))
        started = time.perf_counter()
        fill(url, args.entries)
        print(f"filled {args.entries:,} entries in {time.perf_counter() - started:.0f} s")
    with transaction(url) as session:
        head = audit.chain_head(session)
        bare = bare_read_seconds(session)
    env = {**os.environ, "INSPECT_DATABASE_URL": url}
    started = time.perf_counter()
    checked = subprocess.run(
        [sys.executable, "-m", "inspect_engine.cli", "audit", "verify", "--expect-head",
         str(head)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures = {
        "backend": args.backend,
        "entries": args.entries,
        "verify_seconds": round(seconds, 1),
        "bare_read_seconds": round(bare, 1),
        "peak_mib": round(peak),
        "exit": checked.returncode,
        "load": round(load_average(), 2),
    }
    print(checked.stdout.strip() or checked.stderr.strip())
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
