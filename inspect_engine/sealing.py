"""The nonce at rest (ie-draw-v1: secret until the reveal).

At the freeze the nonce is stored only sealed: AES-256-GCM under a key from the settings
(INSPECT_NONCE_KEY), which is never in the database. The plan's month and commitment are
the associated data, so a sealed nonce moved to another plan does not open. A database
reader therefore sees the commitment and an opaque blob, and cannot compute the seed of
any contribution before the draw reveals the nonce."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from inspect_engine.errors import Conflict

FORMAT = "ie-seal-v1"
KEY_BYTES = 32
IV_BYTES = 12  # the GCM nonce; "iv" here, not to confuse it with the draw's nonce
# Development and tests only: public, hence no secret at all (production refuses it).
DEVELOPMENT_KEY = hashlib.sha256(b"inspect-engine development nonce key: NOT SECRET").hexdigest()


class NonceUnavailable(Conflict):
    """The sealed nonce cannot be opened: the draw is refused; the plan can only be frozen
    again, in public (`month refreeze`)."""


def parse_key(text: str) -> bytes:
    """32 bytes written as 64 hex characters or as base64; ValueError otherwise."""
    text = text.strip()
    if len(text) == 2 * KEY_BYTES:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ValueError(
            f"the nonce key must be {KEY_BYTES} bytes as {2 * KEY_BYTES} hex characters or "
            "base64 (e.g. the output of `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    return raw


@dataclass(frozen=True)
class NonceKey:
    secret: bytes = field(repr=False)
    development: bool = False

    @classmethod
    def from_text(cls, text: str | None) -> NonceKey:
        """The configured key; None: the public development key."""
        if text is None:
            return cls(parse_key(DEVELOPMENT_KEY), development=True)
        secret = parse_key(text)
        return cls(secret, development=secret == parse_key(DEVELOPMENT_KEY))

    @property
    def key_id(self) -> str:
        """A short fingerprint, to tell keys apart in messages (it reveals nothing)."""
        return hashlib.sha256(b"ie-seal-key-id|" + self.secret).hexdigest()[:12]

    def seal(self, nonce: str, month: str, commitment: str) -> str:
        iv = os.urandom(IV_BYTES)
        sealed = AESGCM(self.secret).encrypt(iv, nonce.encode("ascii"), _bound(month, commitment))
        return f"{FORMAT}:{self.key_id}:{base64.b64encode(iv + sealed).decode('ascii')}"

    def open(self, sealed: str | None, month: str, commitment: str) -> str:
        """The nonce, or NonceUnavailable saying why in plain words."""
        if not sealed:
            raise NonceUnavailable(
                f"the plan for {month} has no sealed nonce (it was frozen with the nonce in "
                f"clear, readable in the database): {_REFREEZE.format(month=month)}"
            )
        parts = sealed.split(":")
        if len(parts) != 3 or parts[0] != FORMAT:
            raise NonceUnavailable(f"the sealed nonce of {month} is not {FORMAT} data")
        try:
            blob = base64.b64decode(parts[2], validate=True)
            opened = AESGCM(self.secret).decrypt(
                blob[:IV_BYTES], blob[IV_BYTES:], _bound(month, commitment)
            )
        except (binascii.Error, InvalidTag, ValueError):
            raise NonceUnavailable(
                f"the sealed nonce of the plan for {month} does not open with the configured "
                f"key (sealed under key {parts[1]}, configured key {self.key_id}; "
                f"INSPECT_NONCE_KEY lost or changed): the draw is refused. "
                f"{_REFREEZE.format(month=month)}"
            ) from None
        nonce = opened.decode("ascii")
        if hashlib.sha256(nonce.encode("utf-8")).hexdigest() != commitment:
            raise NonceUnavailable(f"the sealed nonce of {month} does not match its commitment")
        return nonce


_REFREEZE = (
    "An administrator can freeze the plan again in public, voiding its commitment: "
    "inspect-engine month refreeze --month {month} --reason TEXT"
)


def _bound(month: str, commitment: str) -> bytes:
    """Associated data: the sealed nonce opens only for this plan and this commitment."""
    return f"{FORMAT}|{month}|{commitment}".encode("ascii")
