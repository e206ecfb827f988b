"""Field and trust: the documents a team carries, the enterprise's scan-to-verify page and the
supervisors' progress board (the inspectors' day is in workflows/inspector_day.py).

Two codes per visit, because inspectors usually hand over the notice themselves:

- the team's code (核验码), stored in `visits.verify_token`, printed on the task document
  and the notice and shown on the inspector's page: with it anyone can check on `/v/{code}`
  that the team is genuine (read-only);
- the enterprise's confirmation code (确认码), sent to its registered liaison
  (`enterprises.contact`) by e-mail or SMS (inspect_engine/liaison.py) and stored only as
  its SHA-256 (`visits.confirm_hash`): only it may record "the inspection took place" and
  the rating. A visit whose enterprise has no liaison (or whose delivery failed) accepts
  the team's code instead, and the confirmation is marked "channel not verified".

Both are issued when the teams are drawn (`issue_verify_codes`, after `month assign`);
the team's code at the latest when the documents are first rendered. Each code is 200
random bits written in RFC 4648 base32 (40 characters A–Z, 2–7): it cannot be guessed or
enumerated, is read aloud without ambiguity and typed without regard to case. A code is
valid from the first day of the plan's month to its last day plus a grace period. Every
opening of the public page with a code of a visit is logged (`VerifyScan`), valid or not,
with at most a keyed hash of the client address; a code that names no visit only adds to
a count per day and client bucket (`VerifyMiss`), so that made-up codes cannot flood the
table.

Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import secrets
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inspect_engine.documents.model import (
    DocEnterprise,
    DocItem,
    DocMember,
    DocTask,
    Verification,
    VisitDocument,
)
from inspect_engine.errors import Conflict, InvalidInput, NotFound
from inspect_engine.liaison import Confirmation, Courier
from inspect_engine.publication import deadlines
from inspect_engine.workflows import audit, carryover, holidays, results, staffing
from inspect_engine.workflows.planning import get_plan, month_start
from inspect_engine.workflows.users import Forbidden
from models import (
    AuditEntry,
    CarryOver,
    ConfirmationDelivery,
    Department,
    Enterprise,
    Inspector,
    Item,
    Plan,
    Publication,
    Result,
    Task,
    TeamEvent,
    TeamMember,
    VerifyMiss,
    VerifyScan,
    Visit,
    VisitFeedback,
)
from models import repositories as repo

DEFAULT_ISSUER = "市场监督管理局"
DEFAULT_GRACE_DAYS = 5
CODE_BYTES = 25  # 200 bits: 40 base32 characters, no padding
CODE_LENGTH = 40
CODE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
# What people mistype for a base32 letter: digits that look like letters; separators.
_TYPING = str.maketrans({"0": "O", "1": "I", "8": "B", " ": None, "-": None, "\t": None})
MAX_COMMENT = 500
VERIFY_PATH = "/v/"

Scope = Collection[str] | None  # a supervisor's departments; None: all (admins)


# --------------------------------------------------------------------------- codes


def new_verify_code() -> str:
    return base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")


def normalise_code(text: str) -> str | None:
    """The code as stored, from what a person typed or a QR carried; None if it cannot be
    a code at all (then nothing needs to be looked up)."""
    code = text.strip().upper().translate(_TYPING)
    if len(code) != CODE_LENGTH or not set(code) <= CODE_ALPHABET:
        return None
    return code


def validity(
    month: str, grace_days: int = DEFAULT_GRACE_DAYS, until: str | None = None
) -> tuple[date, date]:
    """First and last day on which a visit of `month` may be verified; `until`: the last
    month it is scheduled in, when it was carried over (结转)."""
    if grace_days < 0:
        raise InvalidInput("the grace period cannot be negative")
    first = month_start(month)
    end = month_start(until) if until is not None and until > month else first
    last = end.replace(day=calendar.monthrange(end.year, end.month)[1])
    return first, last + timedelta(days=grace_days)


def carried_until(session: Session, visit: Visit) -> str | None:
    """The last month a visit was carried into (结转), or None."""
    return session.scalars(
        select(func.max(Plan.month))
        .join(CarryOver, CarryOver.plan_id == Plan.id)
        .where(CarryOver.visit_id == visit.id)
    ).first()


def confirm_hash(code: str) -> str:
    """How a confirmation code is stored: 200 random bits need no salt to stay unreadable."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def verify_url(base_url: str, code: str) -> str:
    return base_url.rstrip("/") + VERIFY_PATH + code


def _has_team(session: Session, visit_id: int) -> bool:
    query = select(TeamMember.id).where(
        TeamMember.visit_id == visit_id, TeamMember.replaced_at.is_(None)
    )
    return session.scalars(query.limit(1)).first() is not None


