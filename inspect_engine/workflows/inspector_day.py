"""The inspector's day: his visits grouped by their scheduled working day (`visits.visit_on`,
filled by the visit calendar), and the same visits as an iCalendar feed for his phone's
calendar app.

`visit_on` is never public: it would tell an enterprise when the unannounced visit comes.
Only the inspector's own current places (not replaced) appear, on his pages and in his feed.
The feed's events carry what the task document shows the team (enterprise name and address,
tasks, items, team), never the liaison, risk classes or scores.

Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from calendar import monthrange
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
from icalendar.enums import STATUS
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_engine.documents.model import ROLE_LABELS
from inspect_engine.workcalendar import Calendar
from inspect_engine.workflows import holidays, results
from inspect_engine.workflows.planning import month_start
from models import (
    CalendarEventVersion,
    CarryOver,
    Enterprise,
    Inspector,
    Item,
    Plan,
    Task,
    TeamMember,
    Visit,
)

PRODID = "-//inspect-engine//inspector calendar//ZH"
FEED_NAME = "执法检查日程"
REFRESH = timedelta(hours=1)  # how often calendar apps are asked to fetch the feed again
# Stable calendar and event ids: a uuid5 namespace of the project's own.
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:inspect-engine:inspector-calendar")
STATUS_LABELS = {"visited": "已检查"}


# --------------------------------------------------------------------------- the day view


@dataclass(frozen=True)
class Day:
    """One working day of the inspector's visits."""

    on: date
    provisional: bool  # the year's official calendar is not known yet (暂定)
    workday: bool  # False: the day became a holiday after it was scheduled
    visits: tuple[results.AssignedVisit, ...]


@dataclass(frozen=True)
class InspectorDays:
    """An inspector's month on his phone, by day: today, the coming days, the visits not
    scheduled yet, and the days already past."""

    month: str
    today: Day
    upcoming: tuple[Day, ...]
    unscheduled: tuple[results.AssignedVisit, ...]
    earlier: tuple[Day, ...]
    visits: tuple[results.AssignedVisit, ...]

    @property
    def open_visits(self) -> tuple[results.AssignedVisit, ...]:
        return tuple(v for v in self.visits if v.status != "visited")

    @property
    def earlier_open(self) -> int:
        return sum(v.status != "visited" for day in self.earlier for v in day.visits)


def _own_current(inspector_id: str) -> Any:
    return select(TeamMember.visit_id).where(
        TeamMember.inspector_id == inspector_id, TeamMember.replaced_at.is_(None)
    )


def _month_days(session: Session, inspector_id: str, month: str) -> dict[str, date | None]:
    """visit code -> scheduled day of his current visits of the month: those of the month's
    plan, those of another plan scheduled within the month, and those carried into the
    month's plan (结转; one carried out before the team draw keeps its earlier day)."""
    first = month_start(month)
    last = first.replace(day=monthrange(first.year, first.month)[1])  # 9999-12 too
    carried_in = (
        select(CarryOver.visit_id)
        .join(Plan, Plan.id == CarryOver.plan_id)
        .where(Plan.month == month)
    )
    query = (
        select(Visit.visit_code, Visit.visit_on)
        .join(Plan, Plan.id == Visit.plan_id)
        .where(
            Visit.id.in_(_own_current(inspector_id)),
            or_(
                Plan.month == month,
                and_(Visit.visit_on >= first, Visit.visit_on <= last),
                Visit.id.in_(carried_in),
            ),
        )
    )
    return dict(session.execute(query).tuples().all())


def _describe(
    session: Session, inspector_id: str, month: str, codes: Iterable[str]
) -> dict[str, results.AssignedVisit]:
    """The visits as the phone pages show them (results.AssignedVisit)."""
    wanted = set(codes)
    found: dict[str, results.AssignedVisit] = {}
    after: tuple[int, str] | None = None
    while True:  # the month's plan: a few dozen visits, read page by page
        page = results.inspector_visits(session, inspector_id, month, after=after, limit=200)
        found.update((v.visit_code, v) for v in page if v.visit_code in wanted)
        if len(page) < 200:
            break
        after = (int(page[-1].status == "visited"), page[-1].visit_code)
    for code in sorted(wanted - found.keys()):  # scheduled here from another month's plan
        found[code] = results.inspector_visit(session, inspector_id, code)
    return found


