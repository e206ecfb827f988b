"""A month planned through HTTP: directories, tasks, preview, freeze, draw; the public
then sees the plan and the draw record, and checks it with the downloaded verifier."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from tests.api.conftest import Service
from tests.workflows.tinycity import TASKS_HEADER

OCTOBER = "2026-10"
TASK = "2026-10-INFO,2026年10月企业公示信息抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,any,2"
TASKS = f"{TASKS_HEADER}\n{TASK}\n"
DICE = "彩票 0 4 7"


def _post(service: Service, user: str, path: str, **kw: Any) -> Any:
    return service.client.post(path, headers=service.city.headers(user), **kw)


def _csv(name: str, text: str) -> dict[str, Any]:
    return {"file": (name, text.encode("utf-8"), "text/csv")}


def test_a_bad_directory_file_is_rejected_row_by_row(service: Service) -> None:
    text = (
        "item_code,department,title,legal_basis,kind\n"
        "SAMR-AD,SAMR,广告发布检查,《广告法》第四十九条,general\n"
        "SAMR-BAD,SAMR,,《广告法》,sometimes\n"
    )
    response = _post(
        service, "sup_samr", "/supervisor/imports/items", files=_csv("items.csv", text)
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/import-rejected"
    assert {(e["row"], e["column"]) for e in problem["errors"]} == {(3, "title"), (3, "kind")}
    items = service.get("/supervisor/items?limit=500", "sup_samr").json()["items"]
    assert "SAMR-AD" not in {i["item_code"] for i in items}  # all or nothing
    good = "\n".join(text.splitlines()[:2]) + "\n"
    ok = _post(service, "sup_samr", "/supervisor/imports/items", files=_csv("items.csv", good))
    assert ok.status_code == 200 and ok.json()["new_rows"] == 1
    again = _post(service, "sup_samr", "/supervisor/imports/items", files=_csv("items.csv", good))
    assert again.json()["new_rows"] == 0  # idempotent
    # the same rows as the first sheet of a workbook: the same errors, naming the sheet
    bad_book = _xlsx("事项", [line.split(",") for line in text.splitlines()])
    refused = _post(service, "sup_samr", "/supervisor/imports/items", files=bad_book)
    assert refused.status_code == 422
    assert {(e["sheet"], e["row"], e["column"]) for e in refused.json()["errors"]} == {
        ("事项", 3, "title"),
        ("事项", 3, "kind"),
    }
    good_book = _xlsx("事项", [line.split(",") for line in good.splitlines()])
    from_book = _post(service, "sup_samr", "/supervisor/imports/items", files=good_book)
    assert from_book.status_code == 200 and from_book.json()["rows"] == 1


def _xlsx(sheet: str, rows: list[list[str]]) -> dict[str, tuple[str, bytes, str]]:
    book = Workbook(write_only=True)
    page = book.create_sheet(sheet)
    for row in rows:
        page.append([cell or None for cell in row])
    out = io.BytesIO()
    book.save(out)
    return {"file": ("items.xlsx", out.getvalue(), XLSX)}


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def october(service: Service) -> dict[str, Any]:
    remarked = f"{TASKS_HEADER},remark\n{TASK},首次抽查\n"  # a column the format does not have
    created = _post(
        service, "sup_samr", f"/supervisor/plans/{OCTOBER}/tasks", files=_csv("tasks.csv", remarked)
    )
    assert created.status_code == 201, created.text
    assert created.json()["tasks"] == ["2026-10-INFO"]
    assert any("'remark' is ignored" in w for w in created.json()["warnings"])
    preview = service.get(f"/supervisor/plans/{OCTOBER}/preview", "sup_samr").json()
    frozen = _post(service, "sup_samr", f"/supervisor/plans/{OCTOBER}/freeze")
    assert frozen.status_code == 200, frozen.text
    return {"preview": preview, "frozen": frozen.json()}


def test_preview_freeze_and_the_one_draw(service: Service, october: dict[str, Any]) -> None:
    (preview,) = october["preview"]
    frozen = october["frozen"]
    assert preview["task_code"] == "2026-10-INFO"
    assert preview["units"] + sum(preview["exclusions"].values()) == preview["in_scope"]
    assert preview["exclusions"]["status_not_active"] > 0
    (frame,) = frozen["frames"]
    assert frame["units"] == preview["units"]  # the preview is what the freeze froze
    assert frame["expected_size"] == pytest.approx(preview["expected_size"])
    # the SAMR supervisor may run this plan (SAMR items only), not the joint September one
    assert _post(service, "sup_fire", f"/supervisor/plans/{OCTOBER}/freeze").status_code == 403
    changed = _post(
        service, "sup_samr", f"/supervisor/plans/{OCTOBER}/tasks", files=_csv("tasks.csv", TASKS)
    )
    assert changed.status_code == 409  # frozen: the tasks can no longer change
    public = service.get(f"/public/plans/{OCTOBER}").json()
    assert public["commitment"] == frozen["commitment"] and public["seed"] is None
    drawn = _post(
        service,
        "sup_samr",
        f"/supervisor/plans/{OCTOBER}/draw",
        json={"contribution": DICE},
    )
    assert drawn.status_code == 200, drawn.text
    assert drawn.json()["first_request"] is True
    again = _post(
        service, "sup_samr", f"/supervisor/plans/{OCTOBER}/draw", json={"contribution": "other"}
    )
    assert again.json()["first_request"] is False and again.json()["seed"] == drawn.json()["seed"]
    empty = _post(
        service, "sup_samr", f"/supervisor/plans/{OCTOBER}/draw", json={"contribution": ""}
    )
    assert empty.status_code == 422


def test_teams_are_drawn_then_the_plan_is_published(
    service: Service, october: dict[str, Any]
) -> None:
    early = _post(service, "sup_samr", f"/supervisor/plans/{OCTOBER}/publish")
    assert early.status_code == 409  # no teams yet
    drawn = _post(
        service,
        "sup_samr",
        f"/supervisor/plans/{OCTOBER}/draw",
        json={"contribution": DICE},
    )
    teams = _post(service, "sup_samr", f"/supervisor/plans/{OCTOBER}/assign")
    assert teams.status_code == 200, teams.text
    body = teams.json()
    # the visits staffed: the draw's, and September's still open carried over (结转), one
    # visit for an enterprise drawn again
    fair = body["fairness"]
    carried = fair.get("carried", 0) - fair.get("carried_drawn_again", 0)
    assert body["visits"] == drawn.json()["visits"] + carried and body["first_request"] is True
    assert body["staffed"] + len(body["unstaffed"]) == body["visits"]
    published = _post(service, "sup_samr", f"/supervisor/plans/{OCTOBER}/publish")
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert service.get(f"/public/plans/{OCTOBER}").json()["published_at"] is not None


def test_public_plans_are_paged(service: Service, october: dict[str, Any]) -> None:
    first = service.get("/public/plans?limit=1").json()
    assert [p["month"] for p in first["items"]] == [OCTOBER]
    second = service.get(f"/public/plans?limit=1&cursor={first['next_cursor']}").json()
    assert [p["month"] for p in second["items"]] == ["2026-09"]
    assert second["next_cursor"] is None
    plan = service.get("/public/plans/2026-09").json()
    task = next(t for t in plan["tasks"] if t["task_code"] == "2026-09-FOOD")
    assert task["ratios"] == {"A": "0.1", "B": "0.2", "C": "0.4", "D": "0.6"}
    assert task["frame_units"] == sum(c["units"] for c in task["classes"])
    assert all("selected" not in c for c in task["classes"])  # auditors' only (DRAW-SPEC)
    assert {i["department"] for i in task["items"]} == {"SAMR", "FIRE"}
    assert service.get("/public/plans/2031-01").status_code == 404
    assert service.get("/public/plans/2026-13").status_code == 422


def test_the_downloaded_verifier_checks_the_records(
    service: Service, october: dict[str, Any], tmp_path: Path
) -> None:
    draw = service.get("/public/draws/2026-10-INFO").json()
    verifier = service.get(draw["verification"]["verifier_url"])
    assert verifier.status_code == 200 and "ie-draw-v1" in verifier.text
    script = tmp_path / "verify.py"
    script.write_bytes(verifier.content)
    record = service.get(draw["verification"]["record_url"])
    assert record.json() == draw["record"] and "frame" not in record.json()
    public = tmp_path / "public.json"
    public.write_bytes(record.content)
    partial = subprocess.run(
        [sys.executable, str(script), str(public)], capture_output=True, text=True, check=False
    )
    assert partial.returncode == 3, partial.stdout + partial.stderr  # no frame: partial
    full = tmp_path / "full.json"
    full.write_text(
        json.dumps(service.get("/auditor/draws/2026-10-INFO", "auditor").json()), encoding="utf-8"
    )
    checked = subprocess.run(
        [sys.executable, str(script), str(full)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    page = service.get("/draws/2026-10-INFO").text
    assert "verify.py" in page and draw["verification"]["command"] in page


def test_auditors_see_frames_and_the_audit_log(service: Service, october: dict[str, Any]) -> None:
    frames = service.get(f"/auditor/frames?month={OCTOBER}", "auditor").json()["items"]
    assert [f["task_code"] for f in frames] == ["2026-10-INFO"]
    assert frames[0]["exclusions"] == october["preview"][0]["exclusions"]
    log: list[dict[str, Any]] = []
    cursor = None
    while True:
        url = "/auditor/audit-log?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = service.get(url, "auditor").json()
        log.extend(body["items"])
        if (cursor := body["next_cursor"]) is None:
            break
    actions = [entry["action"] for entry in log]
    assert [e["id"] for e in log] == sorted(e["id"] for e in log)
    for action in ("plan.tasks", "plan.freeze", "plan.draw", "import.items", "user.create"):
        assert action in actions
    assert any(e["actor"] == "sup_samr" and e["action"] == "plan.draw" for e in log)
