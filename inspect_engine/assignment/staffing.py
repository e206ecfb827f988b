"""The staffing snapshot (ie-teams-v2; v1 snapshots are still read): every input of the
team draw, frozen with the frames.

At the freeze the engine writes, as one canonical JSON text (keys sorted, no spaces, UTF-8,
every list sorted), what the team draw will read:

    protocol, month, window_first, working_days, calendar_source,
    settings     {recusal_window_days, max_visits_per_day (v2)}
    items        {item_code: {department, qualification, min_inspectors,
                              entity_types, industries, licences}}
    tasks        {task_code: {items, mode, team_size}}
    inspectors   [{inspector_id, department, unit, district, qualifications,
                   certificate_expires, lead, monthly_capacity, active}]
    leave        [[inspector_id, starts_on, ends_on]]
    conflicts    [[inspector_id, credit_code]]
    past_inspections [[inspector_id, credit_code, inspected_on]]   (within the window)
    enterprises  [[credit_code, unit, district, entity_type, industry, licences]]
                 (every unit of every frame: the draw's merge and the team rules read them)

`staffing_hash` = SHA-256 of that text, published with the commitment. The draw merges its
selections into visits from this snapshot only, and the teams are drawn on it, so nothing
changed in the directories after the freeze can change or break either: later changes are
events (`events.py`).
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from inspect_engine.assignment import keys
from inspect_engine.assignment.merge import department_needs, merge_office_mode, merge_team_size
from inspect_engine.assignment.types import (
    DateRange,
    Inspector,
    Month,
    OfficeMode,
    PastInspection,
    Recusals,
    Visit,
)

PROTOCOL = keys.PROTOCOL
PROTOCOLS = keys.PROTOCOLS


def canonical_text(snapshot: Mapping[str, Any]) -> str:
    """The one text of a snapshot: what is hashed, stored and exported."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def staffing_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def inspector_entry(
    inspector_id: str,
    department: str,
    unit: str,
    district: str,
    qualifications: Iterable[str],
    certificate_expires: date,
    lead: bool,
    monthly_capacity: int,
    active: bool,
) -> dict[str, Any]:
    return {
        "inspector_id": inspector_id,
        "department": department,
        "unit": unit,
        "district": district,
        "qualifications": sorted(set(qualifications)),
        "certificate_expires": certificate_expires.isoformat(),
        "lead": bool(lead),
        "monthly_capacity": int(monthly_capacity),
        "active": bool(active),
    }


def item_entry(
    department: str,
    qualification: str | None,
    min_inspectors: int,
    entity_types: Iterable[str],
    industries: Iterable[str],
    licences: Iterable[str],
) -> dict[str, Any]:
    return {
        "department": department,
        "qualification": qualification or None,
        "min_inspectors": int(min_inspectors),
        "entity_types": sorted(set(entity_types)),
        "industries": sorted(set(industries)),
        "licences": sorted(set(licences)),
    }


def build(
    *,
    month: Month,
    settings: Mapping[str, Any],
    items: Mapping[str, dict[str, Any]],
    tasks: Mapping[str, dict[str, Any]],
    inspectors: Iterable[dict[str, Any]],
    leave: Iterable[tuple[str, date, date]],
    conflicts: Iterable[tuple[str, str]],
    past_inspections: Iterable[tuple[str, str, date]],
    enterprises: Iterable[Sequence[str]],
) -> dict[str, Any]:
    """The snapshot as a JSON-ready mapping, every list in its canonical order."""
    return {
        "protocol": PROTOCOL,
        "month": month.label,
        "window_first": month.window_start.isoformat(),
        "working_days": [day.isoformat() for day in month.working_days],
        "calendar_source": month.calendar_source,
        "settings": dict(settings),
        "items": {code: items[code] for code in sorted(items)},
        "tasks": {
            code: {**tasks[code], "items": sorted(tasks[code]["items"])} for code in sorted(tasks)
        },
        "inspectors": sorted(inspectors, key=lambda i: i["inspector_id"]),
        "leave": sorted({(i, s.isoformat(), e.isoformat()) for i, s, e in leave}),
        "conflicts": sorted(set(conflicts)),
        "past_inspections": sorted({(i, c, d.isoformat()) for i, c, d in past_inspections}),
        "enterprises": sorted(list(row) for row in enterprises),
    }


