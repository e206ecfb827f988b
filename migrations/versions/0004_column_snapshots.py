"""column snapshots: a columnar copy of the directory for the month's freeze

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('column_snapshots',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('revision', sa.BigInteger(), nullable=False),
    sa.Column('built_revision', sa.BigInteger(), nullable=True),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rows', sa.BigInteger(), nullable=True),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_column_snapshots'))
    )


def downgrade() -> None:
    op.drop_table('column_snapshots')
