"""A drawn month for the service tests: the tiny city, inspectors of two departments, a
joint plan for September 2026 (so deadlines cross the Mid-Autumn and National Day
holidays), teams on every visit, and one user of every role with a token."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from inspect_engine.workflows.users import create_user, issue_token
from tests.workflows import tinycity

MONTH = "2026-09"
TASK_LINES = (
    "2026-09-INFO,企业公示信息抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,cross_office,2",
    "2026-09-FOOD,餐饮联合抽查,SAMR-FOOD;FIRE-CATER,true,H62,0.1,0.2,0.4,0.6,0.01,local,3",
)
# (inspector_id, department, unit, lead)
INSPECTORS = (
    ("S01", "SAMR", "440106-01", True),
    ("S02", "SAMR", "440105-01", True),
    ("F01", "FIRE", "440106-02", False),
    ("F02", "FIRE", "440105-02", False),
)
# username -> (role, departments, inspector_id)
USERS = {
    "admin": ("admin", (), None),
    "sup_samr": ("supervisor", ("SAMR",), None),
    "sup_fire": ("supervisor", ("FIRE",), None),
    "sup_all": ("supervisor", ("FIRE", "SAMR"), None),
    "insp_s01": ("inspector", (), "S01"),
    "insp_s02": ("inspector", (), "S02"),
    "auditor": ("auditor", (), None),
}


@dataclass
class City:
    tokens: dict[str, str]
    # visit code -> (inspector ids of its team, item codes)
    visits: dict[str, tuple[tuple[str, ...], tuple[str, ...]]]
    credit_codes: list[str]
    names: dict[str, str] = field(default_factory=dict)

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def visits_of(self, inspector_id: str, *item_codes: str) -> list[str]:
        """The inspector's visits that carry every one of `item_codes`."""
        return sorted(
            code
            for code, (team, items) in self.visits.items()
            if inspector_id in team and set(item_codes) <= set(items)
        )


def populate(session: Session, folder: Path) -> City:
    codes = tinycity.build(session)
    for inspector_id, department, unit, lead in INSPECTORS:
        session.add(
            models.Inspector(
                inspector_id=inspector_id,
                name=f"检查员{inspector_id}",
                department=department,
                unit=unit,
                district=unit[:6],
                qualifications="food;fire",
                certificate_expires=date(2028, 12, 31),
                lead=lead,
                monthly_capacity=200,
            )
        )
    session.flush()
    plan_month(session, MONTH, tinycity.tasks_file(folder, TASK_LINES))
    freeze_month(session, MONTH, ExclusionPolicy())
    draw_month(session, MONTH, "dice 3-1-4-1-5")
    visits: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    rows = session.scalars(select(models.Visit).order_by(models.Visit.visit_code)).all()
    for number, visit in enumerate(rows):
        team = ("S01", "F01") if number % 2 == 0 else ("S02", "F02")
        for inspector_id in team:
            role = "lead" if inspector_id.startswith("S") else "member"
            session.add(models.TeamMember(visit_id=visit.id, inspector_id=inspector_id, role=role))
        visits[visit.visit_code] = (team, tuple(visit.item_codes))
    plan = session.scalars(select(models.Plan).where(models.Plan.month == MONTH)).one()
    plan.status = "assigned"  # teams written above stand for the assignment step
    tokens = {}
    for username, (role, departments, inspector_id) in USERS.items():
        create_user(session, username, role, departments=departments, inspector_id=inspector_id)
        tokens[username] = issue_token(session, username).token
    session.flush()
    names = dict(
        session.execute(select(models.Enterprise.credit_code, models.Enterprise.name))
        .tuples()
        .all()
    )
    return City(tokens, visits, codes, names)
