"""The draw as a command or request runs it, and the public refreeze.

Once a contribution is accepted, nothing may be redone quietly: accepting it is committed
on its own (the plan is `drawing`), and a failure of the rest is committed too (the plan is
`draw_failed`, the audit log says why). Only the same contribution completes the draw.
The caller owns the transactions: it passes a factory of them (`transactions()`), each
committing when its block ends and rolling back when it raises."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from inspect_engine.errors import Conflict, DomainError, InvalidInput
from inspect_engine.sampling import protocol
from inspect_engine.sealing import NonceKey, NonceUnavailable
from inspect_engine.workflows import audit
from inspect_engine.workflows.planning import (
    DrawInProgress,
    DrawResult,
    FreezeResult,
    _aware,
    _frozen_result,
    accept_contribution,
    claim_plan,
    complete_draw,
    get_plan,
    plan_frames,
    record_draw_failure,
    sealing_key,
)

Transactions = Callable[[], AbstractContextManager[Session]]
MAX_REASON = 1000
WAIT_FOR_DRAW_SECONDS = 120  # a city's draw completes in seconds; a failed one is recorded
# Anything shaped like a credit code: a failure message may name a selected enterprise.
CODE_LIKE = re.compile(r"\b[0-9A-Z]{18}\b")


class DrawFailed(DomainError):
    """The draw failed after its contribution was accepted; the failure is recorded."""

    title = "the draw failed"


def draw_recorded(
    transactions: Transactions,
    month: str,
    contribution: str,
    *,
    actor: str = "cli",
    nonce_key: NonceKey | None = None,
) -> DrawResult:
    """Accept the contribution (committed), then complete the draw (a second transaction);
    if completing fails, record the failure (a third) and raise DrawFailed, whose message
    names no enterprise."""
    earlier = _accept_or_wait(transactions, month, contribution, actor, nonce_key)
    if earlier is not None:
        return earlier
    try:
        with transactions() as session:
            return complete_draw(session, month, contribution, actor, nonce_key=nonce_key)
    except Exception as exc:  # any failure after the acceptance is recorded
        error = plain_error(exc)
        with transactions() as session:
            recorded = record_draw_failure(session, month, contribution, error, actor)
        if not recorded and isinstance(exc, DomainError):
            raise  # refused before anything was drawn (e.g. the plan changed meanwhile)
        raise DrawFailed(
            f"the draw of {month} failed after the contribution {contribution!r} was "
            f"accepted: {error}. The failure is recorded (plan state draw_failed, audit "
            "log); once the cause is fixed, run the draw again with the same contribution"
        ) from None


def _accept_or_wait(
    transactions: Transactions,
    month: str,
    contribution: str,
    actor: str,
    nonce_key: NonceKey | None,
) -> DrawResult | None:
    """Accept the contribution; while another request's accepted draw is being completed,
    wait for it (a plan has one draw, and a second request gets its records)."""
    deadline = time.monotonic() + WAIT_FOR_DRAW_SECONDS
    while True:
        try:
            with transactions() as session:
                return accept_contribution(session, month, contribution, actor, nonce_key=nonce_key)
        except DrawInProgress:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def plain_error(exc: Exception) -> str:
    """The error in plain words, without a credit code, a path or a stack."""
    text = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    text = CODE_LIKE.sub("[credit code]", " ".join(text.split()))
    return text[:500]


# --------------------------------------------------------------------------- refreeze


@dataclass(frozen=True)
class RefreezeResult:
    freeze: FreezeResult
    voided_commitment: str
    voided_committed_at: str
    reason: str


def refreeze_month(
    session: Session,
    month: str,
    reason: str,
    actor: str = "cli",
    *,
    nonce_key: NonceKey | None = None,
) -> RefreezeResult:
    """A frozen plan whose nonce is lost (its sealed nonce no longer opens, or was never
    sealed) commits to a new nonce, in public: the old commitment is voided with the reason
    and the time in the audit log and on the public plan page. The frames stay as frozen
    (the same group hash); nothing happens while the nonce still opens."""
    reason = " ".join(reason.split())
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"give the reason for the refreeze (1 to {MAX_REASON} characters)")
    key = sealing_key(nonce_key)
    if not claim_plan(session, month, ("frozen",)):
        status = get_plan(session, month).status
        raise Conflict(f"the plan for {month} is {status}: only a frozen plan is frozen again")
    plan = get_plan(session, month)
    session.refresh(plan)
    assert plan.commitment and plan.committed_at and plan.group_hash
    try:
        key.open(plan.nonce_sealed, month, plan.commitment)
    except NonceUnavailable:
        pass  # lost indeed: a new commitment is due
    else:
        raise Conflict(
            f"the sealed nonce of {month} opens with the configured key: draw it; a "
            "commitment is voided only when its nonce is lost"
        )
    voided, voided_at = plan.commitment, protocol.utc_timestamp(_aware(plan.committed_at))
    pairs = [(f.task_code, f.frame_hash) for f in plan_frames(session, plan)]
    nonce = protocol.new_nonce()
    now = datetime.now(UTC).replace(microsecond=0)
    commitment = protocol.commit_plan(pairs, now, nonce)
    if commitment.group_hash != plan.group_hash:
        raise Conflict(f"the frames of {month} no longer match its group hash")
    plan.nonce = None
    plan.nonce_sealed = key.seal(nonce, month, commitment.commitment)
    plan.commitment = commitment.commitment
    plan.committed_at = now
    session.flush()
    details = {
        "voided_commitment": voided,
        "voided_committed_at": voided_at,
        "reason": reason,
        "commitment": commitment.commitment,
        "committed_at": commitment.committed_at,
        "group_hash": commitment.group_hash,
    }
    audit.record(session, actor, "plan.refreeze", month, details)
    audit.publish_head(session, "freeze", month)
    return RefreezeResult(_frozen_result(session, plan), voided, voided_at, reason)
