"""Who may change what (DATA-FORMATS): every role against every import kind, through the
API (exact status codes) and through the CLI with `--as USER`; and the attacks of issue 16
(a FIRE supervisor taking over SAMR's item, inspector or staffing)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import models
from inspect_engine.cli import app as cli
from inspect_engine.formats.spec import FORMATS
from inspect_engine.workflows.signin import set_password
from models.base import utcnow
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.api import servicecity
from tests.api.conftest import Service
from tests.api.servicecity import MONTH
from tests.workflows import tinycity

NEW_CODE = tinycity.credit_code(9001, "440106")
REVOKED = tinycity.credit_code(0, "440106", "92")  # i = 0: revoked, never drawn
KNOWN = tinycity.credit_code(1, "440105")

# One valid file per kind, every row SAMR's (or the shared registry's).
FILES: dict[str, str] = {
    "enterprises": "credit_code,name,entity_type,industry,district,unit,registered_on,status\n"
    f"{NEW_CODE},新企业,company,F52,440106,440106-01,2020-01-01,active\n",
    "inspectors": "inspector_id,name,department,unit,district,certificate_expires,"
    "monthly_capacity\nS09,检查员S09,SAMR,440106-01,440106,2028-12-31,20\n",
    "items": "item_code,department,title,legal_basis,kind\n"
    "SAMR-NEW,SAMR,新事项,《条例》第一条,general\n",
    "inspections": "credit_code,inspected_on,department,item_code,inspector_id,result\n"
    f"{KNOWN},2024-03-01,SAMR,SAMR-INFO,S01,no_problem\n",
    "penalties": f"credit_code,decided_on,severity\n{KNOWN},2025-01-01,minor\n",
    "complaints": f"credit_code,received_on,category,substantiated\n{KNOWN},2025-01-01,q,false\n",
    "annual-reports": f"credit_code,year,filed_on\n{KNOWN},2024,2025-03-01\n",
    "lists": f"credit_code,list,listed_on\n{KNOWN},abnormal,2025-01-01\n",
    "leave": "inspector_id,starts_on,ends_on\nS02,2031-01-06,2031-01-07\n",
    "conflicts": "inspector_id,credit_code,reason,raised_by,raised_on\n"
    f"S02,{REVOKED},亲属,inspector,2026-08-01\n",
    "holidays": "date,kind,name\n2031-01-01,holiday,元旦\n",
}
REGISTRY = {"enterprises", "penalties", "complaints", "annual-reports", "lists", "holidays"}
TASKS = (
    tinycity.TASKS_HEADER + "\n2030-02-SAMR,市场抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,,2\n"
)
TABLES: dict[str, Any] = {
    "enterprises": models.Enterprise,
    "inspectors": models.Inspector,
    "items": models.Item,
    "inspections": models.Inspection,
    "penalties": models.Penalty,
    "complaints": models.Complaint,
    "annual-reports": models.AnnualReport,
    "lists": models.ListMembership,
    "leave": models.Leave,
    "conflicts": models.Conflict,
    "holidays": models.CalendarDay,
}
# Refused first, so that their attempt is shown to have written nothing.
ORDER = (None, "insp_s01", "auditor", "sup_fire", "admin", "sup_samr")


def test_every_kind_is_covered() -> None:
    assert set(FILES) == set(FORMATS) == set(TABLES)


def expected_status(user: str | None, kind: str) -> int:
    if user is None:
        return 401
    if user == "admin":
        return 201 if kind == "tasks" else 200
    if user == "sup_samr" and kind not in REGISTRY:
        return 201 if kind == "tasks" else 200
    return 403


def _upload(service: Service, user: str | None, kind: str, text: str) -> Any:
    path = "/supervisor/plans/2030-02/tasks" if kind == "tasks" else f"/supervisor/imports/{kind}"
    headers = service.city.headers(user) if user else {}
    files = {"file": (f"{kind}.csv", text.encode("utf-8"), "text/csv")}
    return service.client.post(path, files=files, headers=headers)


def _rows(service: Service, kind: str) -> int:
    model = models.Task if kind == "tasks" else TABLES[kind]
    with Session(service.engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("kind", [*FILES, "tasks"])
def test_every_role_against_every_import_kind(service: Service, kind: str) -> None:
    text = TASKS if kind == "tasks" else FILES[kind]
    before = _rows(service, kind)
    for user in ORDER:
        response = _upload(service, user, kind, text)
        assert response.status_code == expected_status(user, kind), (user, response.text)
        if response.status_code == 403:
            assert response.json()["type"] == "/problems/forbidden"
        if user == "sup_fire":
            if kind in REGISTRY:
                assert "only an administrator" in response.json()["detail"]
            else:
                assert "row 2" in response.json()["detail"], response.text
            assert _rows(service, kind) == before  # nothing of the file was written
    assert _rows(service, kind) == before + 1


def _item_department(service: Service, code: str) -> str | None:
    with Session(service.engine) as session:
        return session.scalar(select(models.Item.department).where(models.Item.item_code == code))


def test_a_fire_supervisor_cannot_take_samrs_item(service: Service) -> None:
    """The attack of issue 16: the row names FIRE, the stored item is SAMR's."""
    text = (
        "item_code,department,title,legal_basis,kind\n"
        "FIRE-OWN,FIRE,消防事项,《消防法》第一条,general\n"
        "SAMR-INFO,FIRE,stolen,《消防法》第一条,key\n"
    )
    response = _upload(service, "sup_fire", "items", text)
    assert response.status_code == 403, response.text
    assert "row 3: item SAMR-INFO belongs to SAMR" in response.json()["detail"]
    assert "row 2" not in response.json()["detail"]
    assert _item_department(service, "SAMR-INFO") == "SAMR"
    assert _item_department(service, "FIRE-OWN") is None  # all-or-nothing


