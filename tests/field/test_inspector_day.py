"""The inspector's day (issue 18, part 4), on SQLite and PostgreSQL: his visits grouped by
their scheduled day, and his iCalendar feed read back with the icalendar library and
checked against the database. The days are set directly in the test data (`visit_on`),
as the visit calendar would set them.

Workflow tests run in the rolled-back session of the tiny city's month; page tests on the
served app of tests/field/conftest.py."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import models
from api.app import create_app
from inspect_engine.settings import Settings
from inspect_engine.workcalendar import package_years
from inspect_engine.workflows import calendar_links, inspector_day, results
from tests.field import fieldcity
from tests.field.conftest import Served
from tests.field.test_pages import browser

TODAY = fieldcity.TODAY  # a Thursday
# the day each visit gets, by its rank in visit-code order: today, the next two working
# days, none yet, two days ago
PATTERN: tuple[date | None, ...] = (
    TODAY,
    TODAY + timedelta(days=1),
    date(2026, 12, 14),
    None,
    TODAY - timedelta(days=2),
)
LIAISON = "liaison-never-shown@example.cn"
EVENT_PROPERTIES = {
    "UID",
    "DTSTART",
    "DTEND",
    "DTSTAMP",
    "SUMMARY",
    "LOCATION",
    "DESCRIPTION",
    "URL",
    "SEQUENCE",
    "LAST-MODIFIED",
    "STATUS",
}
DESCRIPTION_LABELS = ("检查编号：", "状态：", "抽查任务：", "检查事项：", "检查组：", "日期暂定")


def current_places(session: Session, inspector_id: str) -> list[models.Visit]:
    query = (
        select(models.Visit)
        .join(models.TeamMember, models.TeamMember.visit_id == models.Visit.id)
        .where(
            models.TeamMember.inspector_id == inspector_id,
            models.TeamMember.replaced_at.is_(None),
        )
        .order_by(models.Visit.visit_code)
    )
    return list(session.scalars(query))


def schedule_everything(session: Session, inspector_id: str | None = None) -> None:
    """Every visit of the month gets its day from PATTERN by its rank (the visits of
    `inspector_id` by their rank among his, so that he has every kind of day); every
    enterprise a liaison."""
    visits = session.scalars(select(models.Visit).order_by(models.Visit.visit_code))
    for k, visit in enumerate(visits):
        visit.visit_on = PATTERN[k % len(PATTERN)]
    if inspector_id is not None:
        for k, visit in enumerate(current_places(session, inspector_id)):
            visit.visit_on = PATTERN[k % len(PATTERN)]
    for enterprise in session.scalars(select(models.Enterprise)):
        enterprise.contact = LIAISON
    session.flush()


def busiest(session: Session) -> str:
    query = (
        select(models.TeamMember.inspector_id)
        .where(models.TeamMember.replaced_at.is_(None))
        .group_by(models.TeamMember.inspector_id)
        .order_by(func.count().desc(), models.TeamMember.inspector_id)
    )
    found = session.scalars(query).first()
    assert found is not None
    return found


def scheduled_in_db(session: Session, inspector_id: str) -> dict[str, date]:
    """What the feed must hold: his current places that have a day."""
    return {v.visit_code: v.visit_on for v in current_places(session, inspector_id) if v.visit_on}


def parse_feed(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == len(calendar.walk("VEVENT")), "two events share a UID"
    return events


def feed_days(events: dict[str, icalendar.Event]) -> dict[str, date]:
    out = {}
    for uid, event in events.items():
        start = event.decoded("DTSTART")
        assert type(start) is date, "an all-day event starts on a date, not a time"
        assert event["DTSTART"].params.get("VALUE") == "DATE"
        assert event.decoded("DTEND") == start + timedelta(days=1)
        out[uid.removesuffix("@inspect-engine")] = start
    return out


def codes_in(days: Any) -> set[str]:
    return {v.visit_code for day in days for v in day.visits}


# --------------------------------------------------------------------------- the day view


def test_visits_are_grouped_by_their_day(month: Session) -> None:
    inspector_id = busiest(month)
    schedule_everything(month, inspector_id)
    mine = {v.visit_code: v.visit_on for v in current_places(month, inspector_id)}
    assert {None, TODAY} <= set(mine.values()) and len(set(mine.values())) >= 4
    view = inspector_day.inspector_days(month, inspector_id, fieldcity.MONTH, today=TODAY)

    assert codes_in([view.today]) == {c for c, on in mine.items() if on == TODAY}
    assert view.today.on == TODAY and not view.today.provisional and view.today.workday
    expected_upcoming: dict[date, set[str]] = defaultdict(set)
    expected_earlier: dict[date, set[str]] = defaultdict(set)
    for code, on in mine.items():
        if on is not None and on > TODAY:
            expected_upcoming[on].add(code)
        elif on is not None and on < TODAY:
            expected_earlier[on].add(code)
    assert [(d.on, codes_in([d])) for d in view.upcoming] == sorted(expected_upcoming.items())
    assert [(d.on, codes_in([d])) for d in view.earlier] == sorted(
        expected_earlier.items(), reverse=True
    )
    assert {v.visit_code for v in view.unscheduled} == {c for c, on in mine.items() if on is None}
    assert {v.visit_code for v in view.visits} == set(mine)
    for day in view.upcoming:  # within a day: by district, then code
        keys = [(v.district, v.visit_code) for v in day.visits]
        assert keys == sorted(keys)


def test_today_is_the_scheduled_day_not_the_day_a_result_was_reported(month: Session) -> None:
    inspector_id = busiest(month)
    schedule_everything(month, inspector_id)
    tomorrow = next(
        v for v in current_places(month, inspector_id) if v.visit_on == TODAY + timedelta(days=1)
    )
    results.submit_result(
        month,
        inspector_id=inspector_id,
        visit_code=tomorrow.visit_code,
        item_code=tomorrow.item_codes[0],
        result="no_problem",
        inspected_on=TODAY,
        today=TODAY,
        actor="test",
    )
    view = inspector_day.inspector_days(month, inspector_id, fieldcity.MONTH, today=TODAY)
    assert tomorrow.visit_code not in codes_in([view.today])
    assert tomorrow.visit_code in codes_in(view.upcoming)


def test_a_day_in_a_year_without_an_official_calendar_is_provisional(month: Session) -> None:
    far = date(max(package_years(), default=2030) + 3, 1, 9)
    inspector_id = busiest(month)
    visit = current_places(month, inspector_id)[0]
    visit.visit_on = far
    month.flush()
    view = inspector_day.inspector_days(
        month, inspector_id, far.strftime("%Y-%m"), today=far - timedelta(days=1)
    )
    assert [(d.on, d.provisional, codes_in([d])) for d in view.upcoming] == [
        (far, True, {visit.visit_code})
    ]
    body = inspector_day.inspector_feed(
        month, inspector_id, base_url="https://example.test", now=datetime.now(UTC)
    )
    event = parse_feed(body)[f"{visit.visit_code}@inspect-engine"]
    assert event["STATUS"] == "TENTATIVE" and "暂定" in str(event["SUMMARY"])


# --------------------------------------------------------------------------- the feed


def test_the_feed_holds_his_scheduled_visits_and_nothing_else(month: Session) -> None:
    inspector_id = busiest(month)
    schedule_everything(month, inspector_id)
    body = inspector_day.inspector_feed(
        month, inspector_id, base_url="https://example.test", now=datetime.now(UTC)
    )
    events = parse_feed(body)
    assert feed_days(events) == scheduled_in_db(month, inspector_id)
    text = body.decode("utf-8")
    # never the liaison, the codes, or the risk scores
    visits = current_places(month, inspector_id)
    secrets = [LIAISON, *(v.verify_token or "-" for v in visits)]
    secrets += [v.confirm_hash for v in visits if v.confirm_hash]
    assert not [s for s in secrets if s in text]
    scores = month.execute(
        select(models.RiskScore.probability, models.RiskScore.reasons).where(
            models.RiskScore.credit_code.in_([v.credit_code for v in visits])
        )
    ).all()
    assert not [p for p, _ in scores if repr(p) in text]
    assert not [r for _, r in scores if r and r in text]
    assert "风险" not in text and "risk" not in text.lower()
    by_code = {v.visit_code: v for v in visits}
    for uid, event in events.items():
        assert set(event) == EVENT_PROPERTIES, uid
        visit = by_code[uid.removesuffix("@inspect-engine")]
        enterprise = month.get_one(models.Enterprise, visit.credit_code)
        assert str(event["SUMMARY"]).endswith(f"检查：{enterprise.name}")
        assert str(event["LOCATION"]) == enterprise.address
        lines = str(event["DESCRIPTION"]).split("\n")
        assert all(line.startswith(DESCRIPTION_LABELS) for line in lines), lines
        assert f"检查编号：{visit.visit_code}" in lines
        assert str(event["URL"]) == f"https://example.test/field/visits/{visit.visit_code}"


def test_a_change_moves_the_sequence_and_last_modified_of_that_event_only(
    month: Session,
) -> None:
    inspector_id = busiest(month)
    schedule_everything(month, inspector_id)
    first_at = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    later = first_at + timedelta(hours=5)
    base = "https://example.test"
    before = parse_feed(
        inspector_day.inspector_feed(month, inspector_id, base_url=base, now=first_at)
    )
    assert {int(e["SEQUENCE"]) for e in before.values()} == {0}
    moved = next(v for v in current_places(month, inspector_id) if v.visit_on == TODAY)
    moved.visit_on = date(2026, 12, 16)
    month.flush()
    after = parse_feed(inspector_day.inspector_feed(month, inspector_id, base_url=base, now=later))
    assert after.keys() == before.keys()
    uid = f"{moved.visit_code}@inspect-engine"
    for key, event in after.items():
        changed = key == uid
        assert int(event["SEQUENCE"]) == (1 if changed else 0), key
        assert event.decoded("LAST-MODIFIED") == (later if changed else first_at), key
        assert event.decoded("DTSTAMP") == event.decoded("LAST-MODIFIED")
    assert after[uid].decoded("DTSTART") == date(2026, 12, 16)
    again = parse_feed(inspector_day.inspector_feed(month, inspector_id, base_url=base, now=later))
    assert {k: int(e["SEQUENCE"]) for k, e in again.items()} == {
        k: int(e["SEQUENCE"]) for k, e in after.items()
    }


def test_a_replaced_member_loses_the_visit_from_his_feed(month: Session) -> None:
    inspector_id = busiest(month)
    schedule_everything(month, inspector_id)
    visit = next(v for v in current_places(month, inspector_id) if v.visit_on)
    place = month.scalars(
        select(models.TeamMember).where(
            models.TeamMember.visit_id == visit.id,
            models.TeamMember.inspector_id == inspector_id,
            models.TeamMember.replaced_at.is_(None),
        )
    ).one()
    on_team = set(fieldcity.team_of(month, visit.id))
    stand_in = month.scalars(
        select(models.Inspector.inspector_id)
        .where(models.Inspector.inspector_id.not_in(on_team))
        .order_by(models.Inspector.inspector_id)
    ).first()
    assert stand_in is not None
    place.replaced_at = datetime.now(UTC)
    place.replaced_reason = "leave"
    month.add(models.TeamMember(visit_id=visit.id, inspector_id=stand_in, role=place.role))
    month.flush()
    now = datetime.now(UTC)
    his = feed_days(
        parse_feed(inspector_day.inspector_feed(month, inspector_id, base_url="x", now=now))
    )
    assert visit.visit_code not in his and his == scheduled_in_db(month, inspector_id)
    theirs = feed_days(
        parse_feed(inspector_day.inspector_feed(month, stand_in, base_url="x", now=now))
    )
    assert theirs[visit.visit_code] == visit.visit_on
    view = inspector_day.inspector_days(month, inspector_id, fieldcity.MONTH, today=TODAY)
    assert visit.visit_code not in {v.visit_code for v in view.visits}


# --------------------------------------------------------------------------- pages and links


@pytest.fixture(scope="module")
def scheduled(served: Served) -> Served:
    with served.session() as session:
        schedule_everything(session, served.city.inspectors["insp_busy"])
        session.commit()
    return served


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def new_link(client: TestClient, label: str) -> tuple[str, str]:
    """Creates a link on the calendar page: (its subscription URL path, the page)."""
    page = client.get("/field/calendar")
    assert page.status_code == 200
    created = client.post(
        "/field/calendar/links", data={"label": label, "csrf": csrf_of(page.text)}
    )
    assert created.status_code == 200, created.text
    found = re.search(
        r'value="https?://[^/"]+(/field/calendar/[A-Za-z0-9_-]{43}\.ics)"', created.text
    )
    assert found, "the new link is not shown"
    return found.group(1), created.text


def db_days(served: Served, username: str) -> dict[str, date]:
    with served.session() as session:
        return scheduled_in_db(session, served.city.inspectors[username])


def test_the_day_page_shows_today_the_coming_days_and_the_unscheduled(scheduled: Served) -> None:
    client = browser(scheduled, "insp_busy")
    page = client.get("/field/visits?month=2026-12")
    assert page.status_code == 200
    sections = {
        name: set(re.findall(r'href="/field/visits/(2026-12-\d{6})"', body))
        for name, body in re.findall(
            r'<section id="(\w+)">(.*?)</section>', page.text, flags=re.DOTALL
        )
    }
    with scheduled.session() as session:
        mine = {
            v.visit_code: v.visit_on
            for v in current_places(session, scheduled.city.inspectors["insp_busy"])
        }
    assert sections["today"] == {c for c, on in mine.items() if on == TODAY}
    assert sections["upcoming"] == {c for c, on in mine.items() if on and on > TODAY}
    assert sections["unscheduled"] == {c for c, on in mine.items() if on is None}
    assert sections.get("earlier", set()) == {c for c, on in mine.items() if on and on < TODAY}
    headings = re.findall(r'<h3 id="day-(\d{4}-\d{2}-\d{2})"', page.text)
    upcoming = [h for h in headings if date.fromisoformat(h) > TODAY]
    assert upcoming == sorted(upcoming) and len(upcoming) == len(set(upcoming))


def test_the_session_feed_needs_no_link(scheduled: Served) -> None:
    client = browser(scheduled, "insp_busy")
    feed = client.get("/field/calendar.ics")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    assert feed.headers["cache-control"] == "private, no-store"
    assert feed_days(parse_feed(feed.content)) == db_days(scheduled, "insp_busy")
    bearer = scheduled.client.get(
        "/field/calendar.ics", headers=scheduled.city.headers("insp_busy")
    )
    assert feed_days(parse_feed(bearer.content)) == db_days(scheduled, "insp_busy")
    assert browser(scheduled).get("/field/calendar.ics").status_code == 401
    assert browser(scheduled, "sup_all").get("/field/calendar.ics").status_code == 403


def test_a_personal_link_opens_his_feed_without_a_session_and_is_shown_once(
    scheduled: Served,
) -> None:
    client = browser(scheduled, "insp_busy")
    path, created_page = new_link(client, "工作手机")
    token = path.removeprefix("/field/calendar/").removesuffix(".ics")
    assert "webcal://" in created_page
    anonymous = browser(scheduled).get(path)
    assert anonymous.status_code == 200
    assert anonymous.headers["cache-control"] == "private, no-store"
    assert anonymous.headers["referrer-policy"] == "no-referrer"
    assert feed_days(parse_feed(anonymous.content)) == db_days(scheduled, "insp_busy")
    again = client.get("/field/calendar")
    assert "工作手机" in again.text and token not in again.text
    with scheduled.session() as session:
        stored = session.scalars(
            select(models.CalendarLink).where(
                models.CalendarLink.token_hash == calendar_links.hash_token(token)
            )
        ).one()
        assert stored.last_used_at is not None
        assert token not in repr([getattr(stored, c.key) for c in stored.__table__.columns])


def test_another_inspector_sees_only_his_own_feed_and_cannot_revoke_mine(
    scheduled: Served,
) -> None:
    busy, idle = browser(scheduled, "insp_busy"), browser(scheduled, "insp_idle")
    busy_path, _ = new_link(busy, "平板")
    idle_path, _ = new_link(idle, "手机")
    busy_days, idle_days = db_days(scheduled, "insp_busy"), db_days(scheduled, "insp_idle")
    assert busy_days.keys() - idle_days.keys()  # the busy one has visits the idle one has not
    assert feed_days(parse_feed(browser(scheduled).get(idle_path).content)) == idle_days
    assert feed_days(parse_feed(idle.get("/field/calendar.ics").content)) == idle_days
    with scheduled.session() as session:
        busy_link = session.scalars(
            select(models.CalendarLink.id).where(models.CalendarLink.label == "平板")
        ).one()
    page = idle.get("/field/calendar").text
    refused = idle.post(f"/field/calendar/links/{busy_link}/revoke", data={"csrf": csrf_of(page)})
    assert refused.status_code == 404
    assert browser(scheduled).get(busy_path).status_code == 200


def test_a_revoked_link_is_not_found_like_an_unknown_one(scheduled: Served) -> None:
    client = browser(scheduled, "insp_busy")
    path, _ = new_link(client, "旧手机")
    with scheduled.session() as session:
        link_id = session.scalars(
            select(models.CalendarLink.id).where(models.CalendarLink.label == "旧手机")
        ).one()
    page = client.get("/field/calendar").text
    revoked = client.post(f"/field/calendar/links/{link_id}/revoke", data={"csrf": csrf_of(page)})
    assert revoked.status_code == 303
    gone = browser(scheduled).get(path)
    unknown = browser(scheduled).get("/field/calendar/" + "A" * 43 + ".ics")
    assert gone.status_code == unknown.status_code == 404
    assert gone.json() == unknown.json()
    assert gone.headers["cache-control"] == "private, no-store"
    assert "旧手机" not in client.get("/field/calendar").text


def test_an_admin_revokes_an_inspectors_links(scheduled: Served) -> None:
    path, _ = new_link(browser(scheduled, "insp_idle"), "家里电脑")
    assert browser(scheduled).get(path).status_code == 200
    done = scheduled.client.post(
        "/admin/users/insp_idle/calendar-links/revoke", headers=scheduled.city.headers("admin")
    )
    assert done.status_code == 200 and done.json()["revoked"] >= 1
    assert browser(scheduled).get(path).status_code == 404


def test_links_are_rate_limited_per_client(scheduled: Served) -> None:
    settings = Settings(
        database_url=scheduled.settings.database_url,
        environment="test",
        secret_key=scheduled.settings.secret_key,
        verify_rate_limit="3/minute",
    )
    with TestClient(create_app(settings)) as client:
        answers = [client.get("/field/calendar/" + "B" * 43 + ".ics").status_code for _ in range(4)]
    assert answers == [404, 404, 404, 429]


def test_the_public_never_sees_the_visit_days(scheduled: Served) -> None:
    """The public pages are the same, byte for byte, whatever the visits' days are."""
    with scheduled.session() as session:
        visit = fieldcity.joint_visit(session)
        tasks = session.scalars(select(models.Task.task_code).order_by(models.Task.task_code))
        task = next(iter(tasks))
    paths = [
        f"/v/{visit.verify_token}",
        f"/public/plans/{fieldcity.MONTH}",
        f"/plans/{fieldcity.MONTH}",
        "/public/plans",
        "/public/plans.atom",
        f"/public/enterprises/{visit.credit_code}",
        f"/enterprises/{visit.credit_code}",
        f"/public/draws/{task}",
        f"/draws/{task}",
        "/public/results",
        "/results",
        "/",
    ]
    public = browser(scheduled)

    def pages() -> dict[str, tuple[int, bytes]]:
        return {p: (r.status_code, r.content) for p in paths for r in [public.get(p)]}

    before = pages()
    assert before[paths[0]][0] == 200 and before[paths[1]][0] == 200
    with scheduled.session() as session:
        old = dict(session.execute(select(models.Visit.id, models.Visit.visit_on)).tuples().all())
        for row in session.scalars(select(models.Visit)):
            row.visit_on = date(2026, 12, 28) if row.visit_on is None else None
        session.commit()
        try:
            assert pages() == before
            for _, body in before.values():
                assert b"visit_on" not in body and b"2026-12-28" not in body
        finally:
            for row in session.scalars(select(models.Visit)):
                row.visit_on = old[row.id]
            session.commit()
