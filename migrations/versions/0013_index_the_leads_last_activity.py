"""Give every lead a last activity and index it; let the filter indexes count open leads

A lead's creation is its first activity: leads without one (imports) get their creation
time, so that the filter compares one indexed column. The priority, temperature and
assignee indexes get ``is_active`` after their own column: the lead table counts the open
leads of such a filter from the index alone, and reads their newest in index order. (Not
before it: leading with ``is_active`` misled PostgreSQL's generic plan for the default
list, migration 0010.) The newest open leads' index gets the id that breaks ties, as the
other sort indexes have: a deep page is skipped to in the index alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FILTERED = {
    "ix_leads_workspace_priority": "priority",
    "ix_leads_workspace_temperature": "temperature",
    "ix_leads_workspace_assignee": "assigned_user_id",
}


def upgrade() -> None:
    op.execute("UPDATE leads SET last_activity_at = created_at WHERE last_activity_at IS NULL")
    op.create_index(
        "ix_leads_workspace_active_activity",
        "leads",
        ["workspace_id", "is_active", "last_activity_at"],
    )
    for name, column in FILTERED.items():
        op.drop_index(name, table_name="leads")
        op.create_index(name, "leads", ["workspace_id", column, "is_active", "created_at"])
    op.drop_index("ix_leads_workspace_active", table_name="leads")
    op.create_index(
        "ix_leads_workspace_active", "leads", ["workspace_id", "is_active", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_leads_workspace_active", table_name="leads")
    op.create_index(
        "ix_leads_workspace_active", "leads", ["workspace_id", "is_active", "created_at"]
    )
    for name, column in FILTERED.items():
        op.drop_index(name, table_name="leads")
        op.create_index(name, "leads", ["workspace_id", column, "created_at"])
    op.drop_index("ix_leads_workspace_active_activity", table_name="leads")
