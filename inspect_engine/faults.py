"""Crash points for the resilience tests: with INSPECT_CRASH_AT=<name> in the environment
the process kills itself (SIGKILL, no cleanup) when it reaches that point, exactly as a
power cut would. Unset, a checkpoint costs one dictionary lookup.

The points inside a transaction sit where rows are written but not yet committed:
  import.after_batch     a file's first batch is in its table (workflows/imports.py)
  draw.after_selections  the draws and selections are stored, not the visits (planning.py)
  assign.after_teams     the plan is claimed, teams and the run stored (assignment.py)
  publish.after_rows     publications, history rows and statuses written (results.py)
Between transactions, `month run` has run.before_<step> (month_run.py)."""

from __future__ import annotations

import os
import signal


def checkpoint(name: str) -> None:
    if os.environ.get("INSPECT_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
