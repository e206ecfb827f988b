"""Concurrent corrections and withdrawals of one published result (two supervisors, or
the CLI and the API, at once): they queue on the result's plan, so exactly one goes
through and the other is refused with a domain error, and the public record stays
consistent: one current version, or none once withdrawn."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import models
from inspect_engine.errors import DomainError
from inspect_engine.workflows import results
from tests.workflows import test_publish_concurrency as publishing
from tests.workflows.test_assign_concurrency import at_once

ROUNDS = 3  # each round races on a fresh published result
TODAY = publishing.TODAY

# the fixture of test_publish_concurrency: a fresh database (each backend) with a month
# of reviewed results
reviewed = publishing.reviewed


@pytest.fixture
def published(reviewed: publishing.ReviewedMonth) -> publishing.ReviewedMonth:
    """The reviewed month, published."""
    report = publishing.publish(reviewed.factory, 0)
    assert report.published == len(reviewed.reviewed) >= 2 * ROUNDS
    return reviewed


def correct(factory: sessionmaker[Session], result_id: int) -> models.Publication:
    with factory.begin() as session:
        return results.correct_result(
            session,
            result_id,
            result="not_disclosed",
            reason="企业异议成立",
            departments=None,
            today=TODAY,
            actor="supervisor-correct",
        )


def withdraw(factory: sessionmaker[Session], result_id: int) -> models.Publication:
    with factory.begin() as session:
        return results.withdraw_result(
            session, result_id, reason="检查无效", departments=None, actor="supervisor-withdraw"
        )


def race(
    factory: sessionmaker[Session],
    result_id: int,
    first: Callable[[sessionmaker[Session], int], models.Publication],
    second: Callable[[sessionmaker[Session], int], models.Publication],
) -> tuple[list[models.Publication], list[BaseException]]:
    calls = (first, second)
    done, errors = at_once(2, lambda n: (n, calls[n](factory, result_id)))
    # no database error (IntegrityError, deadlock, lock timeout) may reach the user
    assert [e for e in errors if not isinstance(e, DomainError)] == [], errors
    assert len(done) == 1 and len(errors) == 1, (done, errors)
    return [done[0][0]], errors


def versions(session: Session, result_id: int) -> list[tuple[int, str, str | None]]:
    """(version, result status, publication state) of every version of the result's item."""
    original = session.get_one(models.Result, result_id)
    query = (
        select(models.Result.version, models.Result.status, models.Publication.state)
        .outerjoin(models.Publication, models.Publication.result_id == models.Result.id)
        .where(
            models.Result.visit_id == original.visit_id,
            models.Result.item_code == original.item_code,
        )
        .order_by(models.Result.version)
    )
    return [(v, s, p) for v, s, p in session.execute(query).tuples()]


def audited(session: Session, action: str, result_id: int) -> int:
    entries = session.scalars(
        select(models.AuditEntry.details).where(models.AuditEntry.action == action)
    ).all()
    return sum(1 for detail in entries if detail.get("result_id") == result_id)


def audits(session: Session, result_id: int) -> tuple[int, int]:
    """(corrections, withdrawals) audited for the result."""
    return (
        audited(session, "result.correct", result_id),
        audited(session, "result.withdraw", result_id),
    )


def test_a_correction_and_a_withdrawal_at_once_leave_one_consistent_record(
    published: publishing.ReviewedMonth,
) -> None:
    for round_number, result_id in enumerate(sorted(published.reviewed)[:ROUNDS]):
        # alternate which one is started first: the barrier releases both anyway
        calls = (correct, withdraw) if round_number % 2 == 0 else (withdraw, correct)
        (winner,), _ = race(published.factory, result_id, *calls)
        with published.factory() as session:
            found = versions(session, result_id)
            states = [p for _, _, p in found]
            assert states.count("current") <= 1, found
            if calls[winner] is correct:
                assert found == [(1, "superseded", "corrected"), (2, "published", "current")]
                assert audits(session, result_id) == (1, 0)
            else:
                assert found == [(1, "withdrawn", "withdrawn")]
                assert audits(session, result_id) == (0, 1)


def test_two_corrections_at_once_publish_one_new_version(
    published: publishing.ReviewedMonth,
) -> None:
    for result_id in sorted(published.reviewed)[ROUNDS : 2 * ROUNDS]:
        race(published.factory, result_id, correct, correct)
        with published.factory() as session:
            assert versions(session, result_id) == [
                (1, "superseded", "corrected"),
                (2, "published", "current"),
            ]
            assert audited(session, "result.correct", result_id) == 1
