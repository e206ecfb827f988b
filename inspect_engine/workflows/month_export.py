"""`month export`: the auditors' draw records (with frames), the month's visits and, once
the teams are drawn, the staffing snapshot and the teams record (ie-teams-v2; v1 for a
month frozen under it)."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict, InvalidInput
from inspect_engine.formats.csv_safety import SafeWriter
from inspect_engine.formats.fields import url_code_problem
from inspect_engine.formats.xlsx_out import write_sheet
from inspect_engine.workflows import audit, carryover, staffing
from inspect_engine.workflows.planning import DRAWN_STATES, auditor_record, get_plan
from inspect_engine.workflows.teams_export import TEAMS_DRAWN, teams_record
from models import Draw, Enterprise, TeamMember, Visit

Scope = Collection[str] | None  # a supervisor's departments; None: all (admins)

VISIT_COLUMNS = (
    "visit_id",
    "credit_code",
    "task_codes",
    "item_codes",
    "departments",
    "inspector_ids",
    "visit_on",  # the scheduled working day (ie-teams-v2); empty without a team or under v1
)
# visits.xlsx, the sampling list (抽查名单) for people: the same rows and the enterprise's
# name, under Chinese headers.
VISIT_HEADERS = (
    "检查编号",
    "统一社会信用代码",
    "企业名称",
    "抽查任务",
    "抽查事项",
    "部门",
    "检查人员",
    "检查日期",
)
VISIT_WIDTHS = (18, 22, 36, 28, 28, 14, 24, 12)


@dataclass(frozen=True)
class ExportResult:
    records: tuple[Path, ...]
    visits_csv: Path
    visits_xlsx: Path
    visits: int
    audit_head: str  # SEQ:HASH, also in audit-head.txt (`audit verify --expect-head`)


def _refuse_unsafe_names(task_codes: Sequence[str]) -> None:
    """Each draw record is a file named by its task code. Plan time refuses any other code;
    one stored before that rule (or written into the database by hand) stops the export
    before any file is written, instead of writing outside the export's folder."""
    for code in task_codes:
        problem = url_code_problem(code)
        if problem is not None:
            raise InvalidInput(f"task {code!r} cannot name an export file: {problem}")


def export_month(session: Session, month: str, out_dir: Path) -> ExportResult:
    plan = get_plan(session, month)
    if plan.status not in DRAWN_STATES:
        raise Conflict(f"the plan for {month} is {plan.status}: nothing to export before the draw")
    task_codes = session.scalars(
        select(Draw.task_code).where(Draw.plan_id == plan.id).order_by(Draw.task_code)
    ).all()
    _refuse_unsafe_names(task_codes)
    draws_dir = out_dir / "draws"
    draws_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for task_code in task_codes:
        path = draws_dir / f"{task_code}.json"
        _write_atomically(path, record_text(auditor_record(session, task_code)))
        paths.append(path)
    visits_csv = out_dir / "visits.csv"
    count = _write_visits(session, plan.id, visits_csv)
    visits_xlsx = out_dir / "visits.xlsx"
    write_visit_sheet(session, month, visits_xlsx)
    if plan.status in TEAMS_DRAWN:
        _write_atomically(out_dir / "staffing.json", staffing.stored_text(session, plan))
        teams = json.dumps(teams_record(session, plan), ensure_ascii=False, indent=1)
        _write_atomically(out_dir / "teams.json", teams + "\n")
    # The audit log's head as of this export: kept outside the database, it lets an
    # auditor prove later that no entry up to here was deleted or rewritten.
    head = str(audit.chain_head(session))
    _write_atomically(out_dir / "audit-head.txt", head + "\n")
    return ExportResult(tuple(paths), visits_csv, visits_xlsx, count, head)


def write_visits(session: Session, month: str, path: Path, departments: Scope = None) -> int:
    """The month's sampling list alone (visits.csv of `month export`), for the desk: with
    `departments`, only the visits all of whose departments they cover."""
    plan = get_plan(session, month)
    if plan.status not in DRAWN_STATES:
        raise Conflict(f"the plan for {month} is {plan.status}: nothing to export before the draw")
    return _write_visits(session, plan.id, path, departments)


def _shown(visit: Visit, departments: Scope) -> bool:
    """Whether a scoped list shows the visit: all its departments are in scope (None: all).
    The desk's whole-plan check covers the month's own tasks, so this only hides a visit
    carried in from last month (结转) that names a department this month's tasks do not: it
    is shown, as in its own month, only to whoever covers all its departments."""
    return departments is None or set(visit.departments) <= set(departments)