def ensure_verify_code(session: Session, visit: Visit, *, actor: str = "cli") -> str:
    """The visit's code, issuing it now if it has none.

    Two first renderings at once must not print two different codes: the code is only set
    where none is stored yet, and whoever loses reads the winner's."""
    if visit.verify_token:
        return visit.verify_token
    if not _has_team(session, visit.id):
        raise Conflict(f"visit {visit.visit_code} has no team yet: assign the month's teams first")
    session.execute(
        update(Visit)
        .where(Visit.id == visit.id, Visit.verify_token.is_(None))
        .values(verify_token=new_verify_code())
        .execution_options(synchronize_session=False)
    )
    session.refresh(visit, ["verify_token"])
    assert visit.verify_token is not None
    audit.record(session, actor, "visit.verify_code", visit.visit_code)
    return visit.verify_token


def issue_verify_codes(
    session: Session,
    month: str,
    *,
    actor: str = "cli",
    courier: Courier | None = None,
) -> int:
    """Team codes for every staffed visit of the month that has none yet (call it after
    `month assign`; idempotent), then, given a courier, the enterprises' confirmation codes
    to their liaisons (`send_confirmations`). Returns how many team codes were issued."""
    plan = get_plan(session, month)
    staffed = select(TeamMember.visit_id).where(TeamMember.replaced_at.is_(None))
    query = select(Visit).where(  # its own visits and those carried into it (结转)
        carryover.of_plan(plan.id), Visit.verify_token.is_(None), Visit.id.in_(staffed)
    )
    issued = 0
    for visit in session.scalars(query).all():
        visit.verify_token = new_verify_code()
        issued += 1
    try:
        session.flush()
    except IntegrityError:  # 2^-200: two equal codes; the caller's retry draws new ones
        raise Conflict("two verification codes collided; run the command again") from None
    if issued:
        audit.record(session, actor, "plan.verify_codes", month, {"issued": issued})
    if courier is not None:
        send_confirmations(session, month, courier, actor=actor)
    return issued


@dataclass(frozen=True)
class ConfirmationsSent:
    sent: int  # codes the mail server or the SMS gateway accepted
    failed: int  # deliveries that failed (kept with their error; retried on the next call)
    without_contact: int  # staffed visits whose enterprise has no liaison


def send_confirmations(
    session: Session,
    month: str,
    courier: Courier,
    *,
    actor: str = "cli",
) -> ConfirmationsSent:
    """Each staffed visit whose enterprise has a liaison and that holds no confirmation
    code yet gets one, sent by the liaison's channel. Only the code's hash is stored, and
    only once the server or gateway accepted it; every attempt is recorded (channel, time,
    masked address). Idempotent: a failed delivery is tried again on the next call."""
    plan = get_plan(session, month)
    staffed = select(TeamMember.visit_id).where(TeamMember.replaced_at.is_(None))
    answered = select(VisitFeedback.visit_id)
    rows = session.execute(
        select(Visit, Enterprise.name, Enterprise.contact)
        .join(Enterprise, Enterprise.credit_code == Visit.credit_code)
        .where(
            carryover.of_plan(plan.id),  # its own visits and those carried into it (结转)
            Visit.id.in_(staffed),
            Visit.id.not_in(answered),
            Visit.confirm_hash.is_(None),
        )
        .order_by(Visit.visit_code)
    ).all()
    _, valid_until = validity(month, courier.grace_days)
    sent = failed = without = 0
    for visit, name, contact in rows:
        if not contact:
            without += 1
            continue
        code = new_verify_code()
        link = verify_url(courier.base_url, code)
        note = Confirmation(name, visit.visit_code, month, link, code, valid_until)
        delivery = courier.deliver(contact, note)
        session.add(
            ConfirmationDelivery(
                visit_id=visit.id,
                channel=delivery.channel,
                address_masked=delivery.address_masked,
                error=delivery.error,
            )
        )
        if delivery.error is None:
            visit.confirm_hash = confirm_hash(code)
            sent += 1
        else:
            failed += 1
    session.flush()
    if sent or failed:
        details = {"sent": sent, "failed": failed, "without_contact": without}
        audit.record(session, actor, "plan.confirmations", month, details)
    return ConfirmationsSent(sent, failed, without)


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class DocumentSettings:
    """How documents are headed and where their codes are checked."""

    base_url: str  # the public site, e.g. https://scjg.example.gov.cn
    issuer: str = DEFAULT_ISSUER
    contact: str | None = None
    grace_days: int = DEFAULT_GRACE_DAYS


def _find_visit(session: Session, visit_code: str) -> tuple[Visit, str]:
    row = session.execute(
        select(Visit, Plan.month)
        .join(Plan, Plan.id == Visit.plan_id)
        .where(Visit.visit_code == visit_code)
    ).first()
    if row is None:
        raise NotFound(f"there is no visit {visit_code}")
    return row[0], row[1]


def _current_team(session: Session, visit_ids: Iterable[int]) -> dict[int, list[DocMember]]:
    departments = _department_names(session)
    teams: dict[int, list[DocMember]] = defaultdict(list)
    query = (
        select(TeamMember.visit_id, TeamMember.role, Inspector)
        .join(Inspector, Inspector.inspector_id == TeamMember.inspector_id)
        .where(TeamMember.visit_id.in_(list(visit_ids)), TeamMember.replaced_at.is_(None))
        .order_by(TeamMember.visit_id, TeamMember.role, TeamMember.inspector_id)
    )
    for visit_id, role, inspector in session.execute(query):
        name = departments.get(inspector.department, inspector.department)
        teams[visit_id].append(DocMember(inspector.inspector_id, inspector.name, role, name))
    return teams


