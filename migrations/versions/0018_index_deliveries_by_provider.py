"""Index the intake log by provider, for the leads each provider brought

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_inbound_requests_provider_lead"


def upgrade() -> None:
    # Partial: most deliveries come from no provider, and cost this index nothing.
    op.create_index(
        NAME,
        "inbound_requests",
        ["provider_id", "lead_action"],
        sqlite_where=sa.text("provider_id IS NOT NULL"),
        postgresql_where=sa.text("provider_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(NAME, table_name="inbound_requests")