def write_visit_sheet(session: Session, month: str, path: Path, departments: Scope = None) -> int:
    """The month's sampling list as a workbook (visits.xlsx of `month export`)."""
    plan = get_plan(session, month)
    if plan.status not in DRAWN_STATES:
        raise Conflict(f"the plan for {month} is {plan.status}: nothing to export before the draw")
    teams = _teams(session, plan.id)
    visits = (
        select(Visit, Enterprise.name)
        .join(Enterprise, Enterprise.credit_code == Visit.credit_code, isouter=True)
        .where(carryover.of_plan(plan.id))  # its own visits and those carried into it
        .order_by(Visit.visit_code)
    )
    rows = (
        (
            visit.visit_code,
            visit.credit_code,
            name or "",
            ";".join(visit.task_codes),
            ";".join(visit.item_codes),
            ";".join(visit.departments),
            ";".join(teams.get(visit.id, [])),
            _iso(visit.visit_on),  # 检查日期: as visit_on in visits.csv
        )
        for visit, name in session.execute(visits)
        if _shown(visit, departments)
    )
    return write_sheet(path, "抽查名单", VISIT_HEADERS, rows, VISIT_WIDTHS)


def record_text(record: dict[str, Any]) -> str:
    """The auditor's record as indented JSON with one frame unit per line.

    Equal, once parsed, to `json.dumps(record, indent=1)`; but `indent` makes Python's JSON
    encoder run in pure Python, and a city frame has millions of units: here the C string
    encoder writes each unit's two strings and the line is put together around them."""
    head = {key: value for key, value in record.items() if key != "frame"}
    text = json.dumps(head, ensure_ascii=False, indent=1)
    if "frame" not in record:
        return text + "\n"
    lines = ",\n".join(_frame_lines(record["frame"]))
    frame = f' "frame": [\n{lines}\n ]' if lines else ' "frame": []'
    if not head:
        return "{\n" + frame + "\n}\n"
    return text[: -len("\n}")] + ",\n" + frame + "\n}\n"


def _frame_lines(frame: list[dict[str, str]]) -> Iterator[str]:
    encode = json.encoder.encode_basestring  # the C encoder: quotes and escapes one string
    for unit in frame:
        if unit.keys() != {"credit_code", "lambda"}:
            raise ValueError(f"a frame unit has the keys {sorted(unit)}")
        code, lam = encode(unit["credit_code"]), encode(unit["lambda"])
        yield f'  {{"credit_code": {code}, "lambda": {lam}}}'


def _teams(session: Session, plan_id: int) -> dict[int, list[str]]:
    """Each visit's current inspectors."""
    teams: dict[int, list[str]] = {}
    members = (
        select(TeamMember.visit_id, TeamMember.inspector_id)
        .join(Visit, Visit.id == TeamMember.visit_id)
        .where(carryover.of_plan(plan_id), TeamMember.replaced_at.is_(None))
        .order_by(TeamMember.visit_id, TeamMember.inspector_id)
    )
    for visit_id, inspector_id in session.execute(members):
        teams.setdefault(visit_id, []).append(inspector_id)
    return teams


def _write_visits(session: Session, plan_id: int, path: Path, departments: Scope = None) -> int:
    teams = _teams(session, plan_id)
    tmp = path.with_suffix(".csv.tmp")
    count = 0
    with tmp.open("w", encoding="utf-8", newline="") as out:
        writer = SafeWriter(out)  # codes only, no numbers
        writer.writerow(VISIT_COLUMNS)
        # its own visits and those carried into it (结转: older codes, so listed first)
        visits = select(Visit).where(carryover.of_plan(plan_id)).order_by(Visit.visit_code)
        for visit in session.scalars(visits):
            if not _shown(visit, departments):
                continue
            writer.writerow(
                [
                    visit.visit_code,
                    visit.credit_code,
                    ";".join(visit.task_codes),
                    ";".join(visit.item_codes),
                    ";".join(visit.departments),
                    ";".join(teams.get(visit.id, [])),
                    _iso(visit.visit_on),
                ]
            )
            count += 1
    tmp.replace(path)
    return count


def _write_atomically(path: Path, text: str) -> None:
    """A crash never leaves a half-written record behind."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""