def _department_names(session: Session) -> dict[str, str]:
    rows = session.execute(select(Department.code, Department.name)).tuples()
    return {code: name or code for code, name in rows}


def check_visit_access(
    session: Session,
    visit: Visit,
    *,
    inspector_id: str | None = None,
    departments: Scope = None,
) -> None:
    """An inspector sees only the visits of his team (others do not exist for him); a
    supervisor only the visits that carry an item of his departments."""
    if inspector_id is not None:
        on_team = session.scalars(
            select(TeamMember.id).where(
                TeamMember.visit_id == visit.id,
                TeamMember.inspector_id == inspector_id,
                TeamMember.replaced_at.is_(None),
            )
        ).first()
        if on_team is None:
            raise NotFound(f"there is no visit {visit.visit_code} among your assignments")
    if departments is not None and not set(visit.departments) & set(departments):
        raise Forbidden(f"visit {visit.visit_code} carries no item of your departments")


def visit_document(
    session: Session,
    visit_code: str,
    options: DocumentSettings,
    *,
    inspector_id: str | None = None,
    departments: Scope = None,
    today: date | None = None,
    actor: str = "cli",
) -> VisitDocument:
    """What the task document and the notice of a visit print; issues the visit's
    verification code if it has none yet."""
    visit, month = _find_visit(session, visit_code)
    check_visit_access(session, visit, inspector_id=inspector_id, departments=departments)
    code = ensure_verify_code(session, visit, actor=actor)
    enterprise = session.get(Enterprise, visit.credit_code)
    assert enterprise is not None
    names = _department_names(session)
    items = {i.item_code: i for i in session.scalars(select(Item))}
    tasks = session.scalars(
        select(Task).where(Task.task_code.in_(visit.task_codes)).order_by(Task.task_code)
    ).all()
    valid_from, valid_until = validity(month, options.grace_days, carried_until(session, visit))
    return VisitDocument(
        issuer=options.issuer,
        visit_code=visit.visit_code,
        plan_month=month,
        departments=tuple(names.get(d, d) for d in sorted(visit.departments)),
        enterprise=DocEnterprise(enterprise.name, enterprise.credit_code, enterprise.address),
        tasks=tuple(DocTask(t.task_code, t.title, t.targeted) for t in tasks),
        items=tuple(
            DocItem(
                code,
                items[code].title,
                items[code].legal_basis,
                names.get(items[code].department, items[code].department),
            )
            for code in visit.item_codes
        ),
        team=tuple(_current_team(session, [visit.id]).get(visit.id, [])),
        verification=Verification(
            code, verify_url(options.base_url, code), valid_from, valid_until
        ),
        issued_on=today or results.today_in_shanghai(),
        contact=options.contact,
        visit_on=visit.visit_on,
    )


# --------------------------------------------------------------------------- verification

Outcome = Literal["genuine", "unknown", "expired", "not_yet"]


@dataclass(frozen=True)
class PublicItem:
    title: str
    legal_basis: str
    department: str


@dataclass(frozen=True)
class PublicVisit:
    """What the public verification page shows: that the visit is genuine, and nothing
    personal — the inspectors appear by certificate number only."""

    visit_code: str
    plan_month: str
    enterprise_name: str  # so that a genuine code cannot be shown at another enterprise
    credit_code_masked: str
    tasks: tuple[DocTask, ...]
    items: tuple[PublicItem, ...]
    certificates: tuple[str, ...]
    valid_from: date
    valid_until: date
    recorded_at: datetime | None  # when the enterprise recorded the visit, if it did
    took_place: bool | None
    # True: a confirmation code went to the enterprise's liaison, and only it records the
    # visit; False: the team's code records it, marked "channel not verified".
    liaison: bool = False
    channel_verified: bool | None = None  # of the recorded confirmation


@dataclass(frozen=True)
class VerifyOutcome:
    outcome: Outcome
    visit: PublicVisit | None = None  # only for a genuine code
    valid_from: date | None = None  # known for expired and not-yet-valid codes
    valid_until: date | None = None
    # the code is the enterprise's confirmation code (sent to its liaison), not the team's
    confirming: bool = False


def mask_credit_code(code: str) -> str:
    """Enough of the credit code to recognise one's own, not to copy it."""
    return code[:4] + "*" * (len(code) - 8) + code[-4:] if len(code) > 8 else code


MISS_BUCKET_DIGITS = 2  # unknown codes are counted in 256 client buckets per day


def client_hash(secret: str, client: str | None) -> str | None:
    """Keyed hash of a client address: scans from one place can be counted, the address
    cannot be read back (nor found by hashing every address, without the key)."""
    if not client:
        return None
    return hmac.new(secret.encode("utf-8"), client.encode("utf-8"), hashlib.sha256).hexdigest()


CodeKind = Literal["team", "confirmation"]


