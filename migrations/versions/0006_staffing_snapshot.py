"""staffing snapshot: the second random made verifiable (ie-teams-v1)

- plans: staffing_hash and contribution_source (published with the commitment), and
  nonce_sealed (the nonce encrypted under a key from the settings until the draw);
- staffing_snapshots: the canonical text of everything the team draw reads, frozen with
  the frames;
- team_events: changes to the staffing after the freeze, hash-chained per plan;
- assignment_runs.label becomes text (it may hold a long reason).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plans") as batch:
        batch.add_column(sa.Column("nonce_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("staffing_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("contribution_source", sa.Text(), nullable=True))
    with op.batch_alter_table("assignment_runs") as batch:
        batch.alter_column(
            "label", existing_type=sa.String(length=64), type_=sa.Text(), existing_nullable=False
        )
    op.create_table(
        "staffing_snapshots",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("staffing_hash", sa.String(length=64), nullable=False),
        sa.Column("text_gz", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_staffing_snapshots_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_staffing_snapshots")),
    )
    op.create_table(
        "team_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["plans.id"], name=op.f("fk_team_events_plan_id_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_events")),
        sa.UniqueConstraint("plan_id", "seq", name=op.f("uq_team_events_plan_id_seq")),
    )
    op.create_index(op.f("ix_team_events_plan_id"), "team_events", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_team_events_plan_id"), table_name="team_events")
    op.drop_table("team_events")
    op.drop_table("staffing_snapshots")
    with op.batch_alter_table("assignment_runs") as batch:
        batch.alter_column(
            "label", existing_type=sa.Text(), type_=sa.String(length=64), existing_nullable=False
        )
    with op.batch_alter_table("plans") as batch:
        batch.drop_column("contribution_source")
        batch.drop_column("staffing_hash")
        batch.drop_column("nonce_sealed")
