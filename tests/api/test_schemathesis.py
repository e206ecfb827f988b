"""Property-based requests generated from the OpenAPI schema (schemathesis), sent as every
role an attacker may hold: the public, an inspector, a supervisor of one department, an
auditor and an administrator.

Every answer must be no server error, a status the operation documents, of the content
type it documents and matching its response schema. Each role runs every operation on
its own (a few examples each, a few hundred in all) and then schemathesis' stateful
test, which follows the links it infers between operations (an id one answer returns is
used by the next request). The runs are derandomized so that CI is stable; the HTML forms
are fuzzed in test_form_fuzz.py. Operations are driven with Hypothesis directly rather
than through schemathesis' pytest plugin, whose lazy fixtures do not run on pytest 9."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

from tests.api.conftest import Service
from tests.api.servicecity import MONTH

ROLES = {
    "public": None,
    "inspector": "insp_s01",
    "supervisor": "sup_samr",
    "auditor": "auditor",
    "admin": "admin",
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 12
STATEFUL_SCENARIOS = 25
STATEFUL_STEPS = 6
QUIET = list(HealthCheck)
# The operations each role's stateful run walks between: its own and the public ones
# (deactivating users is left out: the run would switch off the roles' own accounts).
STATEFUL_PATHS = {
    "public": "^/public/",
    "inspector": "^/(inspector|field)/",
    "supervisor": "^/(supervisor|public)/",
    "auditor": "^/(auditor|public)/",
}
# No stateful run as the admin: his links create users that later examples see, which
# Hypothesis reports as inconsistent data; the per-operation run covers his operations.
# An operation that answers 200 in a stateful run only if a link carried a real value to it
REACHED_BY_LINKS = {
    "public": "GET /public/draws/{task_code}",
    "auditor": "GET /auditor/draws/{task_code}",
}


def _settings(examples: int, **extra: Any) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=QUIET,
        derandomize=True,
        database=None,
        **extra,
    )


def _real_values(service: Service) -> dict[str, str]:
    """Path parameters that name the city's own month, draw, visit and enterprise: random
    ones mostly answer 404 before the rest of the request is looked at."""
    return {
        "month": MONTH,
        "task_code": f"{MONTH}-FOOD",
        "visit_code": service.city.visits_of("S01")[0],
        "credit_code": service.city.credit_codes[0],
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_as_each_role(service: Service, role: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.client.app)
    user = ROLES[role]
    headers = service.city.headers(user) if user else {}
    failures: list[str] = []
    statuses: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30  # every router is in the schema

    for operation in operations:

        @given(case=operation.as_strategy(), real=st.booleans())
        @_settings(EXAMPLES_PER_OPERATION)
        def exercise(case: schemathesis.Case, real: bool) -> None:
            if real and case.method == "GET":  # reads reach the city's data, writes change nothing
                known = _real_values(service)
                for name in case.path_parameters or {}:
                    case.path_parameters[name] = known.get(name, case.path_parameters[name])
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.append(response.status_code)

        try:
            exercise()
        except (Exception, FailureGroup) as exc:  # collect every failing operation, then fail once
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)
    # the run reached the workflows: requests succeeded as well as being refused
    assert sum(1 for s in statuses if s < 300) >= 5, Counter(statuses)
    assert len(statuses) >= 200, len(statuses)  # a few hundred requests per role
    if user is None:
        assert 401 in statuses
    else:
        assert 403 in statuses or role == "admin"


@pytest.mark.parametrize("role", sorted(STATEFUL_PATHS))
def test_stateful_links_as_each_role(service: Service, role: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", service.client.app)
    schema = schema.include(path_regex=STATEFUL_PATHS[role])
    user = ROLES[role]
    headers = service.city.headers(user) if user else {}
    steps: list[tuple[str, int]] = []

    class AsRole(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: schemathesis.Case, **kw: Any) -> None:
            steps.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS)

    AsRole.run(settings=_settings(STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS))
    assert len(steps) >= STATEFUL_SCENARIOS
    if role in REACHED_BY_LINKS:  # a real task code only comes from a previous answer
        assert (REACHED_BY_LINKS[role], 200) in steps, Counter(steps)