def group_days(
    visits: Iterable[results.AssignedVisit],
    days: dict[str, date | None],
    today: date,
    calendar: Calendar,
) -> tuple[Day, tuple[Day, ...], tuple[results.AssignedVisit, ...], tuple[Day, ...]]:
    """(today, the coming days, the unscheduled visits, the past days). Within a day the
    visits go by district, then code (the calendar groups a day's visits by district)."""
    by_day: dict[date, list[results.AssignedVisit]] = defaultdict(list)
    unscheduled = []
    for visit in sorted(visits, key=lambda v: (v.district, v.visit_code)):
        on = days.get(visit.visit_code)
        if on is None:
            unscheduled.append(visit)
        else:
            by_day[on].append(visit)

    def day(on: date) -> Day:
        workday, _ = calendar.verdict(on)
        return Day(on, calendar.is_provisional(on.year), workday, tuple(by_day.get(on, ())))

    upcoming = tuple(day(on) for on in sorted(by_day) if on > today)
    earlier = tuple(day(on) for on in sorted(by_day, reverse=True) if on < today)
    return day(today), upcoming, tuple(unscheduled), earlier


def inspector_days(
    session: Session, inspector_id: str, month: str, *, today: date | None = None
) -> InspectorDays:
    """The inspector's visits of `month` by scheduled day; "today" is Asia/Shanghai's."""
    day = today or results.today_in_shanghai()
    days = _month_days(session, inspector_id, month)
    described = _describe(session, inspector_id, month, days)
    visits = [described[code] for code in sorted(days)]
    today_row, upcoming, unscheduled, earlier = group_days(
        visits, days, day, holidays.calendar(session)
    )
    return InspectorDays(
        month=month,
        today=today_row,
        upcoming=upcoming,
        unscheduled=unscheduled,
        earlier=earlier,
        visits=tuple(sorted(visits, key=lambda v: (v.status == "visited", v.visit_code))),
    )


# --------------------------------------------------------------------------- the feed