def test_a_fire_supervisor_cannot_take_samrs_inspector_or_his_leave(service: Service) -> None:
    inspector = (
        "inspector_id,name,department,unit,district,certificate_expires,monthly_capacity\n"
        "S01,检查员S01,FIRE,440106-02,440106,2028-12-31,200\n"
    )
    response = _upload(service, "sup_fire", "inspectors", inspector)
    assert response.status_code == 403
    assert "row 2: inspector S01 belongs to SAMR" in response.json()["detail"]
    with Session(service.engine) as session:
        assert session.get(models.Inspector, "S01").department == "SAMR"  # type: ignore[union-attr]
    leave = "inspector_id,starts_on,ends_on\nF01,2031-02-02,2031-02-03\nS01,2026-09-01,2026-09-30\n"
    response = _upload(service, "sup_fire", "leave", leave)
    assert response.status_code == 403
    assert "row 3: inspector S01 belongs to SAMR" in response.json()["detail"]
    # a new unit is the registry's too
    unit = inspector.replace("S01,检查员S01,FIRE,440106-02", "F09,检查员F09,FIRE,440199-09")
    response = _upload(service, "sup_fire", "inspectors", unit)
    assert response.status_code == 403
    assert "unit 440199-09 is not in the registry" in response.json()["detail"]


def test_a_joint_task_needs_every_department(service: Service) -> None:
    joint = (
        tinycity.TASKS_HEADER
        + "\n2030-03-FIRE,消防,FIRE-CATER,false,,0.05,0.1,0.2,0.4,0.01,,2"
        + "\n2030-03-JOINT,联合,SAMR-FOOD;FIRE-CATER,false,,0.05,0.1,0.2,0.4,0.01,,2\n"
    )
    path = "/supervisor/plans/2030-03/tasks"
    files = {"file": ("tasks.csv", joint.encode(), "text/csv")}
    refused = service.client.post(path, files=files, headers=service.city.headers("sup_fire"))
    assert refused.status_code == 403
    assert "row 3: items of department(s) SAMR are not yours" in refused.json()["detail"]
    accepted = service.client.post(path, files=files, headers=service.city.headers("sup_all"))
    assert accepted.status_code == 201, accepted.text
    # replacing a joint plan's tasks with FIRE's alone still concerns SAMR
    fire_only = (
        tinycity.TASKS_HEADER + "\n2030-03-FIRE,消防,FIRE-CATER,false,,0.05,0.1,0.2,0.4,,,2\n"
    )
    files = {"file": ("tasks.csv", fire_only.encode(), "text/csv")}
    replaced = service.client.post(path, files=files, headers=service.city.headers("sup_fire"))
    assert replaced.status_code == 403
    assert "SAMR" in replaced.json()["detail"]


# --------------------------------------------------------------------------- the CLI


@pytest.fixture(scope="module")
def cli_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("cli-authority")
    url = f"sqlite:///{folder / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        servicecity.populate(session, folder)
        session.commit()
    engine.dispose()
    return url


CLI_USERS = ("insp_s01", "auditor", "sup_fire", "admin", "sup_samr", None)


