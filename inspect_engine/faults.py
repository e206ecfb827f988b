"""Crash points for the resilience tests: with INSPECT_CRASH_AT=<name> in the environment
the process kills itself (SIGKILL, no cleanup) when it reaches that point, exactly as a
power cut would. Unset, a checkpoint costs one dictionary lookup."""

from __future__ import annotations

import os
import signal


def checkpoint(name: str) -> None:
    if os.environ.get("INSPECT_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
