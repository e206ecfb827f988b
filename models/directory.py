"""The two directories and the one list (两库一单), keyed by their natural keys."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

CODE = String(32)


class Department(Base):
    """部门: SAMR, HEALTH, FIRE, ... created from the directories that name them."""

    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))


class Unit(Base):
    """监管所 / 执法单位: a local supervision office, e.g. 440106-03."""

    __tablename__ = "units"
    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    district: Mapped[str | None] = mapped_column(String(6))


class Enterprise(Base):
    """检查对象名录库: one market entity."""

    __tablename__ = "enterprises"
    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    entity_type: Mapped[str] = mapped_column(String(16))
    industry: Mapped[str] = mapped_column(String(8))
    district: Mapped[str] = mapped_column(String(6))
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    registered_on: Mapped[date]
    registered_capital: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    status: Mapped[str] = mapped_column(String(16))
    # 联络员: where the enterprise's own confirmation code is sent (an e-mail address or 11
    # digits of a mobile number). Never public, never on an inspector's page or document.
    contact: Mapped[str | None] = mapped_column(String(254))
    licences: Mapped[str | None] = mapped_column(Text)  # ';'-list, as in the import format
    tags: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]

    __table_args__ = (
        Index("ix_enterprises_district_status", "district", "status"),
        Index("ix_enterprises_unit", "unit"),
        Index("ix_enterprises_industry", "industry"),
        Index("ix_enterprises_name", "name"),
    )


class Inspector(Base):
    """执法检查人员名录库: keyed by the enforcement certificate number."""

    __tablename__ = "inspectors"
    inspector_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    district: Mapped[str] = mapped_column(String(6))
    qualifications: Mapped[str | None] = mapped_column(Text)
    certificate_expires: Mapped[date]
    lead: Mapped[bool] = mapped_column(default=False)
    monthly_capacity: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (Index("ix_inspectors_department_unit", "department", "unit"),)


class Item(Base):
    """抽查事项清单: one line of the inspection-item list."""

    __tablename__ = "items"
    item_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    title: Mapped[str] = mapped_column(String(300))
    legal_basis: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(8))
    entity_types: Mapped[str | None] = mapped_column(Text)
    industries: Mapped[str | None] = mapped_column(Text)
    licences: Mapped[str | None] = mapped_column(Text)
    qualification: Mapped[str | None] = mapped_column(String(64))
    min_inspectors: Mapped[int] = mapped_column(default=2)


class Leave(Base):
    """Days an inspector cannot inspect (leave.csv); an event, deduplicated by row hash."""

    __tablename__ = "inspector_leave"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(32), unique=True)
    inspector_id: Mapped[str] = mapped_column(ForeignKey("inspectors.inspector_id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str | None] = mapped_column(String(200))


class Conflict(Base):
    """回避: a declared interest or a recusal request; the inspector never inspects it."""

    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    row_hash: Mapped[str] = mapped_column(String(32), unique=True)
    inspector_id: Mapped[str] = mapped_column(ForeignKey("inspectors.inspector_id"), index=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), index=True)
    reason: Mapped[str] = mapped_column(String(300))
    raised_by: Mapped[str] = mapped_column(String(16))
    raised_on: Mapped[date]


class CalendarDay(Base):
    """A day of an imported year (holidays.csv) that differs from the Monday–Friday week:
    a holiday on a weekday, or a weekend day made a working day (调休). An imported year
    overrides the chinese_calendar package for that whole year."""

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str] = mapped_column(String(100))