@dataclass(frozen=True)
class Snapshot:
    """A parsed snapshot: the kernel's inputs."""

    data: Mapping[str, Any]

    @classmethod
    def from_text(cls, text: str) -> Snapshot:
        data = json.loads(text)
        if data.get("protocol") not in PROTOCOLS:
            raise ValueError(f"not a staffing snapshot of {' or '.join(PROTOCOLS)}")
        return cls(data)

    @property
    def protocol(self) -> str:
        return str(self.data["protocol"])

    def max_per_day(self) -> int | None:
        """The cap of visits per inspector and day (ie-teams-v2); None under v1 (no days)."""
        if self.protocol == keys.V1:
            return None
        value = self.data["settings"]["max_visits_per_day"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"settings.max_visits_per_day must be a whole number >= 1: {value!r}")
        return value

    @property
    def hash(self) -> str:
        return staffing_hash(canonical_text(self.data))

    def month(self) -> Month:
        label = self.data["month"]
        first = date(int(label[:4]), int(label[5:7]), 1)
        days = tuple(date.fromisoformat(d) for d in self.data["working_days"])
        nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        last = date.fromordinal(nxt.toordinal() - 1)
        window = date.fromisoformat(self.data["window_first"])
        return Month(first, last, days, self.data["calendar_source"], window)

    def inspectors(self) -> list[Inspector]:
        leave: dict[str, list[DateRange]] = {}
        for inspector_id, starts, ends in self.data["leave"]:
            leave.setdefault(inspector_id, []).append(
                DateRange(date.fromisoformat(starts), date.fromisoformat(ends))
            )
        return [
            Inspector(
                inspector_id=row["inspector_id"],
                department=row["department"],
                unit=row["unit"],
                district=row["district"],
                qualifications=frozenset(row["qualifications"]),
                certificate_expires=date.fromisoformat(row["certificate_expires"]),
                monthly_capacity=row["monthly_capacity"],
                lead=row["lead"],
                active=row["active"],
                leave=tuple(leave.get(row["inspector_id"], ())),
            )
            for row in self.data["inspectors"]
        ]

    def recusals(self) -> Recusals:
        return Recusals.build(
            ((i, c) for i, c in self.data["conflicts"]),
            (
                PastInspection(i, c, date.fromisoformat(d))
                for i, c, d in self.data["past_inspections"]
            ),
            int(self.data["settings"]["recusal_window_days"]),
        )

    def enterprises(self, wanted: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
        """credit_code -> (unit, district, entity_type, industry, licences) of frame units.

        The rows are sorted by credit code (canonical order), so the wanted few are found by
        bisection instead of a dict of every frame unit (millions in a city)."""
        rows = self.data["enterprises"]
        if wanted is None:
            return {row[0]: tuple(row[1:]) for row in rows}
        codes = [row[0] for row in rows]
        found: dict[str, tuple[str, ...]] = {}
        for code in wanted:
            at = bisect.bisect_left(codes, code)
            if at < len(codes) and codes[at] == code:
                found[code] = tuple(rows[at][1:])
        return found


@dataclass(frozen=True)
class MergedVisit:
    """One enterprise drawn by one or more tasks: one visit, its items merged."""

    visit_id: str
    credit_code: str
    task_codes: tuple[str, ...]
    item_codes: tuple[str, ...]
    departments: tuple[str, ...]
    mode: OfficeMode
    team_size: int
    unit: str
    district: str
    qualifications: tuple[tuple[str, str | None], ...]  # (department, qualification) per item

    def spec(self) -> Visit:
        """The assignment kernel's view of the visit."""
        return Visit(
            visit_id=self.visit_id,
            credit_code=self.credit_code,
            unit=self.unit,
            district=self.district,
            needs=department_needs(self.qualifications),
            mode=self.mode,
            team_size=self.team_size,
        )


def item_applies(item: Mapping[str, Any], enterprise: Sequence[str]) -> bool:
    """The item's scope covers the enterprise (entity type, industry prefix, any licence)."""
    _unit, _district, entity_type, industry, licences = enterprise
    held = set(licences.split(";")) if licences else set()
    return (
        (not item["entity_types"] or entity_type in item["entity_types"])
        and (not item["industries"] or any(industry.startswith(p) for p in item["industries"]))
        and (not item["licences"] or bool(held & set(item["licences"])))
    )


def merge_visits(snapshot: Snapshot, selections: Mapping[str, Sequence[str]]) -> list[MergedVisit]:
    """The month's selections (task code -> selected credit codes) merged into visits from
    the snapshot: one visit per enterprise, numbered `<month>-<000001>` in credit-code order,
    carrying each selecting task's items that apply to it. Raises ValueError naming the task
    (never the enterprise) if a selection is not a unit of the snapshot's frames."""
    items, tasks = snapshot.data["items"], snapshot.data["tasks"]
    chosen = sorted({code for codes in selections.values() for code in codes})
    enterprises = snapshot.enterprises(chosen)
    carried: dict[str, dict[str, list[str]]] = {}
    for task_code in sorted(selections):
        task = tasks[task_code]
        for code in selections[task_code]:
            row = enterprises.get(code)
            applying = [i for i in task["items"] if row is not None and item_applies(items[i], row)]
            if not applying:
                raise ValueError(
                    f"task {task_code}: a selected unit is not in the frozen staffing snapshot"
                    " or none of the task's items applies to it"
                )
            carried.setdefault(code, {})[task_code] = applying
    month = snapshot.data["month"]
    return [
        _merged(f"{month}-{number:06d}", code, carried[code], items, tasks, enterprises[code])
        for number, code in enumerate(chosen, start=1)
    ]


def _merged(
    visit_id: str,
    code: str,
    per_task: Mapping[str, list[str]],
    items: Mapping[str, Mapping[str, Any]],
    tasks: Mapping[str, Mapping[str, Any]],
    enterprise: Sequence[str],
) -> MergedVisit:
    task_codes = tuple(sorted(per_task))
    item_codes = tuple(sorted({i for t in task_codes for i in per_task[t]}))
    departments = tuple(sorted({items[i]["department"] for i in item_codes}))
    return MergedVisit(
        visit_id=visit_id,
        credit_code=code,
        task_codes=task_codes,
        item_codes=item_codes,
        departments=departments,
        mode=merge_office_mode(tasks[t]["mode"] for t in task_codes),
        team_size=merge_team_size(
            [tasks[t]["team_size"] for t in task_codes],
            [items[i]["min_inspectors"] for i in item_codes],
            len(departments),
        ),
        unit=enterprise[0],
        district=enterprise[1],
        qualifications=tuple(
            (items[i]["department"], items[i]["qualification"]) for i in item_codes
        ),
    )
