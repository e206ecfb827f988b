"""visit inclusion: a plan's probability of visiting each enterprise it drew, stored once

- visit_inclusion(plan_id, credit_code, pi, std_error, reps): P(visited by any task of the
  plan) under its coordinated draw, computed when the plan is drawn (exact for enterprises
  of one frame, std_error 0); the month's estimates read it instead of simulating again.
- inspections.visit_probability: that probability on the history rows the engine derives
  from published results (null for imported rows); training labels weight a visit by it.

Revision ID: 0017_visit_inclusion
Revises: 0016_carry_over
Create Date: 2026-12-08 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_visit_inclusion"
down_revision: str | None = "0016_carry_over"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visit_inclusion",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("pi", sa.Float(), nullable=False),
        sa.Column("std_error", sa.Float(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_visit_inclusion_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["credit_code"],
            ["enterprises.credit_code"],
            name=op.f("fk_visit_inclusion_credit_code_enterprises"),
        ),
        sa.PrimaryKeyConstraint("plan_id", "credit_code", name=op.f("pk_visit_inclusion")),
    )
    with op.batch_alter_table("inspections") as batch:
        batch.add_column(sa.Column("visit_probability", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("visit_probability")
    op.drop_table("visit_inclusion")
