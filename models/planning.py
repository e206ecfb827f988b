"""A month's plan: tasks, frozen frames, the draw, visits and teams."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class Plan(Base):
    """抽查计划: one month's tasks, drawn together under one seed (ie-draw-v1)."""

    __tablename__ = "plans"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # YYYY-MM
    status: Mapped[str] = mapped_column(String(16), default="planned")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    group_hash: Mapped[str | None] = mapped_column(String(64))
    # The nonce stays secret until the draw reveals it; only its commitment is shown.
    # Before the draw it is kept sealed (encrypted under a key from the settings, never in
    # the database) in `nonce_sealed`; `nonce` holds it in clear only once revealed.
    nonce: Mapped[str | None] = mapped_column(String(64))
    nonce_sealed: Mapped[str | None] = mapped_column(Text)
    commitment: Mapped[str | None] = mapped_column(String(64))
    committed_at: Mapped[datetime | None]
    # The staffing snapshot's hash (the second random's commitment) and the declared
    # source of the public contribution, both published with the commitment.
    staffing_hash: Mapped[str | None] = mapped_column(String(64))
    contribution_source: Mapped[str | None] = mapped_column(Text)
    contribution: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[str | None] = mapped_column(String(64))
    drawn_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # What the draw produced: visits, coordination saving (independent seeds vs shared).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    # `month plan --fit-capacity`: the λ chosen and the capacity they use (null: not sized)
    sizing: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Task(Base):
    """抽查任务: items + scope + ratios; one frame and one draw record."""

    __tablename__ = "tasks"
    task_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    items: Mapped[list[str]] = mapped_column(JSON)
    targeted: Mapped[bool] = mapped_column(default=False)
    filters: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    ratios: Mapped[dict[str, str]] = mapped_column(JSON)  # class -> decimal string
    floor: Mapped[str] = mapped_column(String(16), default="0.002")
    mode: Mapped[str] = mapped_column(String(16), default="cross_office")
    team_size: Mapped[int] = mapped_column(default=2)
    min_ratio: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # λ per class chosen by the sizing (null: the ratios); the freeze draws with these
    sized_ratios: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True)


