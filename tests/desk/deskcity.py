"""The tiny city before any plan, with the desk's users: a supervisor of both departments
(every task of the month is his), one of SAMR alone (the joint task is not only his), and
an inspector of each department to report results. November 2026: the official calendar
knows its deadlines; tests fix "today" inside it."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.workflows.signin import set_password
from inspect_engine.workflows.users import create_user
from models.base import utcnow
from tests.workflows import tinycity

MONTH = "2026-11"
TODAY = date(2026, 11, 20)
USERS = {"sup_all": ("FIRE", "SAMR"), "sup_samr": ("SAMR",)}


def password(username: str) -> str:
    return f"{username} 的密码-2026"


def build(session: Session) -> None:
    tinycity.build(session)
    tinycity.add_inspectors(session, per_unit=3, capacity=20)
    for username, departments in USERS.items():
        create_user(session, username, "supervisor", departments=departments)
        set_password(session, username, password(username), actor="cli", now=utcnow())
    session.flush()


def tasks_csv(folder: Path, month: str = MONTH, *, broken: bool = False) -> Path:
    """The tiny city's two tasks under the month's codes; `broken` spoils two cells."""
    lines = tuple(line.replace("2026-12", month) for line in tinycity.TASK_LINES)
    if broken:
        lines = (lines[0].replace(",0.05,", ",lots,"), re.sub(",local,", ",anywhere,", lines[1]))
    folder.mkdir(parents=True, exist_ok=True)
    return tinycity.tasks_file(folder, lines)


def team_member(session: Session, month: str) -> tuple[str, str, str]:
    """(visit code, item code, inspector id) of the first staffed visit of the month."""
    row = session.execute(
        select(models.Visit.visit_code, models.Visit.item_codes, models.TeamMember.inspector_id)
        .join(models.Plan, models.Plan.id == models.Visit.plan_id)
        .join(models.TeamMember, models.TeamMember.visit_id == models.Visit.id)
        .where(models.Plan.month == month, models.TeamMember.replaced_at.is_(None))
        .order_by(models.Visit.visit_code, models.TeamMember.inspector_id)
    ).first()
    assert row is not None, f"no staffed visit in {month}"
    return row[0], row[1][0], row[2]
