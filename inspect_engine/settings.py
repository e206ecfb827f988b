"""Runtime settings, read from the environment (prefix INSPECT_) or a .env file."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from limits import parse as parse_rate
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from inspect_engine.sealing import NonceKey, parse_key

DEFAULT_SECRET = "development-secret-change-me"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INSPECT_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    environment: Environment = Environment.DEVELOPMENT
    # An embedded SQLite file by default; production uses
    # postgresql+psycopg://user@host:5432/dbname
    database_url: str = "sqlite:///var/inspect-engine.db"
    secret_key: str = DEFAULT_SECRET
    # Seals each plan's nonce until the draw (32 bytes, hex or base64). Keep it outside the
    # database and back it up: a plan sealed under a lost key can only be frozen again, in
    # public. Unset outside production: a public development key (not secret).
    nonce_key: str | None = Field(default=None, repr=False)
    # Import: rows written per statement batch.
    import_batch_rows: int = Field(default=5000, ge=100)
    # Upload: the largest request body the service accepts, in bytes. The default, 1 GiB,
    # is twice the largest real directory: enterprises.csv of the whole city (about 3 million
    # market entities, about 500 MB). Larger bodies are refused with a 413 before they are
    # spooled to disk (api/limits.py); a body is read only after its sender's login and
    # role are checked (api/uploads.py).
    max_upload_bytes: int = Field(default=1_073_741_824, ge=1024)

    # Browser sessions (people sign in with a password): a session ends after this long
    # without a request, and this long after sign-in whatever happens.
    session_idle_hours: float = Field(default=8, gt=0)
    session_absolute_days: float = Field(default=7, gt=0)
    # Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses
    # or networks, comma-separated (e.g. "10.0.0.5,10.1.0.0/16"). Empty: none, the
    # connection's own address and scheme are used (docs/api.md, "Behind a proxy").
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Rate limits per client address ("N/second|minute|hour|day", the `limits` notation):
    # openings of the scan-to-verify page /v/{code}. Sign-in attempts are slowed per
    # (account, client) and per client by workflows/signin.py instead.
    verify_rate_limit: str = "30/minute"
    # Where the counters live: "memory://" counts per server process; several processes
    # share one limit through e.g. "redis://host:6379" (needs the redis package).
    rate_limit_storage: str = "memory://"

    # Exclusions applied before a frame is frozen (configuration, never constants).
    recent_window_days: int = Field(default=180, ge=0)
    yearly_cap: int | None = Field(default=2, ge=1)
    grace_days: int = Field(default=180, ge=0)
    # 回避: an inspector does not return to an enterprise he inspected within this window.
    recusal_window_days: int = Field(default=365, ge=0)
    # The visit calendar (ie-teams-v2): no inspector has more visits a day than this;
    # frozen in each month's staffing snapshot at the freeze.
    max_visits_per_day: int = Field(default=3, ge=1)
    # Sizing the draw to the staff: the share of the window's capacity the expected load
    # may use, so that the draw's random size rarely overflows (`month plan --fit-capacity`).
    utilisation: float = Field(default=0.9, gt=0, le=1)

    # Risk classes: which lists force a least class after the model ("list:class",
    # comma-separated; lists of lists.csv: serious_violation, abnormal). The default forces
    # only the serious-violation list to D; "serious_violation:D,abnormal:C" also lifts the
    # abnormal-operation list to C (docs/risk-model.md, "Classes and overrides").
    list_rules: Annotated[tuple[str, ...], NoDecode] = ("serious_violation:D",)

    # Field documents and scan-to-verify codes.
    public_base_url: str | None = None  # printed in QR codes; default: the request's URL
    document_issuer: str = "市场监督管理局"
    document_contact: str | None = None
    verify_grace_days: int = Field(default=5, ge=0)
    cjk_font: str | None = None  # a TrueType CJK font to embed in the PDFs

    # The enterprise's confirmation code goes to its liaison (enterprises.csv `contact`),
    # never through the inspectors (docs/field.md, "The enterprise's confirmation").
    # E-mail: an SMTP server; STARTTLS unless turned off (a local relay without TLS).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_sender: str = "noreply@localhost"
    smtp_starttls: bool = True
    # SMS, development: a folder where each message is appended as one JSON line
    # (sms-outbox.jsonl). A production SMS gateway implements liaison.SmsGateway.
    sms_outbox_dir: Path | None = None

    @field_validator("list_rules")
    @classmethod
    def _check_list_rules(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # imported here: the risk package loads scikit-learn, which settings need not
        from inspect_engine.risk.classes import list_rules

        list_rules(value)  # a ValueError names the rule and what is wrong with it
        return value

    @field_validator("trusted_proxies", "list_rules", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Comma-separated environment values become tuples."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        checked = []
        for entry in value:
            try:
                network = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"INSPECT_TRUSTED_PROXIES: {entry!r} is not an IP address or network "
                    "(e.g. 10.0.0.5 or 10.1.0.0/16)"
                ) from None
            # 10.1.2.3/16 means 10.1.0.0/16; uvicorn would silently ignore the former
            checked.append(str(network) if "/" in entry else entry)
        return tuple(checked)

    @field_validator("verify_rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate limit: write N/second, N/minute, N/hour or N/day"
            ) from None
        return value

    def uses_development_secret(self) -> bool:
        return self.secret_key == DEFAULT_SECRET

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.environment is Environment.PRODUCTION and self.secret_key == DEFAULT_SECRET:
            raise ValueError("INSPECT_SECRET_KEY must be set to a private value in production")
        if self.nonce_key is not None:
            try:
                parse_key(self.nonce_key)
            except ValueError as exc:
                raise ValueError(f"INSPECT_NONCE_KEY: {exc}") from None
        if self.environment is Environment.PRODUCTION and self.sealing_key().development:
            raise ValueError(
                "INSPECT_NONCE_KEY must be set to a private 32-byte key in production "
                "(the development key is public: anyone could open the sealed nonces)"
            )
        return self

    def sealing_key(self) -> NonceKey:
        """The key that seals the plans' nonces until their draw."""
        return NonceKey.from_text(self.nonce_key)

    def sqlite_path(self) -> Path | None:
        """The SQLite file behind database_url, if it is a file database."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :])
        return None
