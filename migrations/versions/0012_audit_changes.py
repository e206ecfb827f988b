"""audit changes: what each import changed, and the published audit heads

- import_change_logs: the full list of one import's changed rows (before/after of the
  changed columns) and added keys, gzip'd JSON bound to its audit entry by a SHA-256;
  the enterprises whose status or licences changed, for the board;
- published_heads: the audit chain's head as published daily and at every freeze, draw
  and publication.

Revision ID: 0012_audit_changes
Revises: 0011_liaison
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_audit_changes"
down_revision: str | None = "0011_liaison"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "import_change_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changes_sha256", sa.String(length=64), nullable=False),
        sa.Column("changes_gz", sa.LargeBinary(), nullable=False),
        sa.Column("flagged", sa.JSON(), nullable=False),
        sa.Column("flagged_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_change_logs")),
    )
    op.create_index(
        op.f("ix_import_change_logs_kind"), "import_change_logs", ["kind"], unique=False
    )
    op.create_index(
        op.f("ix_import_change_logs_created_at"),
        "import_change_logs",
        ["created_at"],
        unique=False,
    )
    op.create_table(
        "published_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("occasion", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_heads")),
    )
    op.create_index(
        op.f("ix_published_heads_published_at"), "published_heads", ["published_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_published_heads_published_at"), table_name="published_heads")
    op.drop_table("published_heads")
    op.drop_index(op.f("ix_import_change_logs_created_at"), table_name="import_change_logs")
    op.drop_index(op.f("ix_import_change_logs_kind"), table_name="import_change_logs")
    op.drop_table("import_change_logs")
