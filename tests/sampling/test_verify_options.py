"""verify.py's command line beyond the record: the values announced before the draw."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inspect_engine import verify

ROOT = Path(__file__).resolve().parents[2]
Record = dict[str, Any]


def names(results: list[verify.CheckResult]) -> list[str]:
    return [result.name for result in results]


@pytest.fixture()
def record(vectors: list[Record]) -> Record:
    return copy.deepcopy(vectors[0])


# --------------------------------------------------------------------------- announced values


def test_announced_values_that_match_pass(record: Record) -> None:
    results = verify.verify_record(record, record["commitment"], record["contribution"])
    assert all(result.ok for result in results), results
    assert names(results) == [
        "protocol",
        "lambda",
        "frame_hash",
        "group_hash",
        "commitment",
        "announced_commitment",
        "seed",
        "announced_contribution",
        "n",
        "selection",
    ]


def test_another_commitment_is_named(record: Record) -> None:
    results = verify.verify_record(record, expect_commitment="0" * 64)
    failure = verify.first_failure(results)
    assert failure is not None and failure.name == "announced_commitment"
    assert verify.exit_status(results) == verify.EXIT_FAILED


@pytest.mark.parametrize("typed", ["{}x", "{} ", " {}", "{}\n"])
def test_another_contribution_is_named(record: Record, typed: str) -> None:
    announced = typed.format(record["contribution"])  # used exactly as entered: " " counts
    failure = verify.first_failure(verify.verify_record(record, expect_contribution=announced))
    assert failure is not None and failure.name == "announced_contribution"


def test_public_record_is_compared_too(record: Record) -> None:
    del record["frame"]
    results = verify.verify_record(record, "0" * 64, record["contribution"])
    failure = verify.first_failure(results)
    assert failure is not None and failure.name == "announced_commitment"


def run(*args: str, cwd: Path = ROOT, isolated: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, *(["-I"] if isolated else []), *args]
    return subprocess.run(
        command, capture_output=True, text=True, encoding="utf-8", cwd=cwd, env=env,
        timeout=60, check=False,
    )  # fmt: skip


def write(path: Path, record: Record) -> str:
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_program_compares_announced_values(record: Record, tmp_path: Path) -> None:
    path = write(tmp_path / "r.json", record)
    module = ("-m", "inspect_engine.verify", path)
    upper = record["commitment"].upper()  # hex is case-blind
    good = run(
        *module, "--expect-commitment", upper, "--expect-contribution", record["contribution"]
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert "all 10 checks passed" in good.stdout and "note:" not in good.stdout

    bad = run(*module, "--expect-commitment", "a" * 64)
    assert bad.returncode == 1
    assert "FAILED: check 'announced_commitment'" in bad.stdout.splitlines()[-1]

    bad = run(*module, f"--expect-contribution={record['contribution']} ")
    assert bad.returncode == 1
    assert "FAILED: check 'announced_contribution'" in bad.stdout.splitlines()[-1]

    unchecked = run(*module)
    assert unchecked.returncode == 0
    assert "--expect-commitment and --expect-contribution" in unchecked.stdout


@pytest.mark.parametrize("value", ["abc", "g" * 64, ""])
def test_malformed_commitment_option_is_an_error(
    record: Record, tmp_path: Path, value: str
) -> None:
    done = run("-m", "inspect_engine.verify", write(tmp_path / "r.json", record),
               "--expect-commitment", value)  # fmt: skip
    assert done.returncode == 2
    assert "--expect-commitment must be 64 hexadecimal characters" in done.stderr
    assert "Traceback" not in done.stderr
