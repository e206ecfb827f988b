"""OpenMP threads wait passively unless the user says otherwise (see inspect_engine/__init__)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = "import inspect_engine.risk.models, os; print(os.environ.get('OMP_WAIT_POLICY'))"


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_wait_policy_is_set_before_sklearn_loads(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert probe.stdout.strip() == expected


def test_sklearn_is_not_loaded_before_the_package_sets_it() -> None:
    """The setting only works if no OpenMP library is loaded before it is made."""
    code = "import sys, inspect_engine; print('sklearn' in sys.modules)"
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "False"
