"""The nonce at rest: a database reader cannot compute the seed before the draw, a
changed key refuses the draw, and a lost nonce is replaced only by a public refreeze."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import Conflict
from inspect_engine.sampling import protocol
from inspect_engine.sampling.frames import ExclusionPolicy
from inspect_engine.sealing import NonceKey, NonceUnavailable
from inspect_engine.verify import exit_status, verify_record
from inspect_engine.workflows.drawing import refreeze_month
from inspect_engine.workflows.planning import draw_month, freeze_month, plan_month
from models.base import Base
from tests.workflows import tinycity

MONTH = "2026-12"
CONTRIBUTION = "福彩3D 2026-12-08: 5 8 2"
HEX64 = re.compile(r"[0-9a-f]{64}")


def key() -> NonceKey:
    return NonceKey.from_text(secrets.token_hex(32))


def frozen(session: Session, tmp_path: Path, sealing: NonceKey) -> models.Plan:
    tinycity.build(session)
    plan_month(session, MONTH, tinycity.tasks_file(tmp_path))
    freeze_month(session, MONTH, ExclusionPolicy(), nonce_key=sealing)
    return session.scalars(select(models.Plan)).one()


def everything_stored(session: Session) -> list[str]:
    """What a database reader sees: every value of every row, as text."""
    seen: list[str] = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            seen.extend(_texts(list(row)))
    return seen


def _texts(values: Any) -> list[str]:
    if isinstance(values, dict):
        return _texts(list(values.keys())) + _texts(list(values.values()))
    if isinstance(values, list | tuple):
        return [text for value in values for text in _texts(value)]
    if isinstance(values, bytes):
        return [values.hex(), values.decode("latin-1")]
    return [str(values)] if values is not None else []


def test_a_database_reader_cannot_compute_the_seed_before_the_draw(
    session: Session, tmp_path: Path
) -> None:
    sealing = key()
    plan = frozen(session, tmp_path, sealing)
    assert plan.nonce is None and plan.nonce_sealed and plan.commitment
    stored = everything_stored(session)
    # Every stored text and every 64-hex piece of one, tried as the nonce.
    candidates = set(stored) | {m for text in stored for m in HEX64.findall(text)}
    assert candidates  # the reader did read something
    group_hash, commitment = plan.group_hash, plan.commitment
    assert not [c for c in candidates if protocol.sha256_hex(c) == commitment]
    # the seed formula itself (derive_seed accepts only a well-formed nonce)
    guesses = {protocol.sha256_hex(f"{c}|{CONTRIBUTION}|{group_hash}") for c in candidates}
    # Without the key the sealed nonce does not open, for this plan or moved to another.
    with pytest.raises(NonceUnavailable, match="does not open"):
        key().open(plan.nonce_sealed, MONTH, commitment)
    with pytest.raises(NonceUnavailable, match="does not open"):
        sealing.open(plan.nonce_sealed, "2027-01", commitment)
    drawn = draw_month(session, MONTH, CONTRIBUTION, nonce_key=sealing)
    assert drawn.seed not in guesses  # the seed was not computable from the database
    session.refresh(plan)
    assert plan.nonce is not None and protocol.sha256_hex(plan.nonce) == commitment
    assert drawn.seed == protocol.derive_seed(plan.nonce, CONTRIBUTION, group_hash)


def test_a_changed_key_refuses_the_draw_and_the_public_refreeze_records_it(
    session: Session, tmp_path: Path
) -> None:
    old_key, new_key = key(), key()
    plan = frozen(session, tmp_path, old_key)
    voided = plan.commitment
    # a savepoint: rolled back on the error, as the command's transaction would be
    refused = pytest.raises(NonceUnavailable, match="does not open with the configured key")
    with refused, session.begin_nested():
        draw_month(session, MONTH, CONTRIBUTION, nonce_key=new_key)
    with pytest.raises(Conflict, match="opens with the configured key"), session.begin_nested():
        refreeze_month(session, MONTH, "no reason", nonce_key=old_key)
    session.refresh(plan)
    assert plan.status == "frozen" and plan.contribution is None and plan.commitment == voided

    reason = "  the key was lost with the old disk "
    done = refreeze_month(session, MONTH, reason, nonce_key=new_key)
    session.refresh(plan)
    assert done.voided_commitment == voided and done.reason == "the key was lost with the old disk"
    assert plan.commitment == done.freeze.commitment != voided
    assert plan.group_hash == done.freeze.group_hash  # the same frozen frames
    entry = session.scalars(
        select(models.AuditEntry).where(models.AuditEntry.action == "plan.refreeze")
    ).one()
    assert entry.details["voided_commitment"] == voided
    assert entry.details["commitment"] == plan.commitment
    assert entry.details["reason"] == done.reason

    drawn = draw_month(session, MONTH, CONTRIBUTION, nonce_key=new_key)
    for record in drawn.records:
        assert record["commitment"] == plan.commitment
        assert exit_status(verify_record(record)) in (0, 3)  # no frame: selection unchecked
    with pytest.raises(Conflict, match="only a frozen plan"):
        refreeze_month(session, MONTH, "again", nonce_key=key())


def test_a_plan_frozen_with_its_nonce_in_clear_is_refused(session: Session, tmp_path: Path) -> None:
    sealing = key()
    plan = frozen(session, tmp_path, sealing)
    plan.nonce, plan.nonce_sealed = "ab" * 32, None  # as plans frozen before sealing
    session.flush()
    with pytest.raises(NonceUnavailable, match="frozen with the nonce in clear"):
        draw_month(session, MONTH, CONTRIBUTION, nonce_key=sealing)


@pytest.mark.parametrize("text", ["", "abc", "zz" * 32, "AAAA"])
def test_a_malformed_key_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        NonceKey.from_text(text)


def test_production_needs_a_key_of_its_own() -> None:
    from pydantic import ValidationError

    from inspect_engine.sealing import DEVELOPMENT_KEY
    from inspect_engine.settings import Settings

    base = {"environment": "production", "secret_key": "private"}
    for nonce_key in (None, DEVELOPMENT_KEY):
        with pytest.raises(ValidationError, match="INSPECT_NONCE_KEY must be set") as caught:
            Settings(**base, nonce_key=nonce_key)
        assert DEVELOPMENT_KEY not in str(caught.value)
    own = secrets.token_hex(32)
    assert not Settings(**base, nonce_key=own).sealing_key().development
    assert Settings(environment="test").sealing_key().development
