"""Keep only the start of a stranger's refused body, with its size and hash; keep a
provider's leads apart from the intake log, which is now pruned

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONDITION = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"


def upgrade() -> None:
    op.add_column("inbound_requests", sa.Column("body_size", sa.Integer(), nullable=True))
    op.add_column("inbound_requests", sa.Column("body_sha256", sa.String(64), nullable=True))
    op.add_column(
        "inbound_requests",
        sa.Column("body_truncated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_table(
        "provider_leads",
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_provider_leads_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider_id", "lead_id", name="pk_provider_leads"),
    )
    if op.get_bind().dialect.name == "postgresql":  # as migration 0003 for the others
        op.execute("ALTER TABLE provider_leads ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE provider_leads FORCE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY workspace_isolation ON provider_leads "
            f"USING ({CONDITION}) WITH CHECK ({CONDITION})"
        )


def downgrade() -> None:
    op.drop_table("provider_leads")
    op.drop_column("inbound_requests", "body_truncated")
    op.drop_column("inbound_requests", "body_sha256")
    op.drop_column("inbound_requests", "body_size")