def _visit_by_code(session: Session, code: str | None) -> tuple[Visit, str, CodeKind] | None:
    """The visit of a team code or of a confirmation code (found by its hash)."""
    if code is None:
        return None
    query = select(Visit, Plan.month).join(Plan, Plan.id == Visit.plan_id)
    row = session.execute(query.where(Visit.verify_token == code)).first()
    if row is not None:
        return row[0], row[1], "team"
    row = session.execute(query.where(Visit.confirm_hash == confirm_hash(code))).first()
    return (row[0], row[1], "confirmation") if row is not None else None


def _judge(
    month: str, today: date, grace_days: int, until: str | None = None
) -> tuple[Outcome, date, date]:
    first, last = validity(month, grace_days, until)
    if today < first:
        return "not_yet", first, last
    if today > last:
        return "expired", first, last
    return "genuine", first, last


def verify_visit(
    session: Session,
    code_text: str,
    *,
    secret: str,
    client: str | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
    today: date | None = None,
) -> VerifyOutcome:
    """Checks a scanned or typed code and logs the scan, whatever its outcome."""
    day = today or results.today_in_shanghai()
    found = _visit_by_code(session, normalise_code(code_text))
    outcome: Outcome = "unknown"
    view = None
    first = last = None
    if found is not None:
        visit, month, _ = found
        outcome, first, last = _judge(month, day, grace_days, carried_until(session, visit))
        if outcome == "genuine":
            view = _public_visit(session, visit, month, first, last)
    hashed = client_hash(secret, client)
    if found is None:
        # a made-up code is only counted: anyone can send millions of them
        bucket = (hashed or "")[:MISS_BUCKET_DIGITS]
        repo.add_to_count(session, VerifyMiss, {"day": day, "bucket": bucket}, "count")
    else:
        session.add(VerifyScan(outcome=outcome, visit_id=found[0].id, client_hash=hashed))
        session.flush()
    confirming = found is not None and found[2] == "confirmation"
    return VerifyOutcome(outcome, view, first, last, confirming)


def _public_visit(
    session: Session, visit: Visit, month: str, first: date, last: date
) -> PublicVisit:
    enterprise = session.get(Enterprise, visit.credit_code)
    assert enterprise is not None
    names = _department_names(session)
    items = {
        i.item_code: i
        for i in session.scalars(select(Item).where(Item.item_code.in_(visit.item_codes)))
    }
    tasks = session.scalars(
        select(Task).where(Task.task_code.in_(visit.task_codes)).order_by(Task.task_code)
    ).all()
    team = _current_team(session, [visit.id]).get(visit.id, [])
    feedback = session.scalars(
        select(VisitFeedback).where(VisitFeedback.visit_id == visit.id)
    ).first()
    return PublicVisit(
        visit_code=visit.visit_code,
        plan_month=month,
        enterprise_name=enterprise.name,
        credit_code_masked=mask_credit_code(enterprise.credit_code),
        tasks=tuple(DocTask(t.task_code, t.title, t.targeted) for t in tasks),
        items=tuple(
            PublicItem(
                items[c].title,
                items[c].legal_basis,
                names.get(items[c].department, items[c].department),
            )
            for c in visit.item_codes
        ),
        certificates=tuple(m.inspector_id for m in team),
        valid_from=first,
        valid_until=last,
        recorded_at=feedback.at if feedback else None,
        took_place=feedback.took_place if feedback else None,
        liaison=visit.confirm_hash is not None,
        channel_verified=feedback.channel_verified if feedback else None,
    )


class LiaisonCodeRequired(Forbidden):
    """The team's code was sent to record a visit whose enterprise received its own
    confirmation code: only that code records it (the team knows its own code)."""


class CodeRefused(NotFound):
    """A verification code that is forged, mistyped, expired or not valid yet."""

    def __init__(self, outcome: Outcome, message: str):
        super().__init__(message)
        self.outcome = outcome


