"""Index the lead table's other sorts (last update, value, score) and filters (priority,
temperature), so that each answers from an index on a large workspace

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A sorted list is filtered by workspace and (by default) is_active, then ordered by its
# sort and the id that breaks ties: the index holds them in that order, so a page is read
# off it, without sorting the workspace's leads. A filtered one is read newest first, as a
# stage's is. The filter indexes leave is_active out on purpose: holding it (and the id)
# they would cover the default list too, and PostgreSQL's generic plan, which cannot see
# how large a workspace is, took them for it and sorted the whole workspace (20 ms).
INDEXES = {
    "ix_leads_workspace_active_updated": ["workspace_id", "is_active", "updated_at", "id"],
    "ix_leads_workspace_active_value": ["workspace_id", "is_active", "estimated_value", "id"],
    "ix_leads_workspace_active_score": ["workspace_id", "is_active", "lead_score", "id"],
    "ix_leads_workspace_priority": ["workspace_id", "priority", "created_at"],
    "ix_leads_workspace_temperature": ["workspace_id", "temperature", "created_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "leads", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="leads")
