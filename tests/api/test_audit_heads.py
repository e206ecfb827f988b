"""The audit chain's head is published at every freeze, draw and publication and daily, on
the public site, the JSON endpoint and the feed; a log rewritten with database access (every
hash after the edit recomputed) then no longer reaches the heads the public kept."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import models
from inspect_engine.cli import app as cli
from inspect_engine.workflows import audit
from tests.api.conftest import Service
from tests.api.servicecity import MONTH


def heads(service: Service) -> dict[str, Any]:
    response = service.get("/public/audit/heads")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def rewrite_log(service: Service, entry_id: int, *, also_published: bool) -> None:
    """What an operator with database access and docs/audit.md can do: change an entry and
    recompute every hash after it, so that the chain is whole again."""
    with Session(service.engine) as session:
        entries = session.scalars(select(models.AuditEntry).order_by(models.AuditEntry.id)).all()
        prev = audit.GENESIS
        for entry in entries:
            if entry.id == entry_id:
                entry.details = {**entry.details, "rewritten": True}
            entry.prev_hash = prev
            entry.entry_hash = audit.entry_hash(
                prev, entry.at, entry.actor, entry.action, entry.subject, entry.details
            )
            prev = entry.entry_hash
        if also_published:  # the heads the database keeps follow the rewrite too
            session.execute(delete(models.PublishedHead))
            session.add(
                models.PublishedHead(
                    sequence=len(entries), entry_hash=prev, occasion="daily", subject="x"
                )
            )
        session.commit()


def verify(service: Service, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("INSPECT_DATABASE_URL", service.url)
    return CliRunner().invoke(cli, ["audit", "verify", *args])


def test_heads_are_published_at_freeze_draw_and_publication(service: Service) -> None:
    before = heads(service)["published"]["items"]
    assert [(h["occasion"], h["subject"]) for h in before] == [("draw", MONTH), ("freeze", MONTH)]
    published = service.client.post(
        f"/supervisor/plans/{MONTH}/publish", headers=service.city.headers("sup_all")
    )
    assert published.status_code == 200, published.text
    body = heads(service)
    latest = body["published"]["items"][0]
    assert (latest["occasion"], latest["subject"]) == ("publication", MONTH)
    # the publication's own entry is the last one the head covers
    with Session(service.engine) as session:
        last = session.scalars(
            select(models.AuditEntry).order_by(models.AuditEntry.id.desc())
        ).first()
        assert last is not None and last.action == "plan.publish"
        assert latest["head"] == f"{audit.chain_head(session)}"
    assert body["latest"] == latest
    page = service.get("/audit")
    assert page.status_code == 200 and latest["head"] in page.text
    feed = service.get("/public/results.atom")
    assert f"审计日志链头（最近公布）{latest['head']}" in feed.text


def test_the_daily_head_is_published_once_a_day(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INSPECT_DATABASE_URL", service.url)
    first = CliRunner().invoke(cli, ["audit", "publish-head"])
    second = CliRunner().invoke(cli, ["audit", "publish-head"])
    assert first.exit_code == 0 and second.stdout == first.stdout, first.output
    daily = [h for h in heads(service)["published"]["items"] if h["occasion"] == "daily"]
    assert [h["head"] for h in daily] == [first.stdout.strip()]


def test_the_heads_are_paged_newest_first(service: Service) -> None:
    every = heads(service)["published"]["items"]
    assert len(every) >= 2
    first = service.get("/public/audit/heads?limit=1").json()
    assert first["published"]["items"] == every[:1] and first["latest"] == every[0]
    cursor = first["published"]["next_cursor"]
    second = service.get(f"/public/audit/heads?limit=1&cursor={cursor}").json()
    assert second["published"]["items"] == every[1:2]
    assert second["latest"] == every[0]
    assert service.get("/public/audit/heads?cursor=bogus").status_code == 422


def test_a_rewritten_log_fails_against_the_published_head(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: rewrite an audit row with SQL after a publication."""
    kept = heads(service)["published"]["items"][0]["head"]  # a reader's copy
    assert verify(service, monkeypatch, "--expect-head", kept).exit_code == 0
    with Session(service.engine) as session:
        freeze = session.scalars(
            select(models.AuditEntry.id).where(models.AuditEntry.action == "plan.freeze")
        ).one()
    rewrite_log(service, freeze, also_published=False)
    assert verify(service, monkeypatch, "--no-published").exit_code == 0  # whole on its own
    stored = verify(service, monkeypatch)  # the heads the engine stored still tell
    assert stored.exit_code == 1
    assert "head mismatch" in stored.output and "the published head" in stored.output
    # the operator rewrites the stored heads too: only the public's copies tell now
    rewrite_log(service, freeze, also_published=True)
    assert verify(service, monkeypatch).exit_code == 0
    against = verify(service, monkeypatch, "--expect-head", kept)
    assert against.exit_code == 1, against.output
    assert "head mismatch" in against.output and "expected head" in against.output
    assert heads(service)["published"]["items"][0]["head"] != kept