@pytest.mark.parametrize("kind", [*FILES, "tasks"])
def test_the_cli_applies_the_same_rules_as_user(
    cli_database: str, kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECT_DATABASE_URL", cli_database)
    path = tmp_path / f"{kind}.csv"
    path.write_text(TASKS if kind == "tasks" else FILES[kind], encoding="utf-8")
    runner = CliRunner()
    for user in CLI_USERS:
        who = ["--as", user] if user else []
        if kind == "tasks":
            args = ["month", "plan", "--month", "2030-02", "--tasks", str(path), *who]
        else:
            args = ["import", kind, str(path), *who]
        outcome = runner.invoke(cli, args)
        # without --as the operator acts as an administrator
        allowed = expected_status(user or "admin", kind) < 400
        assert outcome.exit_code == (0 if allowed else 1), (user, outcome.output)
        assert "Traceback" not in outcome.output
        if not allowed:
            assert "error:" in outcome.output


def test_the_cli_refuses_an_unknown_user(
    cli_database: str, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("INSPECT_DATABASE_URL", cli_database)
    path = tmp_path / "items.csv"
    path.write_text(FILES["items"], encoding="utf-8")
    outcome = CliRunner().invoke(cli, ["import", "items", str(path), "--as", "nobody"])
    assert outcome.exit_code == 1
    assert "there is no user 'nobody'" in outcome.output


# --------------------------------------------------------------------------- what changed


def test_a_revoked_enterprise_is_on_every_supervisors_board(service: Service) -> None:
    revoke = (
        "credit_code,name,entity_type,industry,district,unit,registered_on,status\n"
        f"{KNOWN},测试企业1,company,F52,440105,440105-02,2015-01-01,revoked\n"
    )
    response = _upload(service, "admin", "enterprises", revoke)
    assert response.status_code == 200, response.text
    assert response.json()["changed_rows"] == 1
    with Session(service.engine) as session:
        entry = session.scalars(
            select(models.AuditEntry).order_by(models.AuditEntry.id.desc())
        ).first()
        assert entry is not None and entry.action == "import.enterprises"
        assert entry.details["changed"] == [
            {"key": KNOWN, "changes": {"status": ["active", "revoked"]}}
        ]
        # the import was made during the board's month
        session.execute(
            update(models.ImportChangeLog).values(created_at=datetime(2026, 9, 10, tzinfo=UTC))
        )
        session.commit()
    for user in ("sup_fire", "sup_samr", "admin"):
        board = service.get(f"/supervisor/board/{MONTH}", user)
        assert board.status_code == 200, board.text
        listed = board.json()["enterprise_changes"]
        assert [(c["credit_code"], c["changes"], c["by"]) for c in listed] == [
            (KNOWN, {"status": ["active", "revoked"]}, "admin")
        ]
        assert board.json()["enterprise_changes_total"] == 1
    # the phone page (signed in with a password) shows the same list
    with Session(service.engine) as session:
        set_password(session, "sup_fire", "board reader password", actor="test", now=utcnow())
        session.commit()
    page = TestClient(service.client.app, follow_redirects=False)
    login = {"username": "sup_fire", "password": "board reader password", "next": "/field"}
    assert page.post("/login", data=login).status_code == 303
    html = page.get(f"/board/{MONTH}").text
    listed_part = html[html.index('id="enterprise-changes"') :]
    assert KNOWN in listed_part and "状态: active → revoked" in listed_part


def test_auditors_read_an_imports_full_change_list(service: Service) -> None:
    text = "item_code,department,title,legal_basis,kind\nSAMR-INFO,SAMR,改名,《条例》第一条,key\n"
    assert _upload(service, "sup_samr", "items", text).status_code == 200
    with Session(service.engine) as session:
        entry = session.scalars(
            select(models.AuditEntry).order_by(models.AuditEntry.id.desc())
        ).first()
        assert entry is not None and entry.actor == "sup_samr"
        log_id, digest = entry.details["change_log"], entry.details["changes_sha256"]
    path = f"/auditor/imports/{log_id}/changes"
    full = service.get(path, "auditor")
    assert full.status_code == 200, full.text
    assert full.json()["changes_sha256"] == digest
    [changed] = full.json()["changed"]
    assert changed["key"] == "SAMR-INFO"
    assert changed["changes"]["kind"] == ["general", "key"]
    assert service.get(path, "sup_samr").status_code == 403
    assert service.get(path).status_code == 401
    assert service.get("/auditor/imports/999999/changes", "auditor").status_code == 404
