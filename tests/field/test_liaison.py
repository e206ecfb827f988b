"""The enterprise's confirmation is the enterprise's (issue 16): its confirmation code goes
to its registered liaison by e-mail (a real local SMTP server, aiosmtpd) or SMS (the file
outbox), never through the inspectors. Through the production app on SQLite and
PostgreSQL: an inspector who uses everything his pages, API and PDF documents show cannot
record the enterprise's confirmation; the enterprise's own code can; an enterprise without
a liaison confirms with the team's code, marked "channel not verified" and counted on the
board."""

from __future__ import annotations

import hashlib
import io
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import models
from api.app import create_app
from inspect_engine.liaison import OUTBOX_FILE, Courier, FileOutbox, SmtpMailer
from inspect_engine.settings import Settings
from inspect_engine.workflows import field
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from tests.conftest import BACKENDS, _drop_postgres_database, fresh_database_url
from tests.field import fieldcity
from tests.field.test_pages import browser

SITE = "https://scjg.example.gov.cn"
EMAIL = "liaison.zhang@example.cn"
MOBILE = "13800138000"
CODE = re.compile(r"[A-Z2-7]{40}")


class Inbox:
    """aiosmtpd handler: keeps every message the server accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Liaison:
    engine: Engine
    client: TestClient
    city: fieldcity.FieldCity
    inbox: Inbox
    outbox: Path
    by_email: str  # visit codes
    by_sms: str
    no_contact: str

    def session(self) -> Session:
        return make_session_factory(self.engine)()

    def visit(self, visit_code: str) -> models.Visit:
        with self.session() as session:
            visit = session.scalars(
                select(models.Visit).where(models.Visit.visit_code == visit_code)
            ).one()
            session.expunge(visit)
            return visit

    def emailed_code(self) -> str:
        [(_, mail)] = self.inbox.messages
        body = mail.get_payload(decode=True)
        assert isinstance(body, bytes)
        found = re.search(re.escape(SITE) + r"/v/([A-Z2-7]{40})", body.decode("utf-8"))
        assert found, "the e-mail carries no confirmation link"
        return found.group(1)


def _staffed(session: Session) -> list[models.Visit]:
    staffed = select(models.TeamMember.visit_id).where(models.TeamMember.replaced_at.is_(None))
    query = select(models.Visit).where(models.Visit.id.in_(staffed))
    return list(session.scalars(query.order_by(models.Visit.visit_code)))


@pytest.fixture(scope="module", params=BACKENDS)
def liaison(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Liaison]:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    url = fresh_database_url(request.param, tmp_path_factory, "liaison")
    engine = make_engine(url)
    upgrade(engine)
    with make_session_factory(engine)() as session:
        fieldcity.run_month(session, tmp_path_factory.mktemp("liaisoncity"))
        city = fieldcity.add_users(session)
        joint = fieldcity.joint_visit(session)
        others = [v for v in _staffed(session) if v.credit_code != joint.credit_code]
        session.get_one(models.Enterprise, joint.credit_code).contact = EMAIL
        session.get_one(models.Enterprise, others[0].credit_code).contact = MOBILE
        codes = (joint.visit_code, others[0].visit_code, others[1].visit_code)
        session.commit()
    outbox = tmp_path_factory.mktemp("sms")
    settings = Settings(
        database_url=url,
        environment="test",
        secret_key="liaison-test-secret",
        public_base_url=SITE,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,  # the local test server speaks plain SMTP
        smtp_sender="scjg@example.gov.cn",
        sms_outbox_dir=outbox,
        verify_rate_limit="1000/minute",
    )
    try:
        with fieldcity.clock(fieldcity.TODAY), TestClient(create_app(settings)) as client:
            issued = client.post(
                f"/supervisor/plans/{fieldcity.MONTH}/verify-codes",
                headers=city.headers("sup_all"),
            )
            assert issued.status_code == 200, issued.text
            yield Liaison(engine, client, city, inbox, outbox, *codes)
    finally:
        smtp.stop()
        engine.dispose()
        if request.param == "postgresql":
            _drop_postgres_database(url)


def _pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in reader.pages))


def inspector_views(liaison: Liaison, visit_code: str) -> dict[str, str]:
    """Everything the busy inspector can read about his visit: pages, API, documents."""
    phone = browser_of(liaison, "insp_busy")
    bearer = liaison.city.headers("insp_busy")
    views = {
        "month page": phone.get(f"/field/visits?month={fieldcity.MONTH}"),
        "visit page": phone.get(f"/field/visits/{visit_code}"),
        "api list": liaison.client.get(
            f"/inspector/visits?month={fieldcity.MONTH}", headers=bearer
        ),
        "api visit": liaison.client.get(f"/inspector/visits/{visit_code}", headers=bearer),
    }
    texts = {}
    for name, response in views.items():
        assert response.status_code == 200, (name, response.status_code)
        texts[name] = response.text
    for kind in ("task", "notice"):
        pdf = phone.get(f"/field/visits/{visit_code}/{kind}.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        texts[f"{kind}.pdf"] = _pdf_text(pdf.content)
    return texts


def browser_of(liaison: Liaison, username: str) -> TestClient:
    served = _AsServed(liaison)
    return browser(served, username)  # type: ignore[arg-type]


@dataclass
class _AsServed:
    """What tests/field/test_pages.browser needs of a served app."""

    liaison: Liaison

    @property
    def client(self) -> TestClient:
        return self.liaison.client

    @property
    def city(self) -> fieldcity.FieldCity:
        return self.liaison.city


def record(client: TestClient, code: str, took_place: str, rating: str = "5") -> Any:
    return client.post(
        f"/v/{code}",
        data={"took_place": took_place, "rating": rating},
        follow_redirects=False,
    )


def feedback(liaison: Liaison, visit_code: str) -> models.VisitFeedback | None:
    with liaison.session() as session:
        row = session.scalars(
            select(models.VisitFeedback)
            .join(models.Visit, models.Visit.id == models.VisitFeedback.visit_id)
            .where(models.Visit.visit_code == visit_code)
        ).first()
        if row is not None:
            session.expunge(row)
        return row


def test_the_liaison_receives_the_link_by_email(liaison: Liaison) -> None:
    [(recipients, mail)] = liaison.inbox.messages
    assert recipients == [EMAIL]
    assert mail["From"] == "scjg@example.gov.cn" and liaison.by_email in mail["Subject"]
    code = liaison.emailed_code()
    visit = liaison.visit(liaison.by_email)
    assert code != visit.verify_token
    # stored only as its hash: a database reader cannot print it
    assert visit.confirm_hash == hashlib.sha256(code.encode()).hexdigest()
    with liaison.session() as session:
        [sent] = session.scalars(
            select(models.ConfirmationDelivery).where(
                models.ConfirmationDelivery.visit_id == visit.id
            )
        ).all()
        assert (sent.channel, sent.address_masked, sent.error) == (
            "email",
            "l***@example.cn",
            None,
        )
        audit = session.scalars(
            select(models.AuditEntry).where(models.AuditEntry.action == "plan.confirmations")
        ).one()
        assert audit.details["sent"] == 2 and code not in json.dumps(audit.details)


def test_the_sms_outbox_gets_one_line_per_message(liaison: Liaison) -> None:
    lines = (liaison.outbox / OUTBOX_FILE).read_text(encoding="utf-8").splitlines()
    [message] = [json.loads(line) for line in lines]
    assert message["to"] == MOBILE
    found = re.search(re.escape(SITE) + r"/v/([A-Z2-7]{40})", message["text"])
    assert found and liaison.by_sms in message["text"]
    visit = liaison.visit(liaison.by_sms)
    assert visit.confirm_hash == hashlib.sha256(found.group(1).encode()).hexdigest()
    # the visit without a liaison got nothing
    assert liaison.visit(liaison.no_contact).confirm_hash is None


def test_sending_again_sends_nothing_new(liaison: Liaison) -> None:
    again = liaison.client.post(
        f"/supervisor/plans/{fieldcity.MONTH}/verify-codes",
        headers=liaison.city.headers("sup_all"),
    )
    assert again.status_code == 200
    assert len(liaison.inbox.messages) == 1
    assert len((liaison.outbox / OUTBOX_FILE).read_text().splitlines()) == 1


def test_no_inspector_view_contains_the_enterprises_code(liaison: Liaison) -> None:
    code = liaison.emailed_code()
    team_code = liaison.visit(liaison.by_email).verify_token
    assert team_code
    views = inspector_views(liaison, liaison.by_email)
    assert team_code in views["visit page"] and team_code in views["task.pdf"]
    for name, text in views.items():
        assert code not in text, f"the enterprise's code shows on the inspector's {name}"
        assert EMAIL not in text, f"the liaison's address shows on the inspector's {name}"


def test_an_inspector_cannot_confirm_with_anything_he_sees(liaison: Liaison) -> None:
    """The attack of issue 16: the inspector reads his pages and documents, then records
    "took place, 5 points" with every code he found. Then the enterprise answers."""
    seen = set()
    for text in inspector_views(liaison, liaison.by_email).values():
        seen |= set(CODE.findall(text))
    team_code = liaison.visit(liaison.by_email).verify_token
    assert team_code in seen  # the attack uses at least the printed code
    stranger = TestClient(liaison.client.app, follow_redirects=False)
    for candidate in sorted(seen):
        attempt = record(stranger, candidate, "yes")
        assert attempt.status_code in (403, 404), (candidate, attempt.status_code)
    refused = record(stranger, team_code, "yes")
    assert refused.status_code == 403 and "联络员" in refused.text
    assert feedback(liaison, liaison.by_email) is None
    # the enterprise's own answer, with the code its liaison received, is accepted
    enterprise = TestClient(liaison.client.app, follow_redirects=False)
    accepted = record(enterprise, liaison.emailed_code(), "no", rating="1")
    assert accepted.status_code == 303, accepted.text
    kept = feedback(liaison, liaison.by_email)
    assert kept is not None
    assert (kept.took_place, kept.rating, kept.channel_verified) == (False, 1, True)


def test_the_team_code_still_proves_the_team_genuine(liaison: Liaison) -> None:
    visit = liaison.visit(liaison.by_sms)
    assert visit.verify_token
    page = liaison.client.get(f"/v/{visit.verify_token}")
    assert page.status_code == 200 and 'data-outcome="genuine"' in page.text
    with liaison.session() as session:
        team = fieldcity.team_of(session, visit.id)
    assert team and all(certificate in page.text for certificate in team)
    assert 'id="liaison-only"' in page.text and 'id="record-form"' not in page.text


def test_without_a_liaison_the_team_code_confirms_marked_and_counted(liaison: Liaison) -> None:
    visit = liaison.visit(liaison.no_contact)
    assert visit.verify_token and visit.confirm_hash is None
    page = liaison.client.get(f"/v/{visit.verify_token}")
    assert 'id="record-form"' in page.text and 'id="unverified-channel"' in page.text
    sent = record(TestClient(liaison.client.app, follow_redirects=False), visit.verify_token, "yes")
    assert sent.status_code == 303
    kept = feedback(liaison, liaison.no_contact)
    assert kept is not None and kept.took_place and not kept.channel_verified
    with liaison.session() as session:
        expected = len(
            session.scalars(
                select(models.VisitFeedback).where(
                    models.VisitFeedback.took_place.is_(True),
                    models.VisitFeedback.channel_verified.is_(False),
                )
            ).all()
        )
    assert expected >= 1
    board = liaison.client.get(
        f"/supervisor/board/{fieldcity.MONTH}", headers=liaison.city.headers("admin")
    )
    assert board.status_code == 200
    assert board.json()["total"]["unverified"] == expected
    page = browser_of(liaison, "admin").get(f"/board/{fieldcity.MONTH}")
    assert f'<span id="unverified">{expected}</span>' in page.text


def test_a_failed_delivery_is_recorded_and_tried_again(month: Session, tmp_path: Path) -> None:
    """No SMTP server listens: the attempt is kept with its error and no code is stored (the
    team's code still records the visit, unverified); the next call sends it."""
    visit = _staffed(month)[0]
    month.get_one(models.Enterprise, visit.credit_code).contact = "liaison@example.cn"
    refused = Courier(
        mailer=SmtpMailer("127.0.0.1", free_port(), "scjg@example.gov.cn", timeout=5),
        base_url=SITE,
    )
    sent = field.send_confirmations(month, fieldcity.MONTH, refused)
    assert (sent.sent, sent.failed) == (0, 1)
    month.refresh(visit)
    assert visit.confirm_hash is None
    [attempt] = month.scalars(
        select(models.ConfirmationDelivery).where(models.ConfirmationDelivery.visit_id == visit.id)
    ).all()
    assert attempt.channel == "email" and attempt.error and "ConnectionRefused" in attempt.error
    # by SMS instead, through the file outbox
    month.get_one(models.Enterprise, visit.credit_code).contact = MOBILE
    outbox = Courier(sms=FileOutbox(tmp_path), base_url=SITE)
    again = field.send_confirmations(month, fieldcity.MONTH, outbox)
    assert (again.sent, again.failed) == (1, 0)
    [line] = (tmp_path / OUTBOX_FILE).read_text(encoding="utf-8").splitlines()
    code = re.findall(r"/v/([A-Z2-7]{40})", json.loads(line)["text"])[0]
    month.refresh(visit)
    assert visit.confirm_hash == field.confirm_hash(code)
    assert field.send_confirmations(month, fieldcity.MONTH, outbox).sent == 0  # idempotent
    with fieldcity.clock(fieldcity.TODAY):
        assert visit.verify_token
        with pytest.raises(field.LiaisonCodeRequired):
            field.record_feedback(month, visit.verify_token, took_place=True, rating=5)
        kept = field.record_feedback(month, code.lower(), took_place=True, rating=4)
    assert kept.channel_verified and kept.rating == 4


def test_an_unconfigured_channel_is_a_recorded_failure(month: Session) -> None:
    visit = _staffed(month)[0]
    month.get_one(models.Enterprise, visit.credit_code).contact = MOBILE
    sent = field.send_confirmations(month, fieldcity.MONTH, Courier(base_url=SITE))
    assert (sent.sent, sent.failed) == (0, 1)
    attempt = month.scalars(select(models.ConfirmationDelivery)).one()
    assert attempt.address_masked == "138****8000"
    assert attempt.error and "INSPECT_SMS_OUTBOX_DIR" in attempt.error
