"""How long the progress board takes for a city-sized month (not a test: a measurement).

    .venv/bin/python -m tests.field.bench_board [DATABASE_URL] [--visits 20000]

Writes a synthetic month straight into a fresh database (default: a temporary SQLite
file): `--visits` visits of one or two items, teams of two or three, results for 60% of
the items in every state, a few hundred re-assignments, corrections and withdrawals; then
times `month_board` for an admin and for a one-department supervisor."""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

import models
from inspect_engine.workflows import field
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.workflows import tinycity

MONTH = "2026-12"
STATES = ("submitted", "returned", "reviewed", "published", "published", "withdrawn")


def populate(session: Session, visits: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    codes = tinycity.build(session, enterprises=visits)
    inspectors = tinycity.add_inspectors(session, per_unit=200, capacity=40)
    plan = models.Plan(month=MONTH, status="assigned", seed="0" * 64)
    session.add(plan)
    session.flush()
    session.add_all(
        [
            models.Task(task_code="T-INFO", plan_id=plan.id, title="信息", items=["SAMR-INFO"],
                        ratios={}),
            models.Task(task_code="T-FOOD", plan_id=plan.id, title="餐饮",
                        items=["SAMR-FOOD", "FIRE-CATER"], ratios={}),
        ]
    )  # fmt: skip
    session.flush()
    rows = []
    for n, code in enumerate(codes):
        food = n % 3 == 0
        rows.append(
            {
                "visit_code": f"{MONTH}-{n + 1:06d}",
                "plan_id": plan.id,
                "credit_code": code,
                "task_codes": ["T-FOOD"] if food else ["T-INFO"],
                "item_codes": ["SAMR-FOOD", "FIRE-CATER"] if food else ["SAMR-INFO"],
                "departments": ["FIRE", "SAMR"] if food else ["SAMR"],
                "mode": "local",
                "team_size": 2,
                "status": "visited" if n % 5 < 3 else "planned",
            }
        )
    session.execute(insert(models.Visit), rows)
    ids = list(
        session.execute(select(models.Visit.id, models.Visit.item_codes, models.Visit.status))
    )
    now = datetime.now(UTC)
    members, results = [], []
    for visit_id, items, status in ids:
        team = rng.sample(inspectors, 3 if len(items) > 1 else 2)
        for k, inspector in enumerate(team):
            replaced = rng.random() < 0.01
            members.append(
                {
                    "visit_id": visit_id,
                    "inspector_id": inspector,
                    "role": "lead" if k == 0 else "member",
                    "assigned_at": now,
                    "replaced_at": now if replaced else None,
                    "replaced_reason": "病假" if replaced else None,
                }
            )
        if status == "visited":
            for item in items:
                results.append(
                    {
                        "visit_id": visit_id,
                        "item_code": item,
                        "version": 1,
                        "result": "no_problem",
                        "inspected_on": date(2026, 12, 1 + rng.randrange(20)),
                        "status": rng.choice(STATES),
                        "submitted_at": now,
                    }
                )
    session.execute(insert(models.TeamMember), members)
    session.execute(insert(models.Result), results)
    session.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--visits", type=int, default=20_000)
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'board.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        populate(session, args.visits)
        session.commit()
        print(f"populated {args.visits} visits in {time.perf_counter() - started:.1f} s")
        for label, scope in (("admin", None), ("FIRE supervisor", {"FIRE"})):
            started = time.perf_counter()
            board = field.month_board(session, MONTH, departments=scope, as_of=date(2026, 12, 31))
            took = time.perf_counter() - started
            print(
                f"board ({label}): {took:.2f} s — {board.total.drawn} visits, "
                f"{board.total.items} items, {len(board.inspectors)} open inspectors, "
                f"{len(board.changes)} changes"
            )
    engine.dispose()


if __name__ == "__main__":
    main()
