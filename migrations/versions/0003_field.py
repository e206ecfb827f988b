"""field: the scan log of verification codes and the enterprises' anonymous feedback

The codes themselves live in visits.verify_token (since 0001).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 04:05:58.372136
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('verify_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('client_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_verify_scans_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verify_scans'))
    )
    with op.batch_alter_table('verify_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verify_scans_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_verify_scans_visit_id'), ['visit_id'], unique=False)

    op.create_table('visit_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('took_place', sa.Boolean(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 5)', name=op.f('ck_visit_feedback_rating_range')),
    sa.ForeignKeyConstraint(['visit_id'], ['visits.id'], name=op.f('fk_visit_feedback_visit_id_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_feedback')),
    sa.UniqueConstraint('visit_id', name=op.f('uq_visit_feedback_visit_id'))
    )


def downgrade() -> None:
    op.drop_table('visit_feedback')
    with op.batch_alter_table('verify_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verify_scans_visit_id'))
        batch_op.drop_index(batch_op.f('ix_verify_scans_at'))

    op.drop_table('verify_scans')