class Frame(Base):
    """抽取范围: a task's frozen frame. The canonical frame text (the bytes hashed by
    ie-draw-v1) is kept compressed rather than as millions of rows."""

    __tablename__ = "frames"
    task_code: Mapped[str] = mapped_column(ForeignKey("tasks.task_code"), primary_key=True)
    frame_hash: Mapped[str] = mapped_column(String(64))
    units: Mapped[int]
    frame_text_gz: Mapped[bytes] = mapped_column(LargeBinary)
    # One risk-class letter per unit, in frame order (for the record's class summary).
    risk_classes_gz: Mapped[bytes] = mapped_column(LargeBinary)
    classes: Mapped[dict[str, Any]] = mapped_column(JSON)
    lambda_provenance: Mapped[dict[str, Any]] = mapped_column(JSON)
    exclusions: Mapped[dict[str, int]] = mapped_column(JSON)  # reason -> count
    exclusions_text_gz: Mapped[bytes] = mapped_column(LargeBinary)  # credit_code,reason lines
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draw(Base):
    """The public draw record of one task (ie-draw-v1), without its frame."""

    __tablename__ = "draws"
    task_code: Mapped[str] = mapped_column(ForeignKey("tasks.task_code"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)


class Selection(Base):
    """One enterprise drawn by one task, with its inclusion probability."""

    __tablename__ = "selections"
    task_code: Mapped[str] = mapped_column(ForeignKey("tasks.task_code"), primary_key=True)
    credit_code: Mapped[str] = mapped_column(
        ForeignKey("enterprises.credit_code"), primary_key=True
    )
    lam: Mapped[str] = mapped_column("lambda", String(16))
    risk_class: Mapped[str | None] = mapped_column(String(1))
    prn: Mapped[float] = mapped_column(Float)
    # π promised by the frame for this λ (None: drawn before π was recorded; use λ)
    pi: Mapped[str | None] = mapped_column(String(16), nullable=True)

    @property
    def probability(self) -> str:
        """The unit's inclusion probability in its task: π, or λ for older draws."""
        return self.pi if self.pi is not None else self.lam


class VisitInclusion(Base):
    """An enterprise's probability of being visited by *any* task of a plan that drew it
    (one shared PRN per enterprise: not the largest of its task π), with its standard error
    (0 where exact: an enterprise of one frame). Computed once when the plan is drawn,
    deterministic from the plan's seed (`sampling.population.visit_inclusion`); read by the
    month's estimates and the history's training weights. Keyed by plan, not visit: a
    carried visit drawn again by a later plan has that plan's probability there too."""

    __tablename__ = "visit_inclusion"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    credit_code: Mapped[str] = mapped_column(
        ForeignKey("enterprises.credit_code"), primary_key=True
    )
    pi: Mapped[float] = mapped_column(Float)
    std_error: Mapped[float] = mapped_column(Float)
    reps: Mapped[int]  # coordinated replicates (0: exact)


class Visit(Base):
    """检查（户次）: one enterprise, one month, all its selected items."""

    __tablename__ = "visits"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_code: Mapped[str] = mapped_column(String(32), unique=True)  # e.g. 2026-12-000123
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"))
    task_codes: Mapped[list[str]] = mapped_column(JSON)
    item_codes: Mapped[list[str]] = mapped_column(JSON)
    departments: Mapped[list[str]] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(16))
    team_size: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="planned")
    # The team's code (核验码): printed on the task document and the notice, shown to the
    # team; anyone holding it can check the team is genuine (read-only).
    verify_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # SHA-256 of the enterprise's confirmation code, sent to its liaison only: the code
    # itself is stored nowhere, so no page, document or database reader can show it.
    confirm_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The scheduled working day (null until scheduled). Never public: it would tell the
    # enterprise when the unannounced visit comes.
    visit_on: Mapped[date | None]

    __table_args__ = (
        UniqueConstraint("plan_id", "credit_code"),
        Index("ix_visits_credit_code", "credit_code"),
        Index("ix_visits_visit_on", "visit_on"),
    )


class TeamMember(Base):
    """检查组: one inspector's place on a visit; replaced places are kept, not deleted."""

    __tablename__ = "team_members"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    inspector_id: Mapped[str] = mapped_column(ForeignKey("inspectors.inspector_id"), index=True)
    role: Mapped[str] = mapped_column(String(8), default="member")  # lead | member
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)
    replaced_at: Mapped[datetime | None]
    replaced_reason: Mapped[str | None] = mapped_column(Text)


class AssignmentRun(Base):
    """The record of one team draw: partial or complete, its diagnosis and fairness."""

    __tablename__ = "assignment_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    label: Mapped[str] = mapped_column(Text)
    partial: Mapped[bool]
    unstaffed: Mapped[list[Any]] = mapped_column(JSON, default=list)
    fairness: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Result(Base):
    """检查结果: per visit and item; corrections add a new version, nothing is deleted.

    status: submitted (by an inspector) → returned (sent back, review_note says why) or
    reviewed (approved, or entered by a supervisor) → published; a published version that
    is corrected becomes superseded, one that is withdrawn becomes withdrawn."""

    __tablename__ = "results"
    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"))
    item_code: Mapped[str] = mapped_column(ForeignKey("items.item_code"))
    version: Mapped[int] = mapped_column(default=1)
    result: Mapped[str] = mapped_column(String(24))
    inspected_on: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("visit_id", "item_code", "version"),
        # review queues and the overdue list: unpublished results by inspection date
        Index("ix_results_status_inspected_on", "status", "inspected_on"),
    )


