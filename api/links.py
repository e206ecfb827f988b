"""OpenAPI links: where a client goes next with values of an answer (a listed visit's
code, a plan's task codes). Clients read them from the schema, and the stateful schema
test (tests/api/test_schemathesis.py) follows them from one request to the next."""

from __future__ import annotations

from typing import Any


def follow(path: str, method: str = "get", **parameters: str) -> dict[str, Any]:
    """A link to the operation at `path`, its parameters given as runtime expressions
    (e.g. `$response.body#/items/0/visit_code`)."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method}", "parameters": parameters}
