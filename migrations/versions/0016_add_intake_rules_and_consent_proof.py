"""Add intake rules and a default status per webhook, and consent proof per lead

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column(
        "webhooks", sa.Column("intake_rules", JSON, server_default=sa.text("'[]'"), nullable=False)
    )
    op.add_column("webhooks", sa.Column("default_status", sa.String(100), nullable=True))
    # In place, not by copying: SQLite would drop the lead_counts triggers with the table.
    op.add_column("leads", sa.Column("consent_proof", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("leads", "consent_proof")
    op.drop_column("webhooks", "default_status")
    op.drop_column("webhooks", "intake_rules")
