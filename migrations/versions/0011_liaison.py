"""liaison: the enterprise's registered liaison (enterprises.contact), the hash of each
visit's confirmation code, how it was delivered, and whether a confirmation came through
the liaison's channel (issue 16, the enterprise's confirmation).

Revision ID: 0011_liaison
Revises: 0010_inclusion
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_liaison"
down_revision: str | None = "0010_inclusion"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.add_column(sa.Column("contact", sa.String(length=254), nullable=True))
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("confirm_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(op.f("uq_visits_confirm_hash"), ["confirm_hash"])
    with op.batch_alter_table("visit_feedback") as batch:
        batch.add_column(
            sa.Column(
                "channel_verified", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "confirmation_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address_masked", sa.String(length=254), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_confirmation_deliveries_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_confirmation_deliveries")),
    )
    op.create_index(
        op.f("ix_confirmation_deliveries_visit_id"), "confirmation_deliveries", ["visit_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_confirmation_deliveries_visit_id"), "confirmation_deliveries")
    op.drop_table("confirmation_deliveries")
    with op.batch_alter_table("visit_feedback") as batch:
        batch.drop_column("channel_verified")
    with op.batch_alter_table("visits") as batch:
        batch.drop_constraint(op.f("uq_visits_confirm_hash"), type_="unique")
        batch.drop_column("confirm_hash")
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("contact")
