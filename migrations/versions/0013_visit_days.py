"""visit days: the working day each visit is scheduled on

- visits.visit_on: the scheduled working day (null until the engine schedules the visit);
  never public. Indexed for the inspector's day pages and calendar feeds.

Revision ID: 0013_visit_days
Revises: 0012_audit_changes
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_visit_days"
down_revision: str | None = "0012_audit_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("visit_on", sa.Date(), nullable=True))
        batch.create_index("ix_visits_visit_on", ["visit_on"])


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_index("ix_visits_visit_on")
        batch.drop_column("visit_on")
