"""Add lead providers and their usage, webhook signatures, limits and presets

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from leadpipe.storage.types import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ISOLATED = ("providers", "provider_usage")  # as migration 0003 for the others


def upgrade() -> None:
    op.create_table(
        "providers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("company", sa.String(200), nullable=True),
        sa.Column("contact_name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("allowed_webhooks", JSON, nullable=True),
        sa.Column("hourly_limit", sa.Integer(), server_default=sa.text("1000"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_providers_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_providers"),
        sa.UniqueConstraint("key_hash", name="uq_providers_key_hash"),
    )
    op.create_index("ix_providers_workspace_id", "providers", ["workspace_id"])
    op.create_table(
        "provider_usage",
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("webhook_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("request_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("accepted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("refused", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name="fk_provider_usage_provider_id_providers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_provider_usage_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider_id", "webhook_id", "day", name="pk_provider_usage"),
    )
    webhook_columns = [
        sa.Column(
            "provider_required", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("signature_mode", sa.String(10), server_default=sa.text("'off'"), nullable=False),
        sa.Column("secrets", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=True),
        sa.Column("rate_window_seconds", sa.Integer(), nullable=True),
        sa.Column("preset", sa.String(30), server_default=sa.text("'generic'"), nullable=False),
        sa.Column("preset_settings", JSON, server_default=sa.text("'{}'"), nullable=False),
    ]
    for column in webhook_columns:
        op.add_column("webhooks", column)
    op.add_column("webhook_deliveries", sa.Column("signed_at", sa.BigInteger(), nullable=True))
    op.add_column("inbound_requests", sa.Column("provider_id", sa.String(64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        condition = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"
        for table in ISOLATED:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY workspace_isolation ON {table} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )


def downgrade() -> None:
    op.drop_column("inbound_requests", "provider_id")
    op.drop_column("webhook_deliveries", "signed_at")
    for name in (
        "preset_settings",
        "preset",
        "rate_window_seconds",
        "rate_limit",
        "secrets",
        "signature_mode",
        "provider_required",
    ):
        op.drop_column("webhooks", name)
    op.drop_table("provider_usage")
    op.drop_index("ix_providers_workspace_id", table_name="providers")
    op.drop_table("providers")
