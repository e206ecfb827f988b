"""carry-over: visits of an earlier month still open at a plan's freeze

- carried_visits(plan_id, visit_id, carried_out, handed_over_on): the visit keeps its row
  and code in its own month; this links it to the plan that schedules and staffs it next
  (结转); handed_over_on is the day it had in the earlier month at the freeze (v2).

Revision ID: 0016_carry_over
Revises: 0015_plan_sizing
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_carry_over"
down_revision: str | None = "0015_plan_sizing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carried_visits",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("carried_out", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("handed_over_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_carried_visits_plan_id_plans")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visits.id"], name=op.f("fk_carried_visits_visit_id_visits")
        ),
        sa.PrimaryKeyConstraint("plan_id", "visit_id", name=op.f("pk_carried_visits")),
    )
    op.create_index(op.f("ix_carried_visits_visit_id"), "carried_visits", ["visit_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_carried_visits_visit_id"), table_name="carried_visits")
    op.drop_table("carried_visits")
