"""Verification codes: issued once per staffed visit, unguessable, valid for the month and
its grace days; forged and expired codes refused; every scan logged without an address;
the enterprise's record kept once."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import models
from inspect_engine.errors import Conflict, InvalidInput
from inspect_engine.workflows import field
from tests.field import fieldcity

IN_MONTH = date(2026, 12, 10)


def _staffed_visits(session: Session) -> list[models.Visit]:
    staffed = select(models.TeamMember.visit_id).where(models.TeamMember.replaced_at.is_(None))
    return list(
        session.scalars(
            select(models.Visit)
            .where(models.Visit.id.in_(staffed))
            .order_by(models.Visit.visit_code)
        )
    )


def test_every_staffed_visit_has_its_own_code(month: Session) -> None:
    visits = _staffed_visits(month)
    codes = [v.verify_token for v in visits]
    assert visits and all(c is not None and len(c) == 40 for c in codes)
    assert len(set(codes)) == len(codes)
    assert all(field.normalise_code(c or "") == c for c in codes)
    assert field.issue_verify_codes(month, fieldcity.MONTH) == 0  # idempotent


def test_a_code_is_issued_once_even_when_two_renderings_race(month: Session) -> None:
    visit = _staffed_visits(month)[0]
    month.execute(update(models.Visit).where(models.Visit.id == visit.id).values(verify_token=None))
    month.refresh(visit)
    assert visit.verify_token is None
    # another request stores its code while this one still holds the stale row
    month.execute(
        update(models.Visit)
        .where(models.Visit.id == visit.id)
        .values(verify_token="A" * 40)
        .execution_options(synchronize_session=False)
    )
    assert field.ensure_verify_code(month, visit) == "A" * 40


def test_codes_are_normalised_from_what_people_type() -> None:
    code = field.new_verify_code()
    assert len(code) == 40 and set(code) <= field.CODE_ALPHABET
    spaced = " ".join(code[k : k + 4] for k in range(0, 40, 4)).lower()
    assert field.normalise_code(spaced) == code
    assert field.normalise_code("0" + code[1:]) == "O" + code[1:]
    assert field.normalise_code(code[:-1]) is None
    assert field.normalise_code(code[:-1] + "!") is None
    assert field.new_verify_code() != code


def test_the_validity_window_is_the_month_plus_grace() -> None:
    assert field.validity("2026-12", 5) == (date(2026, 12, 1), date(2027, 1, 5))
    assert field.validity("2028-02", 0) == (date(2028, 2, 1), date(2028, 2, 29))
    with pytest.raises(InvalidInput):
        field.validity("2026-12", -1)


def _scans(session: Session) -> list[models.VerifyScan]:
    return list(session.scalars(select(models.VerifyScan).order_by(models.VerifyScan.id)))


def test_a_genuine_code_shows_the_visit_without_personal_data(month: Session) -> None:
    visit = _staffed_visits(month)[0]
    assert visit.verify_token
    outcome = field.verify_visit(
        month, visit.verify_token.lower(), secret="s3cret", client="203.0.113.9", today=IN_MONTH
    )
    assert outcome.outcome == "genuine" and outcome.visit is not None
    shown = outcome.visit
    team = fieldcity.team_of(month, visit.id)
    assert sorted(shown.certificates) == sorted(team)
    names = set(
        month.scalars(select(models.Inspector.name).where(models.Inspector.inspector_id.in_(team)))
    )
    assert names and not any(name in repr(shown) for name in names)
    assert shown.visit_code == visit.visit_code and shown.plan_month == fieldcity.MONTH
    assert [t.task_code for t in shown.tasks] == sorted(visit.task_codes)
    assert len(shown.items) == len(visit.item_codes)
    assert all(i.legal_basis.startswith("《") for i in shown.items)
    assert visit.credit_code not in repr(shown)  # masked
    scan = _scans(month)[-1]
    assert (scan.outcome, scan.visit_id) == ("genuine", visit.id)
    assert scan.client_hash and "203.0.113.9" not in scan.client_hash
    assert scan.client_hash == field.client_hash("s3cret", "203.0.113.9")
    assert scan.client_hash != field.client_hash("other", "203.0.113.9")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 30), "not_yet"),
        (date(2026, 12, 1), "genuine"),
        (date(2027, 1, 5), "genuine"),
        (date(2027, 1, 6), "expired"),
    ],
)
def test_codes_expire_after_the_month_and_its_grace(
    month: Session, day: date, expected: str
) -> None:
    visit = _staffed_visits(month)[0]
    assert visit.verify_token
    outcome = field.verify_visit(month, visit.verify_token, secret="k", today=day, grace_days=5)
    assert outcome.outcome == expected
    assert (outcome.visit is not None) == (expected == "genuine")
    assert _scans(month)[-1].outcome == expected


def _misses(session: Session) -> dict[tuple[date, str], int]:
    rows = session.scalars(select(models.VerifyMiss))
    return {(m.day, m.bucket): m.count for m in rows}


def test_a_forged_code_is_refused_and_only_counted(month: Session) -> None:
    real = _staffed_visits(month)[0].verify_token
    assert real
    forged = ("B" if real[0] != "B" else "C") + real[1:]
    before = len(_scans(month))
    for attempt in (forged, "not a code", ""):
        outcome = field.verify_visit(month, attempt, secret="k", today=IN_MONTH)
        assert outcome.outcome == "unknown" and outcome.visit is None
    for _ in range(2):
        field.verify_visit(month, forged, secret="k", client="203.0.113.9", today=IN_MONTH)
    assert len(_scans(month)) == before  # no row per made-up code
    bucket = (field.client_hash("k", "203.0.113.9") or "")[:2]
    assert _misses(month) == {(IN_MONTH, ""): 3, (IN_MONTH, bucket): 2}


def test_the_enterprise_records_the_visit_once(month: Session) -> None:
    visit = _staffed_visits(month)[0]
    code = visit.verify_token
    assert code
    with pytest.raises(InvalidInput):
        field.record_feedback(month, code, took_place=True, rating=6, today=IN_MONTH)
    with pytest.raises(InvalidInput):
        field.record_feedback(month, code, took_place=True, comment="长" * 501, today=IN_MONTH)
    row = field.record_feedback(
        month, code, took_place=True, rating=5, comment=" 检查规范 ", today=IN_MONTH
    )
    assert (row.visit_id, row.rating, row.comment, row.took_place) == (
        visit.id,
        5,
        "检查规范",
        True,
    )
    with pytest.raises(Conflict):
        field.record_feedback(month, code, took_place=False, today=IN_MONTH)
    shown = field.verify_visit(month, code, secret="k", today=IN_MONTH).visit
    assert shown is not None and shown.took_place is True and shown.recorded_at is not None
    assert month.scalar(select(func.count()).select_from(models.VisitFeedback)) == 1


def test_expired_and_forged_codes_cannot_record(month: Session) -> None:
    code = _staffed_visits(month)[0].verify_token
    assert code
    with pytest.raises(field.CodeRefused) as expired:
        field.record_feedback(month, code, took_place=True, today=date(2027, 2, 1))
    assert expired.value.outcome == "expired"
    with pytest.raises(field.CodeRefused) as forged:
        field.record_feedback(month, "A" * 40, took_place=True, today=IN_MONTH)
    assert forged.value.outcome == "unknown"
    assert month.scalar(select(func.count()).select_from(models.VisitFeedback)) == 0


def test_documents_need_a_team_and_respect_scopes(month: Session) -> None:
    from inspect_engine.errors import NotFound
    from inspect_engine.workflows.users import Forbidden

    visit = fieldcity.joint_visit(month)
    options = field.DocumentSettings("https://example.test/")
    doc = field.visit_document(month, visit.visit_code, options, today=IN_MONTH)
    assert doc.verification.url == f"https://example.test/v/{visit.verify_token}"
    assert doc.joint and {i.item_code for i in doc.items} == set(visit.item_codes)
    assert [m.inspector_id for m in doc.team] == fieldcity.team_of(month, visit.id)
    with pytest.raises(NotFound):
        field.visit_document(month, visit.visit_code, options, inspector_id="nobody")
    with pytest.raises(Forbidden):
        field.visit_document(month, visit.visit_code, options, departments={"HEALTH"})
    month.execute(
        update(models.TeamMember)
        .where(models.TeamMember.visit_id == visit.id)
        .values(replaced_at=func.now())
    )
    month.execute(update(models.Visit).where(models.Visit.id == visit.id).values(verify_token=None))
    month.expire_all()
    with pytest.raises(Conflict, match="no team"):
        field.visit_document(month, visit.visit_code, options)
