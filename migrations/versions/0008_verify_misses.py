"""verify misses: openings of /v/{code} with an unknown code are counted per day and
client bucket instead of written one row per request (issue 16, rate limits).

Revision ID: 0008_verify_misses
Revises: 0007_signin
Create Date: 2026-12-07 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_verify_misses"
down_revision: str | None = "0007_signin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verify_misses",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bucket", sa.String(length=2), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "bucket", name=op.f("pk_verify_misses")),
    )


def downgrade() -> None:
    op.drop_table("verify_misses")
