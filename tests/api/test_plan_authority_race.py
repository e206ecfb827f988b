"""A month-wide act (here the freeze) checks the departments of the plan it then acts on:
an upload of other tasks by someone else cannot slip in between the check and the act.
`require_whole_plan` claims the plan before it checks (docs/concurrency.md), so the upload
waits for the freeze and then finds the plan frozen. (On SQLite the API's write requests
queue from their first statement anyway; without the claim the test fails on PostgreSQL.)"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, select

import models
from api import deps
from tests.api.conftest import Service
from tests.workflows.test_result_write_races import waits_for_a_lock
from tests.workflows.tinycity import TASKS_HEADER

MONTH = "2026-11"
SAMR_TASK = "2026-11-INFO,2026年11月企业公示信息抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,any,2"
FIRE_TASK = "2026-11-FIRE,2026年11月消防安全抽查,FIRE-CATER,false,,0.05,0.1,0.2,0.4,0.01,any,2"
WAIT = 30.0


def _upload(service: Service, user: str, lines: list[str]) -> httpx.Response:
    body = "\n".join([TASKS_HEADER, *lines]) + "\n"
    return service.client.post(
        f"/supervisor/plans/{MONTH}/tasks",
        headers=service.city.headers(user),
        files={"file": ("tasks.csv", body.encode(), "text/csv")},
    )


def test_an_upload_cannot_change_the_tasks_a_freeze_was_allowed_for(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _upload(service, "sup_samr", [SAMR_TASK]).status_code == 201
    engine: Engine = service.client.app.state.engine  # type: ignore[attr-defined]
    running: dict[int, float] = {}
    other: dict[str, Any] = {}

    def before(*_: Any) -> None:
        running[threading.get_ident()] = time.monotonic()

    def after(*_: Any) -> None:
        running.pop(threading.get_ident(), None)

    def upload_fire() -> None:
        other["response"] = _upload(service, "admin", [SAMR_TASK, FIRE_TASK])

    checked = deps.plan_departments

    def check_then_upload_meanwhile(session: Any, month: str) -> set[str]:
        """The freeze's department check; right after it, the admin's upload runs until it
        has committed or waits for the freeze."""
        needed = checked(session, month)
        if "thread" not in other:
            own = threading.get_ident()
            other["thread"] = threading.Thread(target=upload_fire)
            other["thread"].start()
            deadline = time.monotonic() + WAIT
            while other["thread"].is_alive() and not waits_for_a_lock(engine, running, own):
                assert time.monotonic() < deadline, "the upload neither ran nor waited"
                time.sleep(0.05)
        return needed

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    monkeypatch.setattr(deps, "plan_departments", check_then_upload_meanwhile)
    try:
        frozen = service.client.post(
            f"/supervisor/plans/{MONTH}/freeze", headers=service.city.headers("sup_samr")
        )
    finally:
        monkeypatch.setattr(deps, "plan_departments", checked)
        other["thread"].join(timeout=WAIT)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    assert frozen.status_code == 200, frozen.text
    assert other["response"].status_code == 409, other["response"].text  # frozen meanwhile
    with service.engine.connect() as conn:
        plan_id = conn.scalar(select(models.Plan.id).where(models.Plan.month == MONTH))
        frozen_tasks = conn.scalars(
            select(models.Frame.task_code)
            .join(models.Task, models.Task.task_code == models.Frame.task_code)
            .where(models.Task.plan_id == plan_id)
        ).all()
    assert frozen_tasks == ["2026-11-INFO"]  # what the SAMR supervisor was allowed to freeze
