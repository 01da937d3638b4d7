"""Add dashboard sessions and saved views, and assign leads to users of their workspace

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadpipe.storage.types import UTCDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=True),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_sessions_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_sessions_workspace_id_workspaces",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_sessions"),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_saved_views_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_saved_views_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        sa.UniqueConstraint(
            "workspace_id", "user_id", "name", name="uq_saved_views_workspace_id_user_id_name"
        ),
    )
    if op.get_bind().dialect.name == "postgresql":  # as migration 0003 for the others
        condition = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"
        op.execute("ALTER TABLE saved_views ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE saved_views FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY workspace_isolation ON saved_views "
            f"USING ({condition}) WITH CHECK ({condition})"
        )
    # Added in place, not by copying the table: SQLite would drop the lead_counts
    # triggers with the old table (and its ALTER takes a reference only inline).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE leads ADD COLUMN assigned_user_id CHAR(32) "
            "CONSTRAINT fk_leads_assigned_user_id_users "
            "REFERENCES users (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("leads", sa.Column("assigned_user_id", sa.Uuid(), nullable=True))
        op.create_foreign_key(
            "fk_leads_assigned_user_id_users",
            "leads",
            "users",
            ["assigned_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_leads_workspace_assignee",
        "leads",
        ["workspace_id", "assigned_user_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_leads_workspace_assignee", table_name="leads")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_leads_assigned_user_id_users", "leads", type_="foreignkey")
    op.drop_column("leads", "assigned_user_id")
    op.drop_table("saved_views")
    op.drop_index("ix_sessions_expires_at", table_name="sessions")
    op.drop_index("ix_sessions_user_id", table_name="sessions")
    op.drop_table("sessions")
