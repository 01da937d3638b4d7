"""Keep tasks (a lead's next steps, due at a time, for a user) and each lead's expected
close date

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadpipe.storage.types import UTCDateTime

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("expected_close_date", sa.Date(), nullable=True))
    op.create_table(
        "lead_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_by_name", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_lead_tasks_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name="fk_lead_tasks_lead_id_leads", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name="fk_lead_tasks_assignee_id_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_lead_tasks"),
    )
    op.create_index(
        "ix_lead_tasks_workspace_assignee_due",
        "lead_tasks",
        ["workspace_id", "assignee_id", "due_at"],
    )
    op.create_index("ix_lead_tasks_lead_due", "lead_tasks", ["lead_id", "due_at"])
    if op.get_bind().dialect.name == "postgresql":  # as migration 0003 for the others
        condition = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"
        op.execute("ALTER TABLE lead_tasks ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE lead_tasks FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY workspace_isolation ON lead_tasks "
            f"USING ({condition}) WITH CHECK ({condition})"
        )


def downgrade() -> None:
    op.drop_table("lead_tasks")
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("expected_close_date")
