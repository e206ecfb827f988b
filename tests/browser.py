"""What the real-browser tests share: Debian's Chromium, its flags, a free loopback port,
axe-core (the accessibility check of every page) and the Tab key."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

ROOT = Path(__file__).resolve().parents[1]
AXE = Path(os.environ.get("AXE_CORE_JS", ROOT / ".cache/node/node_modules/axe-core/axe.min.js"))
BLOCKING = ("serious", "critical")  # the impacts that fail a page (issue 19, GB/T 37668)
CHROMIUM = Path("/usr/bin/chromium")
# Headless as root on a closed network: no sandbox, no GPU, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served_by_uvicorn(app: Any) -> Iterator[str]:
    """The app on a free loopback port in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class Axe:
    """Runs axe-core in the page; keeps every finding for the report."""

    def __init__(self) -> None:
        if not AXE.exists():
            if os.environ.get("CI"):
                pytest.fail(f"no {AXE}: .ci/run must call scripts/install-axe.sh")
            pytest.skip("no axe-core: run scripts/install-axe.sh")
        self.pages: list[dict[str, Any]] = []

    def check(self, page: Any, name: str) -> None:
        """Scans the page and fails at once on a serious or critical violation."""
        blocking = self.scan(page, name)
        assert not blocking, f"{name}: {json.dumps(blocking, ensure_ascii=False)}"

    def scan(self, page: Any, name: str) -> list[dict[str, Any]]:
        """Scans the page, keeps its findings and returns the blocking ones."""
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("async () => await axe.run(document)")
        violations = [
            {
                "id": v["id"],
                "impact": v["impact"],
                "help": v["help"],
                "nodes": [n["target"] for n in v["nodes"]],
            }
            for v in found["violations"]
        ]
        self.pages.append(
            {"page": name, "url": page.url, "violations": violations,
             "passes": len(found["passes"]), "incomplete": len(found["incomplete"])}
        )  # fmt: skip
        return [v for v in violations if v["impact"] in BLOCKING]

    def blocking(self) -> dict[str, list[str]]:
        """Page name -> the rules it breaks seriously or critically, over every scan."""
        found = {
            p["page"]: [v["id"] for v in p["violations"] if v["impact"] in BLOCKING]
            for p in self.pages
        }
        return {name: rules for name, rules in found.items() if rules}

    def write(self, path: Path) -> None:
        report = {"engine": "axe-core", "pages": self.pages}
        path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def tab_to(page: Any, selector: str, limit: int = 200) -> None:
    """Presses Tab until the element focused matches `selector` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")
