"""verify.py's command line beyond the record: the values announced before the draw, and the
hand-over to the teams verifier (which must not drag numpy into the draw check)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import inspect_engine
from inspect_engine import verify

ROOT = Path(__file__).resolve().parents[2]
THIRD_PARTY = ("numpy", "ortools", "sqlalchemy")
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
    # -I -S: no environment, no user or site packages (the project is installed there)
    command = [sys.executable, *(["-I", "-S"] if isolated else []), *args]
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


# --------------------------------------------------------------------------- --teams


def test_teams_without_the_project_is_a_clear_error(tmp_path: Path) -> None:
    """verify.py downloaded alone (isolated: the project is not importable)."""
    alone = tmp_path / "verify.py"
    shutil.copy(verify.__file__, alone)
    done = run(str(alone), "--teams", "plan.json", cwd=tmp_path, isolated=True)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("ERROR: --teams needs the project's teams verifier")
    assert "Traceback" not in done.stderr


def test_teams_is_handed_to_the_teams_verifier(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def fake_main(argv: list[str]) -> int:
        seen.append(argv)
        return 7

    fake = types.ModuleType("inspect_engine.teams_verify")
    fake.main = fake_main  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "inspect_engine.teams_verify", fake)
    monkeypatch.setattr(inspect_engine, "teams_verify", fake, raising=False)
    assert verify.main(["--teams", "plan.json"]) == 7
    assert seen == [["--teams", "plan.json"]]


def imported_modules(*args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Every module a Python run imports, from its `-X importtime` report."""
    done = run("-X", "importtime", *args)
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[-1].strip() for line in lines[1:]}, done


def test_draw_check_imports_no_third_party_module(record: Record, tmp_path: Path) -> None:
    modules, done = imported_modules(
        "-m", "inspect_engine.verify", write(tmp_path / "r.json", record)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert {"json", "hashlib"} <= modules  # the report was read
    assert not {m for m in modules if m.split(".")[0] in THIRD_PARTY}


def test_import_report_would_show_numpy() -> None:
    """The check above can fail: a run that imports numpy shows it."""
    modules, _ = imported_modules("-c", "import numpy")
    assert "numpy" in modules
