"""The plans' commitments in an Atom feed, as an outside archive reads it, on SQLite and
PostgreSQL: a plan is in the feed the moment it is frozen (commitment, group hash, staffing
hash, the declared source, commit time), the same entry later carries the contribution, the
seed and the number of staffing events, and a commitment voided by a public refreeze stays
in the feed, marked, next to the new one. The public plans page links the feed."""

from __future__ import annotations

import re
import secrets
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.assignment.events import Change
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.sealing import NonceKey
from inspect_engine.workflows import staffing
from inspect_engine.workflows.planning import freeze_month, plan_month
from tests.api.conftest import Service
from tests.workflows import tinycity

OCTOBER, AUGUST = "2026-10", "2026-08"
TASK = "{m}-INFO,{m} 企业公示信息抽查,SAMR-INFO,false,,0.05,0.1,0.2,0.4,0.01,any,2"
SOURCE = "福利彩票 3D 2026 年第 300 期开奖号码"
ATOM = "{http://www.w3.org/2005/Atom}"
IE = "{urn:inspect-engine:plan-commitment}"


def _post(service: Service, user: str, path: str, **kw: Any) -> Any:
    return service.client.post(path, headers=service.city.headers(user), **kw)


def _feed(service: Service) -> dict[str, dict[str, Any]]:
    """The feed's entries by id: the parser's view and the machine-readable values."""
    response = service.get("/public/plans.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")  # well-formed Atom
    assert parsed.version == "atom10"
    values = {
        entry.findtext(f"{ATOM}id"): {
            child.tag.removeprefix(IE): child.text for child in entry if child.tag.startswith(IE)
        }
        for entry in ET.fromstring(response.content).iter(f"{ATOM}entry")
    }
    return {e.id: {"entry": e, **values[e.id]} for e in parsed.entries}


def _entry_of(feed: dict[str, dict[str, Any]], commitment: str) -> dict[str, Any]:
    (found,) = [e for key, e in feed.items() if key.endswith(f"#commitment-{commitment}")]
    return found


def test_the_commitment_is_in_the_feed_from_the_freeze_to_the_draw(service: Service) -> None:
    text = f"{tinycity.TASKS_HEADER}\n{TASK.format(m=OCTOBER)}\n"
    files = {"file": ("tasks.csv", text.encode("utf-8"), "text/csv")}
    assert _post(service, "sup_samr", f"/supervisor/plans/{OCTOBER}/tasks", files=files).is_success
    frozen = _post(
        service, "sup_samr", f"/supervisor/plans/{OCTOBER}/freeze", params={"source": SOURCE}
    ).json()
    entry = _entry_of(_feed(service), frozen["commitment"])
    public = service.get(f"/public/plans/{OCTOBER}").json()
    for name in ("commitment", "group_hash", "staffing_hash", "contribution_source"):
        assert entry[name] == frozen[name] == public[name], name
    assert entry["contribution_source"] == SOURCE and entry["status"] == "frozen"
    assert entry["committed_at"] == entry["entry"].published == frozen["committed_at"]
    assert "contribution" not in entry and "seed" not in entry  # not yet fixed
    assert entry["team_events"] == "0"
    assert frozen["commitment"] in entry["entry"].title and SOURCE in entry["entry"].summary
    assert entry["entry"].link.endswith(f"/plans/{OCTOBER}")

    # a staffing change before the draw is an event; the feed counts it
    with Session(service.engine) as session:
        plan = session.scalars(select(models.Plan).where(models.Plan.month == OCTOBER)).one()
        inspector = session.scalars(select(models.Inspector.inspector_id)).first()
        assert inspector is not None
        staffing.record_change(
            session, plan, Change("leave", inspector, starts_on=date(2026, 10, 20),
                                  ends_on=date(2026, 10, 22)),
            actor="test", source="test",
        )  # fmt: skip
        session.commit()
    drawn = _post(
        service, "sup_samr", f"/supervisor/plans/{OCTOBER}/draw", json={"contribution": "3 1 4"}
    )
    assert drawn.status_code == 200, drawn.text
    after = _entry_of(_feed(service), frozen["commitment"])  # the same entry, updated
    public = service.get(f"/public/plans/{OCTOBER}").json()
    assert (after["contribution"], after["seed"]) == ("3 1 4", public["seed"])
    assert public["seed"] is not None and after["status"] == "drawn"
    assert after["team_events"] == "1" == str(public["team_events"])
    assert after["entry"].updated_parsed >= entry["entry"].updated_parsed  # (to the second)
    # the public month page: the staffing hash, the declared source, the number of events
    page = service.get(f"/plans/{OCTOBER}", headers={"accept": "text/html"}).text
    assert frozen["staffing_hash"] in page and SOURCE in page
    assert re.search(r"冻结后的人员变动[^<]*</dt><dd>1</dd>", page)


def test_a_voided_commitment_stays_in_the_feed(service: Service, tmp_path: Path) -> None:
    with Session(service.engine) as session:  # frozen under a key the service lacks
        plan_month(session, AUGUST, tinycity.tasks_file(tmp_path, (TASK.format(m=AUGUST),)))
        lost = NonceKey.from_text(secrets.token_hex(32))
        voided = freeze_month(session, AUGUST, ExclusionPolicy(), nonce_key=lost).commitment
        session.commit()
    before = _entry_of(_feed(service), voided)
    assert before["status"] == "frozen"
    reason = "密钥随旧服务器丢失"
    done = _post(service, "admin", f"/admin/plans/{AUGUST}/refreeze", json={"reason": reason})
    assert done.status_code == 200, done.text
    feed = _feed(service)
    old = _entry_of(feed, voided)  # the same id an archive already holds, now voided
    assert old["entry"].id == before["entry"].id
    assert (old["status"], old["reason"]) == ("voided", reason) and "已作废" in old["entry"].title
    new = _entry_of(feed, done.json()["commitment"])
    assert new["status"] == "frozen" and new["group_hash"] == before["group_hash"]


def test_the_plans_page_links_the_feed(service: Service) -> None:
    page = service.get("/plans", headers={"accept": "text/html"}).text
    assert 'rel="alternate" type="application/atom+xml"' in page
    assert 'href="/public/plans.atom"' in page and 'id="plans-feed"' in page


def test_a_source_that_would_break_the_feed_is_refused(service: Service) -> None:
    month = "2026-07"
    text = f"{tinycity.TASKS_HEADER}\n{TASK.format(m=month)}\n"
    files = {"file": ("tasks.csv", text.encode("utf-8"), "text/csv")}
    assert _post(service, "sup_samr", f"/supervisor/plans/{month}/tasks", files=files).is_success
    path = f"/supervisor/plans/{month}/freeze"
    for source in ("3D 第 300 期\x0b", "第一行\n第二行"):
        refused = _post(service, "sup_samr", path, params={"source": source})
        assert refused.status_code == 422 and "one line of printable text" in refused.text
    assert service.get(f"/public/plans/{month}").status_code == 404  # still not frozen
    _feed(service)  # and the feed stays well-formed Atom
