"""Page and API tests must serve the production app (`api.app.create_app`): a fixture that
mounts routers itself would keep passing while production forgets to mount them."""

import re
from pathlib import Path

MOUNTING = re.compile(r"\.include_router\(|\bAPIRouter\(|\.add_api_route\(|\.mount\(")
ON_PURPOSE = "# wiring: added to the production app"  # e.g. a route that fails on purpose


def test_no_test_mounts_routers_itself() -> None:
    tests = Path(__file__).resolve().parent
    offenders = [
        f"{path.relative_to(tests)}:{number}"
        for path in sorted(tests.rglob("*.py"))
        if path.name != Path(__file__).name
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MOUNTING.search(line) and ON_PURPOSE not in line
    ]
    assert offenders == [], "use api.app.create_app instead: " + ", ".join(offenders)