def record_feedback(
    session: Session,
    code_text: str,
    *,
    took_place: bool,
    rating: int | None = None,
    comment: str | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
    today: date | None = None,
) -> VisitFeedback:
    """The enterprise records that the inspection took place (or did not), with an
    anonymous rating 1–5 and comment. Once per visit, within the code's validity.

    With the confirmation code sent to its liaison the record is `channel_verified`. The
    team's code records only a visit whose enterprise received no confirmation code, and
    is marked unverified: the team itself could have sent it."""
    day = today or results.today_in_shanghai()
    found = _visit_by_code(session, normalise_code(code_text))
    if found is None:
        raise CodeRefused("unknown", "this verification code does not exist")
    visit, month, kind = found
    outcome, _, _ = _judge(month, day, grace_days, carried_until(session, visit))
    if outcome != "genuine":
        raise CodeRefused(outcome, f"this verification code is not valid today ({outcome})")
    if kind == "team" and visit.confirm_hash is not None:
        raise LiaisonCodeRequired(
            f"visit {visit.visit_code} is confirmed with the code sent to the enterprise's "
            "liaison, not with the team's code"
        )
    if rating is not None and not 1 <= rating <= 5:
        raise InvalidInput("the rating is from 1 to 5")
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters")
    if session.scalars(select(VisitFeedback.id).where(VisitFeedback.visit_id == visit.id)).first():
        raise Conflict(f"visit {visit.visit_code} has already been recorded by the enterprise")
    row = VisitFeedback(
        visit_id=visit.id,
        took_place=took_place,
        rating=rating,
        comment=text,
        channel_verified=kind == "confirmation",
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # recorded at the same moment from another device
        raise Conflict(
            f"visit {visit.visit_code} has already been recorded by the enterprise"
        ) from None
    return row


# --------------------------------------------------------------------------- board


@dataclass(frozen=True)
class Progress:
    """One line of the board. Visit counts are cumulative stages of the month's visits
    (drawn ≥ assigned ≥ visited); result counts are per item of those visits, from the
    current version of each result (reported ≥ reviewed ≥ published)."""

    key: str
    drawn: int = 0  # visits
    assigned: int = 0  # with a current team
    visited: int = 0  # a result was reported, or entered by a supervisor
    confirmed: int = 0  # the enterprise recorded the inspection on the verification page
    # of `confirmed`: with the team's code, no liaison channel ("channel not verified")
    unverified: int = 0
    items: int = 0  # (visit, item) pairs to report
    reported: int = 0  # current result submitted, reviewed, published or withdrawn
    returned: int = 0  # sent back to the team, waiting for a new report
    reviewed: int = 0  # approved (or entered by a supervisor), published or withdrawn
    published: int = 0
    withdrawn: int = 0
    overdue: int = 0  # unpublished and past the 20-working-day deadline on `as_of`
    carried: int = 0  # of `drawn`: carried over from last month (结转), scheduled first


@dataclass(frozen=True)
class OpenInspector:
    inspector_id: str
    name: str
    department: str
    unit: str
    open_visits: int
    visits: int


@dataclass(frozen=True)
class ManualChange:
    """A published result changed by hand: who, when, why. (Changes of teams are staffing
    events, `StaffingEvent`.)"""

    kind: Literal["correction", "withdrawal"]
    at: datetime
    visit_code: str
    subject: str  # the item whose result changed
    change: str  # e.g. "no_problem → corrected"
    reason: str | None
    by: str | None  # the user named by the audit log


@dataclass(frozen=True)
class TeamChange:
    """What one staffing event did to one visit's team."""

    visit_code: str
    removed: tuple[str, ...]
    added: tuple[str, ...]  # empty when the visit lost its team
    unstaffed: str | None = None  # why no lawful replacement was found
    moved: tuple[str, str] | None = None  # ie-teams-v2: (from, to) visit days
    reason: str | None = None  # why the members left (the carried teams' re-check)


@dataclass(frozen=True)
class StaffingEvent:
    """A recorded change to the month's staffing after the freeze (docs/team-protocol.md),
    as the `team_events` chain holds it."""

    seq: int
    kind: str  # conflict | leave | certificate | deactivate | withdraw
    manual: bool  # a supervisor's withdraw; the other kinds come from directory imports
    at: datetime
    by: str
    source: str  # the import or command it came from
    reason: str | None
    inspector_id: str
    detail: str  # the credit code of a conflict, the days of leave, the new last valid day
    applied: bool  # to stored teams; an event before the team draw is replayed by it
    teams: tuple[TeamChange, ...]
    event_hash: str


@dataclass(frozen=True)
class Board:
    month: str
    as_of: date
    overdue_before: date  # unpublished results inspected before this day are overdue
    overdue_provisional: bool  # counted on a year whose calendar is not published yet (暂定)
    total: Progress
    tasks: tuple[Progress, ...]
    districts: tuple[Progress, ...]
    departments: tuple[Progress, ...]
    inspectors: tuple[OpenInspector, ...]
    changes: tuple[ManualChange, ...]
    events: tuple[StaffingEvent, ...]
    manual_events: int  # of `events`: withdraws by a supervisor
    directory_events: int  # of `events`: imported conflicts, leave, certificates, deactivations
    task_titles: dict[str, str]
    # 结转: what the re-check of the carried teams changed at the team draw (only unlawful
    # members are replaced), and the visits it could not staff
    carried_changes: tuple[TeamChange, ...] = ()


_RESULT_STAGES = ("items", "reported", "returned", "reviewed", "published", "withdrawn", "overdue")
# current result status -> the result stages it has reached
_REACHED = {
    "submitted": ("reported",),
    "returned": ("returned",),
    "reviewed": ("reported", "reviewed"),
    "published": ("reported", "reviewed", "published"),
    "withdrawn": ("reported", "reviewed", "withdrawn"),
}


@dataclass
class _Tally:
    """Counts per group key, filled with numpy: one 0/1 column per stage, summed by group."""

    keys: list[str]
    index: dict[str, int]

    @classmethod
    def of(cls, keys: Iterable[str]) -> _Tally:
        ordered = sorted(set(keys))
        return cls(ordered, {k: n for n, k in enumerate(ordered)})

    def sums(self, groups: list[str], columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        codes = np.array([self.index[g] for g in groups], dtype=np.int64)
        return {
            stage: np.bincount(codes, weights=values, minlength=len(self.keys)).astype(np.int64)
            for stage, values in columns.items()
        }


def _progress_rows(
    tally: _Tally,
    visit_groups: list[str],
    visit_columns: dict[str, np.ndarray],
    result_groups: list[str],
    result_columns: dict[str, np.ndarray],
) -> tuple[Progress, ...]:
    counts = {
        **tally.sums(visit_groups, visit_columns),
        **tally.sums(result_groups, result_columns),
    }
    return tuple(
        Progress(key, **{stage: int(values[n]) for stage, values in counts.items()})
        for n, key in enumerate(tally.keys)
    )


def _select(columns: dict[str, np.ndarray], rows: list[int]) -> dict[str, np.ndarray]:
    picked = np.array(rows, dtype=np.int64)
    return {stage: values[picked] for stage, values in columns.items()}


def month_board(
    session: Session, month: str, *, departments: Scope = None, as_of: date | None = None
) -> Board:
    """The month's progress per task, district and department, the inspectors with open
    visits and the manual changes. A supervisor sees his departments' part: the visits
    that carry their items, their items' results, their inspectors."""
    plan = get_plan(session, month)
    day = as_of or results.today_in_shanghai()
    cutoff, provisional = deadlines.overdue_before(day, calendar=holidays.calendar(session))
    scope = set(departments) if departments is not None else None
    visits = _board_visits(session, plan, scope)
    item_department = dict(session.execute(select(Item.item_code, Item.department)).tuples().all())
    tasks_of_plan = session.execute(
        select(Task.task_code, Task.title, Task.items).where(Task.plan_id == plan.id)
    ).all()
    task_items = {t: set(items) for t, _, items in tasks_of_plan}

    # one row per visit, one per (visit, item) to report
    staffed = _staffed(session, plan)
    confirmed, unverified = _confirmed(session, plan)
    current = _current_statuses(session, plan)
    visit_columns = {
        "drawn": np.ones(len(visits)),
        "assigned": np.array([v.id in staffed for v, _ in visits], dtype=float),
        "visited": np.array([v.status == "visited" for v, _ in visits], dtype=float),
        "confirmed": np.array([v.id in confirmed for v, _ in visits], dtype=float),
        "unverified": np.array([v.id in unverified for v, _ in visits], dtype=float),
        "carried": np.array([v.carried for v, _ in visits], dtype=float),
    }
    pairs = [
        (n, code)
        for n, (visit, _) in enumerate(visits)
        for code in visit.item_codes
        if scope is None or item_department[code] in scope
    ]
    result_columns = _result_columns(
        [current.get((visits[n][0].id, code)) for n, code in pairs], cutoff
    )

    # per group: which visits and which items belong to it
    by_task = [
        (t, n)
        for n, (v, _) in enumerate(visits)
        for t in v.task_codes
        if t in task_items and _task_in_scope(task_items[t], item_department, scope)
    ]
    task_pairs = [
        (t, k)
        for k, (n, code) in enumerate(pairs)
        for t in visits[n][0].task_codes
        if code in task_items.get(t, ())
    ]
    by_department = [
        (d, n)
        for n, (v, _) in enumerate(visits)
        for d in v.departments
        if scope is None or d in scope
    ]
    tasks = _grouped(by_task, task_pairs, visit_columns, result_columns)
    districts = _grouped(
        [(district, n) for n, (_, district) in enumerate(visits)],
        [(visits[n][1], k) for k, (n, _) in enumerate(pairs)],
        visit_columns,
        result_columns,
    )
    departments_rows = _grouped(
        by_department,
        [(item_department[code], k) for k, (_, code) in enumerate(pairs)],
        visit_columns,
        result_columns,
    )
    total = _grouped(
        [("total", n) for n in range(len(visits))],
        [("total", k) for k in range(len(pairs))],
        visit_columns,
        result_columns,
    )
    events = _staffing_events(session, plan, scope)
    return Board(
        month=month,
        as_of=day,
        overdue_before=cutoff,
        overdue_provisional=provisional,
        total=total[0] if total else Progress("total"),
        tasks=tasks,
        districts=districts,
        departments=departments_rows,
        inspectors=_open_inspectors(session, plan, visits, scope),
        changes=_manual_changes(session, plan, scope),
        events=events,
        manual_events=sum(e.manual for e in events),
        directory_events=sum(not e.manual for e in events),
        task_titles={t: title for t, title, _ in tasks_of_plan},
        carried_changes=_carried_changes(session, plan, visits),
    )


def _carried_changes(
    session: Session, plan: Plan, visits: list[tuple[_VisitRow, str]]
) -> tuple[TeamChange, ...]:
    """The recorded re-check of the carried teams, for the visits in the board's scope."""
    record = carryover.recheck_record(session, plan) or {}
    if not record:
        return ()
    carried = [v.id for v, _ in visits if v.carried]
    codes = set(session.scalars(select(Visit.visit_code).where(Visit.id.in_(carried))))
    changes = [
        TeamChange(code, tuple(r["removed"]), tuple(r["added"]), reason=r.get("reason"))
        for code, r in record.get("replaced", {}).items()
    ] + [TeamChange(code, (), (), why) for code, why in record.get("unstaffed", {}).items()]
    return tuple(sorted((c for c in changes if c.visit_code in codes), key=lambda c: c.visit_code))


def _task_in_scope(
    items: set[str], item_department: dict[str, str], scope: set[str] | None
) -> bool:
    return scope is None or any(item_department.get(i) in scope for i in items)


def _grouped(
    visit_members: list[tuple[str, int]],
    result_members: list[tuple[str, int]],
    visit_columns: dict[str, np.ndarray],
    result_columns: dict[str, np.ndarray],
) -> tuple[Progress, ...]:
    keys = {g for g, _ in visit_members}
    result_members = [(g, k) for g, k in result_members if g in keys]
    tally = _Tally.of(keys)
    return _progress_rows(
        tally,
        [g for g, _ in visit_members],
        _select(visit_columns, [n for _, n in visit_members]),
        [g for g, _ in result_members],
        _select(result_columns, [k for _, k in result_members]),
    )


def _result_columns(current: list[tuple[str, date] | None], cutoff: date) -> dict[str, np.ndarray]:
    columns = {stage: np.zeros(len(current)) for stage in _RESULT_STAGES}
    columns["items"][:] = 1
    for k, found in enumerate(current):
        if found is None:
            continue
        status, inspected_on = found
        for stage in _REACHED.get(status, ()):
            columns[stage][k] = 1
        if status in results.UNPUBLISHED and inspected_on < cutoff:
            columns["overdue"][k] = 1
    return columns


@dataclass(frozen=True)
class _VisitRow:
    """The columns of a visit the board needs (plain rows: no ORM objects to build)."""

    id: int
    status: str
    task_codes: list[str]
    item_codes: list[str]
    departments: list[str]
    carried: bool  # another plan's visit, carried over into this one (结转)


def _board_visits(
    session: Session, plan: Plan, scope: set[str] | None
) -> list[tuple[_VisitRow, str]]:
    rows = session.execute(
        select(
            Visit.id,
            Visit.status,
            Visit.task_codes,
            Visit.item_codes,
            Visit.departments,
            Visit.plan_id,
            Enterprise.district,
        )
        .join(Enterprise, Enterprise.credit_code == Visit.credit_code)
        .where(carryover.of_plan(plan.id))
        .order_by(Visit.visit_code)
    ).tuples()
    return [
        (_VisitRow(i, status, tasks, items, departments, plan_id != plan.id), district)
        for i, status, tasks, items, departments, plan_id, district in rows
        if scope is None or set(departments) & scope
    ]


def _staffed(session: Session, plan: Plan) -> set[int]:
    query = (
        select(TeamMember.visit_id)
        .join(Visit, Visit.id == TeamMember.visit_id)
        .where(carryover.of_plan(plan.id), TeamMember.replaced_at.is_(None))
        .distinct()
    )
    return set(session.scalars(query))


def _confirmed(session: Session, plan: Plan) -> tuple[set[int], set[int]]:
    """Visits the enterprise confirmed, and those of them confirmed without the liaison's
    channel."""
    query = (
        select(VisitFeedback.visit_id, VisitFeedback.channel_verified)
        .join(Visit, Visit.id == VisitFeedback.visit_id)
        .where(carryover.of_plan(plan.id), VisitFeedback.took_place.is_(True))
    )
    rows = session.execute(query).tuples().all()
    return {v for v, _ in rows}, {v for v, verified in rows if not verified}


def _current_statuses(session: Session, plan: Plan) -> dict[tuple[int, str], tuple[str, date]]:
    """(visit, item) -> (status, inspection date) of the latest result version."""
    query = (
        select(
            Result.visit_id, Result.item_code, Result.version, Result.status, Result.inspected_on
        )
        .join(Visit, Visit.id == Result.visit_id)
        .where(carryover.of_plan(plan.id))
        .order_by(Result.visit_id, Result.item_code, Result.version)
    )
    return {(v, i): (status, day) for v, i, _, status, day in session.execute(query)}


def _open_inspectors(
    session: Session, plan: Plan, visits: list[tuple[_VisitRow, str]], scope: set[str] | None
) -> tuple[OpenInspector, ...]:
    status = {v.id: v.status for v, _ in visits}
    query = (
        select(TeamMember.visit_id, TeamMember.inspector_id)
        .join(Visit, Visit.id == TeamMember.visit_id)
        .where(carryover.of_plan(plan.id), TeamMember.replaced_at.is_(None))
    )
    people = {
        i: (name, department, unit)
        for i, name, department, unit in session.execute(
            select(Inspector.inspector_id, Inspector.name, Inspector.department, Inspector.unit)
        ).tuples()
        if scope is None or department in scope
    }
    total: Counter[str] = Counter()
    open_: Counter[str] = Counter()
    for visit_id, inspector_id in session.execute(query).tuples():
        if visit_id not in status or inspector_id not in people:
            continue
        total[inspector_id] += 1
        open_[inspector_id] += status[visit_id] != "visited"
    return tuple(
        OpenInspector(i, *people[i], open_visits=open_[i], visits=total[i])
        for i in sorted(open_, key=lambda i: (-open_[i], i))
        if open_[i]
    )


def _manual_changes(
    session: Session, plan: Plan, scope: set[str] | None
) -> tuple[ManualChange, ...]:
    changes = _result_changes(session, plan, scope)
    return tuple(sorted(changes, key=lambda c: (_naive(c.at), c.visit_code, c.subject)))


def _naive(moment: datetime) -> datetime:
    """UTC without tzinfo: SQLite gives the stored UTC time back naive, PostgreSQL aware."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _audit(session: Session, actions: tuple[str, ...], subject_like: str) -> list[AuditEntry]:
    query = select(AuditEntry).where(
        AuditEntry.action.in_(actions), AuditEntry.subject.like(subject_like)
    )
    return list(session.scalars(query.order_by(AuditEntry.id)))


def _result_changes(session: Session, plan: Plan, scope: set[str] | None) -> list[ManualChange]:
    rows = session.scalars(
        select(Publication)
        .join(Result, Result.id == Publication.result_id)
        .join(Visit, Visit.id == Result.visit_id)
        .where(Visit.plan_id == plan.id, Publication.state.in_(("corrected", "withdrawn")))
        .order_by(Publication.id)
    ).all()
    if not rows:
        return []
    successors = dict(
        session.execute(
            select(Publication.corrects_id, Publication.result).where(
                Publication.corrects_id.in_([p.id for p in rows])
            )
        )
        .tuples()
        .all()
    )
    actors: dict[tuple[str, Any], str] = {}
    for entry in _audit(session, ("result.correct", "result.withdraw"), f"{plan.month}-%"):
        actors[(entry.action, entry.details.get("result_id"))] = entry.actor
    out = []
    for p in rows:
        if scope is not None and p.department not in scope:
            continue
        corrected = p.state == "corrected"
        action = "result.correct" if corrected else "result.withdraw"
        out.append(
            ManualChange(
                kind="correction" if corrected else "withdrawal",
                at=p.updated_at,
                visit_code=p.visit_code,
                subject=p.item_code,
                change=f"{p.result} → {successors.get(p.id, '?')}" if corrected else p.result,
                reason=p.reason,
                by=actors.get((action, p.result_id)),
            )
        )
    return out


def _staffing_events(
    session: Session, plan: Plan, scope: set[str] | None
) -> tuple[StaffingEvent, ...]:
    """The plan's team events in chain order. A supervisor sees those that concern an
    inspector of his departments or change a team of a visit that carries their items."""
    rows = session.scalars(
        select(TeamEvent).where(TeamEvent.plan_id == plan.id).order_by(TeamEvent.seq)
    ).all()
    visit_departments: dict[str, set[str]] = {}
    inspector_department: dict[str, str] = {}
    if scope is not None and rows:
        query = select(Visit.visit_code, Visit.departments).where(carryover.of_plan(plan.id))
        visit_departments = {code: set(d) for code, d in session.execute(query).tuples()}
        inspector_department = dict(
            session.execute(select(Inspector.inspector_id, Inspector.department)).tuples().all()
        )
    out = []
    for row in rows:
        event = _staffing_event(row)
        if scope is None:
            out.append(event)
            continue
        own_inspector = inspector_department.get(event.inspector_id) in scope
        # only the visits of his departments, and his own inspector's places: an event
        # (a holiday, say) may move other departments' visits, whose days are not his
        shown = tuple(
            change
            for change in event.teams
            if visit_departments.get(change.visit_code, set()) & scope
            or (own_inspector and event.inspector_id in (*change.removed, *change.added))
        )
        if own_inspector or shown:
            out.append(replace(event, teams=shown))
    return tuple(out)


def _staffing_event(row: TeamEvent) -> StaffingEvent:
    change, outcome = row.event, row.outcome or {}
    replaced = outcome.get("replaced", {})
    unstaffed = outcome.get("unstaffed", {})
    moved = {code: (m["from"], m["to"]) for code, m in outcome.get("moved", {}).items()}
    teams = [
        TeamChange(code, tuple(r["removed"]), tuple(r["added"]), moved=moved.get(code))
        for code, r in replaced.items()
    ]
    # ie-teams-v2: a visit moved to another day with its team kept
    teams += [TeamChange(c, (), (), moved=m) for c, m in moved.items() if c not in replaced]
    # a visit that lost its team: the reason names whom nobody could replace
    teams += [TeamChange(code, (), (), why) for code, why in unstaffed.items()]
    return StaffingEvent(
        seq=row.seq,
        kind=row.kind,
        manual=row.kind in staffing.MANUAL_KINDS,
        at=row.created_at,
        by=row.actor,
        source=row.source,
        reason=row.reason,
        inspector_id=change["inspector_id"],
        detail=_event_detail(change),
        applied=bool(outcome),
        teams=tuple(sorted(teams, key=lambda t: t.visit_code)),
        event_hash=row.event_hash,
    )


def _event_detail(change: dict[str, Any]) -> str:
    if change["kind"] == "conflict":
        return str(change["credit_code"])
    if change["kind"] == "leave":
        return f"{change['starts_on']} – {change['ends_on']}"
    if change["kind"] == "certificate":
        return f"≤ {change['expires']}"
    if change["kind"] == "holiday":
        return f"{change['starts_on']} – {change['ends_on']}"
    return ""
