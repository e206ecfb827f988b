"""calendar links: inspectors' revocable personal links to their calendar feeds (only the
token's hash stored), and the version of each visit's calendar event (SEQUENCE,
LAST-MODIFIED).

Revision ID: 0014_calendar_links
Revises: 0013_visit_days
Create Date: 2026-12-07 22:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_calendar_links"
down_revision: str | None = "0013_visit_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_links_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_links_token_hash")),
    )
    op.create_index(op.f("ix_calendar_links_user_id"), "calendar_links", ["user_id"])
    op.create_table(
        "calendar_event_versions",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_calendar_event_versions_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_calendar_event_versions")),
    )


def downgrade() -> None:
    op.drop_table("calendar_event_versions")
    op.drop_index(op.f("ix_calendar_links_user_id"), "calendar_links")
    op.drop_table("calendar_links")
