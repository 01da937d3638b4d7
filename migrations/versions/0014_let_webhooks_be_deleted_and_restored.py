"""Let webhooks be deleted softly: restorable for a day, then purged (their leads stay)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadpipe.storage.types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("webhooks", sa.Column("deleted_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("webhooks", "deleted_at")
