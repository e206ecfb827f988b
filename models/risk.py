"""Model registry and risk scores (企业信用风险分类)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class ModelVersion(Base):
    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[date]
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    data_window_start: Mapped[date | None]
    data_window_end: Mapped[date | None]
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    artefact: Mapped[bytes] = mapped_column(LargeBinary)


class RiskScore(Base):
    __tablename__ = "risk_scores"
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    credit_code: Mapped[str] = mapped_column(
        ForeignKey("enterprises.credit_code"), primary_key=True
    )
    as_of: Mapped[date]
    probability: Mapped[float]
    risk_class: Mapped[str] = mapped_column(String(1))
    override: Mapped[str | None] = mapped_column(String(64))
    reasons: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_risk_scores_credit_code", "credit_code"),)
