"""Keep why a delivery was refused as a stable reason code beside its message

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbound_requests", sa.Column("error_reason", sa.String(50), nullable=True))


def downgrade() -> None:
    op.drop_column("inbound_requests", "error_reason")
