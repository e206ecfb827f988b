"""History: past events used for features and labels. Rows are events: an identical row
is stored once (row_hash), rows that differ in any column are distinct events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class Inspection(Base):
    __tablename__ = "inspections"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(32), unique=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"))
    inspected_on: Mapped[date]
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    item_code: Mapped[str | None] = mapped_column(ForeignKey("items.item_code"))
    inspector_id: Mapped[str | None] = mapped_column(ForeignKey("inspectors.inspector_id"))
    result: Mapped[str] = mapped_column(String(24))
    # Known when the inspection came from a random draw (ours record it): labels are
    # weighted by 1/π.
    inclusion_probability: Mapped[float | None]
    # The visit's probability under its plan (any task drawing the enterprise), recorded by
    # the engine for the results it publishes; not a column of inspections.csv nor of the
    # row's hash, so an imported history has none (labels then fall back to its rows' π).
    visit_probability: Mapped[float | None]

    __table_args__ = (
        Index("ix_inspections_credit_code_inspected_on", "credit_code", "inspected_on"),
        Index("ix_inspections_inspected_on", "inspected_on"),
        Index("ix_inspections_inspector_id", "inspector_id"),
    )


class Penalty(Base):
    __tablename__ = "penalties"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(32), unique=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), index=True)
    decided_on: Mapped[date]
    severity: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))


class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(32), unique=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), index=True)
    received_on: Mapped[date]
    category: Mapped[str] = mapped_column(String(64))
    substantiated: Mapped[bool]


class AnnualReport(Base):
    __tablename__ = "annual_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(32), unique=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), index=True)
    year: Mapped[int]
    filed_on: Mapped[date | None]  # None: not filed


class ListMembership(Base):
    """经营异常名录 (abnormal) and 严重违法失信名单 (serious_violation)."""

    __tablename__ = "list_memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(32), unique=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), index=True)
    list: Mapped[str] = mapped_column(String(24))
    listed_on: Mapped[date]
    removed_on: Mapped[date | None]
