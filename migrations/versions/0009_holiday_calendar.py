"""holiday calendar: imported years of the official calendar, provisional due dates

- calendar_days: the days of an imported year (holidays.csv) that differ from the
  Monday–Friday week; an imported year overrides the chinese_calendar package;
- publications.due_provisional: the due date was counted on Monday–Friday for a year
  neither imported nor packaged (shown as 暂定, recomputed when the year is imported).

Revision ID: 0009_holiday_calendar
Revises: 0008_verify_misses
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_holiday_calendar"
down_revision: str | None = "0008_verify_misses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_days")),
    )
    op.create_index(op.f("ix_calendar_days_year"), "calendar_days", ["year"], unique=False)
    # A plain ADD COLUMN, not a batch rebuild: on SQLite a rebuild would drop the name
    # search's triggers on publications (migration 0005).
    op.add_column(
        "publications",
        sa.Column("due_provisional", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # SQLite >= 3.35 drops in place (triggers kept)
        op.execute("ALTER TABLE publications DROP COLUMN due_provisional")
    else:
        op.drop_column("publications", "due_provisional")
    op.drop_index(op.f("ix_calendar_days_year"), table_name="calendar_days")
    op.drop_table("calendar_days")
