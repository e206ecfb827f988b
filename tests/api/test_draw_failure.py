"""The draw route follows the recorded steps: a failure after the accepted contribution
is a plain problem (no credit code), recorded and public as draw_failed; another
contribution is refused; the same one completes. A lost nonce: the draw is refused and an
admin refreezes the plan in public (the voided commitment on the public plan)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from inspect_engine import faults
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.sealing import NonceKey
from inspect_engine.workflows.planning import freeze_month, plan_month
from tests.api.conftest import Service
from tests.workflows import tinycity

NOVEMBER, AUGUST = "2026-11", "2026-08"
TASK = "{m}-INFO,{m} 企业公示信息抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,any,2"
SELECTED = tinycity.credit_code(11, tinycity.DISTRICTS[1])


def _post(service: Service, user: str, path: str, **kw: Any) -> Any:
    return service.client.post(path, headers=service.city.headers(user), **kw)


def _tasks(service: Service, month: str) -> None:
    text = f"{tinycity.TASKS_HEADER}\n{TASK.format(m=month)}\n"
    files = {"file": ("tasks.csv", text.encode("utf-8"), "text/csv")}
    created = _post(service, "sup_samr", f"/supervisor/plans/{month}/tasks", files=files)
    assert created.status_code == 201, created.text


def test_a_failed_draw_is_recorded_and_retried_only_with_its_contribution(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tasks(service, NOVEMBER)
    assert _post(service, "sup_samr", f"/supervisor/plans/{NOVEMBER}/freeze").status_code == 200

    def fail(name: str) -> None:
        if name == "draw.after_selections":
            raise ValueError(f"no district for {SELECTED}")

    monkeypatch.setattr(faults, "checkpoint", fail)
    path = f"/supervisor/plans/{NOVEMBER}/draw"
    failed = _post(service, "sup_samr", path, json={"contribution": "dice 1 2 3"})
    assert failed.status_code == 500 and failed.json()["type"] == "/problems/draw-failed"
    assert SELECTED not in failed.text and "Traceback" not in failed.text
    public = service.get(f"/public/plans/{NOVEMBER}").json()
    assert public["status"] == "draw_failed" and public["contribution"] == "dice 1 2 3"
    assert public["seed"] is None

    other = _post(service, "sup_samr", path, json={"contribution": "dice 6 6 6"})
    assert other.status_code == 409 and "'dice 1 2 3'" in other.json()["detail"]
    monkeypatch.undo()
    done = _post(service, "sup_samr", path, json={"contribution": "dice 1 2 3"})
    assert done.status_code == 200 and done.json()["first_request"] is True
    assert service.get(f"/public/plans/{NOVEMBER}").json()["status"] == "drawn"


def test_a_lost_nonce_is_refrozen_in_public_by_an_admin(service: Service, tmp_path: Path) -> None:
    with Session(service.engine) as session:  # frozen under a key the service lacks
        plan_month(session, AUGUST, tinycity.tasks_file(tmp_path, (TASK.format(m=AUGUST),)))
        lost = NonceKey.from_text(secrets.token_hex(32))
        voided = freeze_month(session, AUGUST, ExclusionPolicy(), nonce_key=lost).commitment
        session.commit()
    path = f"/supervisor/plans/{AUGUST}/draw"
    refused = _post(service, "sup_samr", path, json={"contribution": "dice 4 4"})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/nonce-unavailable"
    refreeze = f"/admin/plans/{AUGUST}/refreeze"
    reason = {"reason": "密钥随旧服务器丢失 / key lost with the old server"}
    assert _post(service, "sup_samr", refreeze, json=reason).status_code == 403
    done = _post(service, "admin", refreeze, json=reason)
    assert done.status_code == 200, done.text
    assert done.json()["voided_commitment"] == voided != done.json()["commitment"]
    public = service.get(f"/public/plans/{AUGUST}").json()
    assert public["commitment"] == done.json()["commitment"]
    (shown,) = public["voided_commitments"]
    assert shown["commitment"] == voided and shown["reason"] == reason["reason"]
    page = service.get(f"/plans/{AUGUST}").text
    assert "已作废的承诺值" in page and voided in page
    drawn = _post(service, "sup_samr", path, json={"contribution": "dice 4 4"})
    assert drawn.status_code == 200, drawn.text
