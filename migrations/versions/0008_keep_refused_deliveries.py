"""Keep refused deliveries for replay, warnings, and each webhook's duplicate window

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadpipe.storage.types import JSONType

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhooks",
        sa.Column(
            "duplicate_window_minutes", sa.Integer(), server_default=sa.text("60"), nullable=False
        ),
    )
    op.add_column("inbound_requests", sa.Column("warnings", JSONType, nullable=True))
    op.add_column("inbound_requests", sa.Column("raw_body", sa.LargeBinary(), nullable=True))
    op.add_column("inbound_requests", sa.Column("request_headers", JSONType, nullable=True))
    op.add_column("inbound_requests", sa.Column("replay_of", sa.Uuid(), nullable=True))
    op.add_column("inbound_requests", sa.Column("replayed_as", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_inbound_requests_webhook_status_created",
        "inbound_requests",
        ["webhook_id", "status", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_requests_webhook_status_created", table_name="inbound_requests")
    for column in ("replayed_as", "replay_of", "request_headers", "raw_body", "warnings"):
        op.drop_column("inbound_requests", column)
    op.drop_column("webhooks", "duplicate_window_minutes")
