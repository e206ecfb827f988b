"""Shared helpers for the benchmarks: timing, peak memory, databases, table printing."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# one transaction as a CLI command owns it; the steps import it from here
from models.db import transaction as transaction

CACHE = Path(__file__).parent / "cache"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/inspect_engine_bench"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
BACKENDS = ("sqlite", "postgresql")
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


# --------------------------------------------------------------------------- memory per step


def reset_peak() -> None:
    """Start a new peak-memory window (Linux: VmHWM is reset by clear_refs 5)."""
    # Not Linux, or not allowed: peak_since_reset_mib() then reports the process peak.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_since_reset_mib() -> float:
    """Peak resident memory since the last reset_peak() (the process peak as fallback)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def load_average() -> float:
    """The one-minute load average: other work on the machine slows every figure."""
    return os.getloadavg()[0]


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    stdout: str
    seconds: float
    peak_mib: float  # the child's maximum resident set size


def run_child(argv: Sequence[str], *, echo: bool = True) -> ChildRun:
    """Run a benchmark step in its own process and read its own peak memory (wait4)."""
    started = time.perf_counter()
    with subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1
    ) as child:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line)
            if echo and not line.startswith("{"):
                print(f"    {line.rstrip()}", flush=True)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        child.returncode, "".join(lines), time.perf_counter() - started, usage.ru_maxrss / 1024
    )


# --------------------------------------------------------------------------- databases


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


@dataclass(frozen=True)
class States:
    """Named database states of one benchmark city (e.g. "imported", "scored", "work"),
    kept between runs so that one step can be measured again without redoing the others.

    SQLite: one file per state under benchmarks/cache/db/. PostgreSQL: one database per
    state on the local server, copied with CREATE DATABASE ... TEMPLATE."""

    backend: str
    city: str  # e.g. "guangzhou-1"

    def _path(self, state: str) -> Path:
        return CACHE / "db" / f"{self.city}-{state}.sqlite"

    def _database(self, state: str) -> str:
        return f"ie_bench_{self.city.replace('-', '_')}_{state}"

    def url(self, state: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self._path(state)}"
        return PG_SERVER + self._database(state)

    def exists(self, state: str) -> bool:
        if self.backend == "sqlite":
            return self._path(state).exists()
        with _pg_admin() as run:
            found = run(f"SELECT 1 FROM pg_database WHERE datname = '{self._database(state)}'")
        return bool(found)

    def drop(self, state: str) -> None:
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self._path(state)}{suffix}").unlink(missing_ok=True)
            return
        with _pg_admin() as run:
            run(f'DROP DATABASE IF EXISTS "{self._database(state)}" WITH (FORCE)')

    def create_empty(self, state: str) -> str:
        self.drop(state)
        if self.backend == "sqlite":
            self._path(state).parent.mkdir(parents=True, exist_ok=True)
        else:
            with _pg_admin() as run:
                run(f'CREATE DATABASE "{self._database(state)}"')
        return self.url(state)

    def copy(self, source: str, target: str) -> str:
        """`target` becomes a copy of `source` (which must not be open elsewhere)."""
        self.drop(target)
        if self.backend == "sqlite":
            for suffix in ("", "-wal"):
                origin = Path(f"{self._path(source)}{suffix}")
                if origin.exists():
                    shutil.copyfile(origin, f"{self._path(target)}{suffix}")
        else:
            with _pg_admin() as run:
                run(
                    f'CREATE DATABASE "{self._database(target)}" '
                    f'TEMPLATE "{self._database(source)}"'
                )
        return self.url(target)

    def rename(self, source: str, target: str) -> None:
        self.drop(target)
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                origin = Path(f"{self._path(source)}{suffix}")
                if origin.exists():
                    origin.replace(f"{self._path(target)}{suffix}")
            return
        with _pg_admin() as run:
            run(f'ALTER DATABASE "{self._database(source)}" RENAME TO "{self._database(target)}"')


@contextmanager
def _pg_admin() -> Iterator[Callable[[str], list[tuple[object, ...]]]]:
    engine = create_engine(PG_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:

            def run(sql: str) -> list[tuple[object, ...]]:
                result = conn.execute(text(sql))
                return [tuple(r) for r in result] if result.returns_rows else []

            yield run
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- output


def print_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))


def call(fn: Callable[[], T]) -> T:
    return fn()
