"""Delivery to an enterprise's registered liaison (联络员): the channel inspectors do not
control. The enterprise's confirmation code reaches it by e-mail (SMTP, the standard
library's smtplib) or by SMS through a gateway; in development an SMS outbox folder takes
the gateway's place (one JSON line per message).

Nothing here touches the database: workflows/field.py records what was sent."""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Literal, Protocol

from inspect_engine.settings import Settings

Channel = Literal["email", "sms"]
OUTBOX_FILE = "sms-outbox.jsonl"


def channel_of(contact: str) -> Channel:
    """A validated contact (formats.fields.contact) is an e-mail address or 11 digits."""
    return "email" if "@" in contact else "sms"


def mask(contact: str) -> str:
    """Enough of the address to recognise it, not to write to it: z***@example.cn,
    138****8000."""
    if "@" in contact:
        local, domain = contact.rsplit("@", 1)
        return f"{local[:1]}***@{domain}"
    return contact[:3] + "****" + contact[-4:] if len(contact) >= 8 else "****"


class SmsGateway(Protocol):
    """An SMS provider's client: sends one text to one mobile number or raises OSError."""

    def send(self, number: str, text: str) -> None: ...


@dataclass(frozen=True)
class FileOutbox:
    """The development gateway: appends one JSON line per message to `folder`/sms-outbox.jsonl."""

    folder: Path

    def send(self, number: str, text: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        line = {"at": datetime.now(UTC).isoformat(), "to": number, "text": text}
        with (self.folder / OUTBOX_FILE).open("a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    timeout: float = 30.0

    def send(self, address: str, subject: str, text: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = address
        message["Subject"] = subject
        message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[-1])
        message.set_content(text)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


@dataclass(frozen=True)
class Confirmation:
    """What the liaison is told: which visit, and where to confirm it."""

    enterprise_name: str
    visit_code: str
    month: str
    link: str
    code: str
    valid_until: date


@dataclass(frozen=True)
class Delivery:
    channel: Channel
    address_masked: str
    error: str | None  # None: accepted by the mail server or the gateway


def confirmation_text(c: Confirmation) -> str:
    return (
        f"{c.enterprise_name}：贵单位已被抽中 {c.month} 双随机抽查（检查编号 {c.visit_code}）。"
        f"检查结束后，请打开 {c.link} 确认检查是否实施并匿名评价（确认码 {c.code}，"
        f"有效期至 {c.valid_until.isoformat()}）。确认码仅发给贵单位联络员，请勿交给检查人员。"
    )


@dataclass(frozen=True)
class Courier:
    """Sends confirmations by the channel of each contact; a channel not configured is
    reported as an error of that delivery, never silently skipped."""

    mailer: SmtpMailer | None = None
    sms: SmsGateway | None = None
    base_url: str = ""  # the public site: the links point to {base_url}/v/{code}
    grace_days: int = 5  # the codes' validity after the month (Settings.verify_grace_days)

    @property
    def configured(self) -> bool:
        return self.mailer is not None or self.sms is not None

    def deliver(self, contact: str, confirmation: Confirmation) -> Delivery:
        channel = channel_of(contact)
        text = confirmation_text(confirmation)
        try:
            if channel == "email":
                if self.mailer is None:
                    raise OSError("no SMTP server is configured (INSPECT_SMTP_HOST)")
                subject = f"双随机抽查确认 {confirmation.visit_code}"
                self.mailer.send(contact, subject, text)
            else:
                if self.sms is None:
                    raise OSError("no SMS gateway is configured (INSPECT_SMS_OUTBOX_DIR)")
                self.sms.send(contact, text)
        except (OSError, smtplib.SMTPException) as exc:
            return Delivery(channel, mask(contact), f"{type(exc).__name__}: {exc}"[:500])
        return Delivery(channel, mask(contact), None)


def courier_from_settings(settings: Settings, base_url: str | None = None) -> Courier:
    """The channels the settings configure; links to `settings.public_base_url`, else to
    `base_url` (the request's own address)."""
    mailer = None
    if settings.smtp_host:
        mailer = SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    sms = FileOutbox(settings.sms_outbox_dir) if settings.sms_outbox_dir else None
    site = settings.public_base_url or base_url or "http://localhost:8000"
    return Courier(mailer, sms, site, settings.verify_grace_days)
