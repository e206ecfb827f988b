"""plan sizing: the draw sized to the staff at plan time (issue 18)

- tasks.min_ratio: the mandated least inclusion probability (tasks.csv, optional);
- tasks.sized_ratios: λ per risk class chosen by `month plan --fit-capacity` (null: the
  task's own ratios); the freeze builds the frame from them;
- plans.sizing: what the sizing chose and the capacity it uses (loads per department,
  office, district and qualification pool), kept with the plan.

Revision ID: 0015_plan_sizing
Revises: 0014_calendar_links
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_plan_sizing"
down_revision: str | None = "0014_calendar_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("min_ratio", sa.String(16), nullable=True))
        batch.add_column(sa.Column("sized_ratios", sa.JSON(), nullable=True))
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("sizing", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("sizing")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("sized_ratios")
        batch.drop_column("min_ratio")