class Publication(Base):
    """公示: a result made public, due within 20 working days of the inspection.

    A publication is a snapshot of what was shown to the public (enterprise name, result,
    task...), so that later directory changes never rewrite a published record; the copied
    columns are also the keys of the public search. A correction publishes the new result
    version as a new row (`corrects_id`) and marks the old one `corrected`; a withdrawal
    marks it `withdrawn`. Nothing is deleted."""

    __tablename__ = "publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    result_id: Mapped[int] = mapped_column(ForeignKey("results.id"), unique=True)
    # None: published before provisional deadlines existed, in a year the calendar did not
    # know. Provisional: counted on Monday–Friday for a year neither imported nor packaged
    # (shown as 暂定), recomputed when that year's calendar is imported.
    due_on: Mapped[date | None]
    due_provisional: Mapped[bool] = mapped_column(default=False, server_default=false())
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    state: Mapped[str] = mapped_column(String(16), default="current")  # current|corrected|withdrawn
    reason: Mapped[str | None] = mapped_column(Text)
    # Last change of the row (publication, correction, withdrawal): the feed's order.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))
    visit_code: Mapped[str] = mapped_column(String(32))
    task_code: Mapped[str] = mapped_column(String(64))
    credit_code: Mapped[str] = mapped_column(String(18))
    enterprise_name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(6))
    department: Mapped[str] = mapped_column(String(32))
    item_code: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(String(24))
    inspected_on: Mapped[date]
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        # The public list is ordered by (inspected_on, id) descending and filtered by one
        # of these columns: each filter walks its own index in that order (keyset pages).
        Index("ix_publications_inspected_on_id", "inspected_on", "id"),
        Index("ix_publications_credit_code_inspected_on", "credit_code", "inspected_on", "id"),
        Index("ix_publications_district_inspected_on", "district", "inspected_on", "id"),
        Index("ix_publications_department_inspected_on", "department", "inspected_on", "id"),
        Index("ix_publications_result_inspected_on", "result", "inspected_on", "id"),
        Index("ix_publications_updated_at_id", "updated_at", "id"),
        # A name search is a substring match: trigrams on PostgreSQL (pg_trgm, created by
        # the migration); SQLite keeps a plain index it does not use for it.
        Index(
            "ix_publications_enterprise_name_trgm",
            "enterprise_name",
            postgresql_using="gin",
            postgresql_ops={"enterprise_name": "gin_trgm_ops"},
        ),
    )


class StaffingSnapshot(Base):
    """Everything the team draw reads, frozen with the frames (ie-teams-v1): the canonical
    text whose SHA-256 is the plan's `staffing_hash`, kept compressed."""

    __tablename__ = "staffing_snapshots"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    staffing_hash: Mapped[str] = mapped_column(String(64))
    text_gz: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamEvent(Base):
    """A change to the staffing after the freeze (a conflict declared, leave, a certificate
    revoked, an inspector deactivated or withdrawn), applied to the teams in order. Events
    are hash-chained per plan: `event_hash` = SHA-256(previous hash | canonical event)."""

    __tablename__ = "team_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    # The canonical event as the team protocol reads it (kind, inspector, dates, ...).
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)  # the import or command it came from
    reason: Mapped[str | None] = mapped_column(Text)
    # What it changed: visit code -> {"removed": [...], "added": [...]} or unstaffed.
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    event_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("plan_id", "seq"),)


class CarryOver(Base):
    """结转: a visit of an earlier month still open at this plan's freeze, carried into it.

    The visit keeps its row, code, selection and results in its own month; this row links
    it to the plan that now schedules and staffs it (listed in that plan's staffing snapshot,
    docs/team-protocol.md §6). `carried_out`: it was carried out between the freeze and the
    plan's team draw, so the re-check left its team alone. `handed_over_on` (ie-teams-v2):
    the day it had in the earlier month at the freeze, where that month's record ends."""

    __tablename__ = "carried_visits"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), primary_key=True, index=True)
    carried_out: Mapped[bool] = mapped_column(default=False, server_default=false())
    handed_over_on: Mapped[date | None] = mapped_column(default=None)
