"""A month on the tiny city, run through the real workflows (plan, freeze, draw, assign),
with department names, addresses, the verification codes issued and one user per role.

The month is December 2026; tests fix "today" (the Asia/Shanghai clock of the results
workflow) inside it, so codes are valid and deadlines are known to the calendar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.workflows import field, results
from inspect_engine.workflows.assignment import assign_month
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from inspect_engine.workflows.signin import set_password
from inspect_engine.workflows.users import create_user, issue_token
from models.base import utcnow
from tests.workflows import tinycity

MONTH = "2026-12"
TODAY = date(2026, 12, 10)
DEPARTMENT_NAMES = {"SAMR": "市场监督管理局", "FIRE": "消防救援支队", "HEALTH": "卫生健康委员会"}


@dataclass
class FieldCity:
    tokens: dict[str, str]  # username -> bearer token
    inspectors: dict[str, str]  # inspector username -> inspector_id

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    @staticmethod
    def password(username: str) -> str:
        """Every user of the city signs in to the pages with this password."""
        return f"{username} 的密码-2026"


@contextmanager
def clock(day: date) -> Iterator[None]:
    """Fixes today's date (Asia/Shanghai) for the workflows and the pages."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(results, "today_in_shanghai", lambda: day)
        yield


def run_month(session: Session, folder: Path) -> None:
    """The tiny city, drawn and staffed for MONTH by the workflows themselves."""
    tinycity.build(session)
    for department in session.scalars(select(models.Department)):
        department.name = DEPARTMENT_NAMES.get(department.code)
    for n, enterprise in enumerate(session.scalars(select(models.Enterprise))):
        enterprise.address = f"广州市测试路{n + 1}号"
    tinycity.add_inspectors(session, per_unit=3, capacity=20)
    plan_month(session, MONTH, tinycity.tasks_file(folder))
    freeze_month(session, MONTH, ExclusionPolicy())
    draw_month(session, MONTH, "dice 2-7-1-8-2-8")
    assign_month(session, MONTH)
    field.issue_verify_codes(session, MONTH)
    session.flush()


def add_users(session: Session) -> FieldCity:
    """An admin, supervisors of each department and of both, an auditor, and two
    inspectors: the busiest one of a joint (SAMR + FIRE) visit and an idle colleague."""
    joint = joint_visit(session)
    on_team = team_of(session, joint.id)
    busy = on_team[0]
    idle = session.scalars(
        select(models.Inspector.inspector_id)
        .where(models.Inspector.inspector_id.not_in(on_team))
        .order_by(models.Inspector.inspector_id)
    ).first()
    assert idle is not None
    users = {
        "admin": ("admin", (), None),
        "sup_samr": ("supervisor", ("SAMR",), None),
        "sup_fire": ("supervisor", ("FIRE",), None),
        "sup_all": ("supervisor", ("FIRE", "SAMR"), None),
        "auditor": ("auditor", (), None),
        "insp_busy": ("inspector", (), busy),
        "insp_idle": ("inspector", (), idle),
    }
    tokens = {}
    for username, (role, departments, inspector_id) in users.items():
        create_user(session, username, role, departments=departments, inspector_id=inspector_id)
        tokens[username] = issue_token(session, username).token
        set_password(session, username, FieldCity.password(username), actor="cli", now=utcnow())
    session.flush()
    return FieldCity(tokens, {"insp_busy": busy, "insp_idle": idle})


def joint_visit(session: Session) -> models.Visit:
    """The first visit of the month that joins two departments' items."""
    for visit in session.scalars(select(models.Visit).order_by(models.Visit.visit_code)):
        if len(visit.departments) > 1 and team_of(session, visit.id):
            return visit
    raise AssertionError("the tiny city has no staffed joint visit")


def team_of(session: Session, visit_id: int) -> list[str]:
    return list(
        session.scalars(
            select(models.TeamMember.inspector_id)
            .where(models.TeamMember.visit_id == visit_id, models.TeamMember.replaced_at.is_(None))
            .order_by(models.TeamMember.role, models.TeamMember.inspector_id)
        )
    )
