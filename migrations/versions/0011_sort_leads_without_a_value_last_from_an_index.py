"""Sort leads by value with the ones without a value last, from an index on both backends

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

from leadpipe.storage.dialect import puts_nulls_last_in_ascending_indexes

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_leads_workspace_active_value"


def upgrade() -> None:
    # The lead list sorts by value DESC NULLS LAST, id DESC: read backwards, this index
    # gives exactly that order on PostgreSQL too.
    op.drop_index(NAME, table_name="leads")
    if puts_nulls_last_in_ascending_indexes(op.get_bind()):
        op.execute(
            f"CREATE INDEX {NAME} ON leads "
            "(workspace_id, is_active, estimated_value NULLS FIRST, id)"
        )
    else:
        op.create_index(NAME, "leads", ["workspace_id", "is_active", "estimated_value", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="leads")
    op.create_index(NAME, "leads", ["workspace_id", "is_active", "estimated_value", "id"])
