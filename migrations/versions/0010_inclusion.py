"""inclusion: each selected unit keeps the exact probability its frame promised it (π)

selections.pi: the canonical decimal text of π under Pareto πps for the unit's λ in its
frame (`sampling.inclusion`); estimates and the history's 1/π weights read it. Null for
draws made before the engine recorded π (readers fall back to λ).

Revision ID: 0010_inclusion
Revises: 0009_holiday_calendar
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_inclusion"
down_revision: str | None = "0009_holiday_calendar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("selections") as batch:
        batch.add_column(sa.Column("pi", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("selections") as batch:
        batch.drop_column("pi")