@dataclass(frozen=True)
class EventContent:
    """What one visit's calendar event says: only what the task document shows the team."""

    visit_code: str
    on: date
    provisional: bool
    summary: str
    location: str | None
    description: str
    url: str

    def fingerprint(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True, default=str, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _scheduled_visits(session: Session, inspector_id: str) -> list[Visit]:
    query = (
        select(Visit)
        .where(Visit.id.in_(_own_current(inspector_id)), Visit.visit_on.is_not(None))
        .order_by(Visit.visit_on, Visit.visit_code)
    )
    return list(session.scalars(query))


def _teams(session: Session, visit_ids: list[int]) -> dict[int, list[str]]:
    teams: dict[int, list[str]] = defaultdict(list)
    query = (
        select(TeamMember.visit_id, TeamMember.role, Inspector.inspector_id, Inspector.name)
        .join(Inspector, Inspector.inspector_id == TeamMember.inspector_id)
        .where(TeamMember.visit_id.in_(visit_ids), TeamMember.replaced_at.is_(None))
        .order_by(TeamMember.visit_id, TeamMember.role, TeamMember.inspector_id)
    )
    for visit_id, role, certificate, name in session.execute(query).tuples():
        teams[visit_id].append(f"{name}（{ROLE_LABELS.get(role, role)}，执法证号 {certificate}）")
    return teams


def event_contents(
    session: Session, inspector_id: str, *, base_url: str, calendar: Calendar | None = None
) -> list[EventContent]:
    """The events of the inspector's current visits that have a day, in day order."""
    visits = _scheduled_visits(session, inspector_id)
    if not visits:
        return []
    calendar = calendar or holidays.calendar(session)
    # Only the columns the task document prints: never the liaison (contact) or scores.
    enterprises = {
        code: (name, address)
        for code, name, address in session.execute(
            select(Enterprise.credit_code, Enterprise.name, Enterprise.address).where(
                Enterprise.credit_code.in_({v.credit_code for v in visits})
            )
        )
        .tuples()
        .all()
    }
    task_codes = {t for v in visits for t in v.task_codes}
    tasks = dict(
        session.execute(select(Task.task_code, Task.title).where(Task.task_code.in_(task_codes)))
        .tuples()
        .all()
    )
    items = dict(session.execute(select(Item.item_code, Item.title)).tuples().all())
    teams = _teams(session, [v.id for v in visits])
    out = []
    for visit in visits:
        assert visit.visit_on is not None
        name, address = enterprises[visit.credit_code]
        provisional = calendar.is_provisional(visit.visit_on.year)
        status = STATUS_LABELS.get(visit.status, "待检查")
        lines = [
            f"检查编号：{visit.visit_code}",
            f"状态：{status}",
            "抽查任务：" + "；".join(f"{t} {tasks.get(t, '')}".strip() for t in visit.task_codes),
            "检查事项：" + "；".join(items.get(i, i) for i in visit.item_codes),
            "检查组：" + "；".join(teams.get(visit.id, [])),
        ]
        if provisional:
            lines.append("日期暂定：当年法定节假日安排尚未导入。")
        summary = f"检查：{name}" + ("（暂定）" if provisional else "")
        if visit.status == "visited":
            summary = f"[{status}] {summary}"
        out.append(
            EventContent(
                visit_code=visit.visit_code,
                on=visit.visit_on,
                provisional=provisional,
                summary=summary,
                location=address,
                description="\n".join(lines),
                url=base_url.rstrip("/") + f"/field/visits/{visit.visit_code}",
            )
        )
    return out


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def event_versions(
    session: Session, contents: list[EventContent], now: datetime
) -> dict[str, tuple[int, datetime]]:
    """visit code -> (SEQUENCE, LAST-MODIFIED): the stored version, bumped where the event's
    content changed since it was last served. Two feeds served at once may both find a new
    event: the loser of the insert reads the winner's row."""
    codes = {c.visit_code for c in contents}
    ids = dict(
        session.execute(select(Visit.visit_code, Visit.id).where(Visit.visit_code.in_(codes)))
        .tuples()
        .all()
    )
    for _ in range(3):
        try:
            with session.begin_nested():
                return _bump_versions(session, contents, ids, now)
        except IntegrityError:
            continue
    raise RuntimeError("the calendar's event versions kept changing under this feed")


def _bump_versions(
    session: Session, contents: list[EventContent], ids: dict[str, int], now: datetime
) -> dict[str, tuple[int, datetime]]:
    stored = {
        row.visit_id: row
        for row in session.scalars(
            select(CalendarEventVersion)
            .where(CalendarEventVersion.visit_id.in_(list(ids.values())))
            .execution_options(populate_existing=True)
        )
    }
    out = {}
    for content in contents:
        visit_id = ids[content.visit_code]
        fingerprint = content.fingerprint()
        row = stored.get(visit_id)
        if row is None:
            row = CalendarEventVersion(
                visit_id=visit_id, fingerprint=fingerprint, sequence=0, modified_at=now
            )
            session.add(row)
        elif row.fingerprint != fingerprint:
            row.fingerprint, row.sequence, row.modified_at = fingerprint, row.sequence + 1, now
        out[content.visit_code] = (row.sequence, _utc(row.modified_at))
    session.flush()
    return out


def inspector_feed(session: Session, inspector_id: str, *, base_url: str, now: datetime) -> bytes:
    """The inspector's calendar (RFC 5545): one all-day event per current visit that has a
    day, with a stable UID from the visit code, and SEQUENCE and LAST-MODIFIED that move
    when the event's content changes."""
    contents = event_contents(session, inspector_id, base_url=base_url)
    versions = event_versions(session, contents, now) if contents else {}
    feed = icalendar.Calendar.new(
        prodid=PRODID,
        name=FEED_NAME,
        uid=str(uuid.uuid5(NAMESPACE, f"inspector:{inspector_id}")),
        refresh_interval=REFRESH,
    )
    feed.add("x-published-ttl", REFRESH)
    for content in contents:
        sequence, modified = versions[content.visit_code]
        feed.add_component(
            icalendar.Event.new(
                uid=f"{content.visit_code}@inspect-engine",
                start=content.on,
                end=content.on + timedelta(days=1),
                summary=content.summary,
                location=content.location,
                description=content.description,
                url=content.url,
                sequence=sequence,
                last_modified=modified,
                stamp=modified,
                status=STATUS.TENTATIVE if content.provisional else STATUS.CONFIRMED,
            )
        )
    return bytes(feed.to_ical())
