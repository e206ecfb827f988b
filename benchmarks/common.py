"""Shared helpers for the benchmarks: timing, peak memory, databases, table printing."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

CACHE = Path(__file__).parent / "cache"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/inspect_engine_bench"
T = TypeVar("T")


@dataclass
class Timing:
    label: str
    seconds: float = 0.0


@contextmanager
def timed(label: str) -> Iterator[Timing]:
    timing = Timing(label)
    start = time.perf_counter()
    yield timing
    timing.seconds = time.perf_counter() - start


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(backend: str) -> str:
    """An empty database URL for `backend` (sqlite file in the cache, or PostgreSQL)."""
    if backend == "sqlite":
        CACHE.mkdir(exist_ok=True)
        path = CACHE / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = make_url(PG_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    return PG_URL


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def call(fn: Callable[[], T]) -> T:
    return fn()
