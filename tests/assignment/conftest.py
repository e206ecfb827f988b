"""Builders for the assignment tests: a fixed month, team seeds and terse factories.

`assign` takes the team seed of the protocol (ie-teams-v1): `keys.team_seed(plan seed,
staffing hash)`. The tests derive theirs from a label and a fixed stand-in staffing hash,
so that a different label is a different team seed, as it is in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import pytest

from inspect_engine.assignment import (
    DepartmentNeed,
    Inspector,
    Month,
    OfficeMode,
    Visit,
    team_seed,
)

STAFFING_HASH = "5a" * 32
"""A stand-in staffing hash: the tests build their staffing in memory, not from a snapshot."""


def seed_for(label: str) -> str:
    """The team seed of a plan whose revealed seed is `label`."""
    return team_seed(label, STAFFING_HASH)


# December 2026 with Monday-Friday working days (23), written out so that the tests do not
# depend on the official calendar package.
DECEMBER = Month(
    first_day=date(2026, 12, 1),
    last_day=date(2026, 12, 31),
    working_days=tuple(
        date(2026, 12, 1) + timedelta(days=k)
        for k in range(31)
        if (date(2026, 12, 1) + timedelta(days=k)).weekday() < 5
    ),
    calendar_source="weekdays",
)


@pytest.fixture(scope="session")
def month() -> Month:
    return DECEMBER


@pytest.fixture(scope="session")
def seed() -> Callable[[str], str]:
    """`seed("plan-1")`: the team seed of the plan seed "plan-1" (see `seed_for`)."""
    return seed_for


@pytest.fixture(scope="session")
def make_inspector() -> Callable[..., Inspector]:
    """`make_inspector("I1", dept="SAMR", unit="440106-01", quals=("food",), ...)`."""

    def make(
        inspector_id: str,
        dept: str = "SAMR",
        unit: str = "440106-01",
        quals: Iterable[str] = (),
        capacity: int = 5,
        **extra: Any,
    ) -> Inspector:
        fields: dict[str, Any] = {
            "district": unit[:6],
            "certificate_expires": date(2027, 6, 30),
            "lead": False,
            "active": True,
            "leave": (),
        }
        fields.update(extra)
        return Inspector(
            inspector_id=inspector_id,
            department=dept,
            unit=unit,
            qualifications=frozenset(quals),
            monthly_capacity=capacity,
            **fields,
        )

    return make


@pytest.fixture(scope="session")
def make_visit() -> Callable[..., Visit]:
    """`make_visit("V1", needs={"SAMR": ("food",)}, unit="440106-03", size=2, ...)`."""

    def make(
        visit_id: str,
        needs: dict[str, Iterable[str]] | None = None,
        unit: str = "440106-03",
        size: int = 2,
        mode: OfficeMode = OfficeMode.CROSS_OFFICE,
        want_lead: bool = False,
        credit_code: str | None = None,
    ) -> Visit:
        needs = needs if needs is not None else {"SAMR": ()}
        return Visit(
            visit_id=visit_id,
            credit_code=credit_code or f"C-{visit_id}",
            unit=unit,
            district=unit[:6],
            needs=tuple(DepartmentNeed(d, frozenset(q)) for d, q in sorted(needs.items())),
            mode=mode,
            team_size=size,
            want_lead=want_lead,
        )

    return make
