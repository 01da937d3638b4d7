"""Create the intake schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 02:12:38.852665
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import leadpipe.storage.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "default_region", sa.String(length=2), server_default=sa.text("'US'"), nullable=False
        ),
        sa.Column("lead_window_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column(
            "settings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_keys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column(
            "identity_scope", sa.String(length=64), server_default=sa.text("''"), nullable=False
        ),
        sa.Column("crm_id", sa.String(length=255), nullable=True),
        sa.Column("firstname", sa.String(length=255), nullable=True),
        sa.Column("lastname", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone_number", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("address2", sa.String(length=500), nullable=True),
        sa.Column("city", sa.String(length=255), nullable=True),
        sa.Column("state", sa.String(length=100), nullable=True),
        sa.Column("zip_code", sa.String(length=20), nullable=True),
        sa.Column("lead_source", sa.String(length=255), nullable=True),
        sa.Column("sub_source", sa.String(length=255), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("webhook_id", sa.String(length=64), nullable=True),
        sa.Column("webhook_name", sa.String(length=200), nullable=True),
        sa.Column(
            "custom_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contacts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint(
            "workspace_id",
            "identity_scope",
            "crm_id",
            name=op.f("uq_contacts_workspace_id_identity_scope_crm_id"),
        ),
        sa.UniqueConstraint(
            "workspace_id",
            "identity_scope",
            "email",
            name=op.f("uq_contacts_workspace_id_identity_scope_email"),
        ),
        sa.UniqueConstraint(
            "workspace_id",
            "identity_scope",
            "phone_number",
            name=op.f("uq_contacts_workspace_id_identity_scope_phone_number"),
        ),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_workspace_created", ["workspace_id", "created_at"], unique=False
        )

    op.create_table(
        "lead_pipeline_stages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("stage_name", sa.String(length=100), nullable=False),
        sa.Column("stage_slug", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column(
            "color", sa.String(length=7), server_default=sa.text("'#3182CE'"), nullable=False
        ),
        sa.Column("stage_order", sa.Integer(), nullable=False),
        sa.Column(
            "conversion_probability", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_pipeline_stages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_pipeline_stages")),
        sa.UniqueConstraint(
            "workspace_id",
            "stage_slug",
            name=op.f("uq_lead_pipeline_stages_workspace_id_stage_slug"),
        ),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("lead_type", sa.String(length=50), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "field_mapping",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("require_phone", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "always_create_lead", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "dedup_scope",
            sa.String(length=20),
            server_default=sa.text("'workspace'"),
            nullable=False,
        ),
        sa.Column("default_source", sa.String(length=255), nullable=True),
        sa.Column("total_leads", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_lead_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_webhooks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhooks_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "inbound_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=50), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("delivery_key", sa.String(length=255), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("lead_id", sa.Uuid(), nullable=True),
        sa.Column("match_type", sa.String(length=20), nullable=True),
        sa.Column("lead_action", sa.String(length=20), nullable=True),
        sa.Column("decision_rule", sa.String(length=50), nullable=True),
        sa.Column("processing_ms", sa.Double(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_inbound_requests_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbound_requests_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_requests")),
    )
    with op.batch_alter_table("inbound_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_requests_webhook_created", ["webhook_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_inbound_requests_workspace_created", ["workspace_id", "created_at"], unique=False
        )

    op.create_table(
        "leads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("webhook_id", sa.String(length=64), nullable=True),
        sa.Column("lead_source", sa.String(length=255), nullable=True),
        sa.Column("sub_source", sa.String(length=255), nullable=True),
        sa.Column("utm_source", sa.String(length=255), nullable=True),
        sa.Column("utm_medium", sa.String(length=255), nullable=True),
        sa.Column("utm_campaign", sa.String(length=255), nullable=True),
        sa.Column("utm_term", sa.String(length=255), nullable=True),
        sa.Column("utm_content", sa.String(length=255), nullable=True),
        sa.Column("landing_page_url", sa.Text(), nullable=True),
        sa.Column("conversion_event", sa.String(length=255), nullable=True),
        sa.Column("campaign_id", sa.String(length=255), nullable=True),
        sa.Column("product_interest", sa.String(length=255), nullable=True),
        sa.Column(
            "product_key", sa.String(length=255), server_default=sa.text("''"), nullable=False
        ),
        sa.Column("lead_type", sa.String(length=50), nullable=True),
        sa.Column("service_type", sa.String(length=255), nullable=True),
        sa.Column("estimated_value", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("probability", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("timeline", sa.String(length=100), nullable=True),
        sa.Column("budget_range", sa.String(length=100), nullable=True),
        sa.Column("stage", sa.String(length=100), server_default=sa.text("'new'"), nullable=False),
        sa.Column("previous_stage", sa.String(length=100), nullable=True),
        sa.Column(
            "priority", sa.String(length=50), server_default=sa.text("'medium'"), nullable=False
        ),
        sa.Column(
            "temperature", sa.String(length=50), server_default=sa.text("'warm'"), nullable=False
        ),
        sa.Column(
            "qualification_status",
            sa.String(length=100),
            server_default=sa.text("'unqualified'"),
            nullable=False,
        ),
        sa.Column("lead_score", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("assigned_to", sa.String(length=64), nullable=True),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_converted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("converted_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("conversion_value", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("lost_reason", sa.String(length=500), nullable=True),
        sa.Column("lost_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("initial_inquiry", sa.Text(), nullable=True),
        sa.Column(
            "raw_payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("consent_description", sa.Text(), nullable=True),
        sa.Column("consent_value", sa.Boolean(), nullable=True),
        sa.Column("tcpa_compliance", sa.Boolean(), nullable=True),
        sa.Column(
            "last_activity_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "next_follow_up_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("follow_up_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "custom_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_leads_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_leads_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_contact_product", ["contact_id", "product_key", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_leads_workspace_created", ["workspace_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_leads_workspace_stage", ["workspace_id", "stage", "created_at"], unique=False
        )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("webhook_id", sa.String(length=64), nullable=False),
        sa.Column("delivery_key", sa.String(length=255), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "webhook_id", "delivery_key", name=op.f("uq_webhook_deliveries_webhook_id_delivery_key")
        ),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_deliveries_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "lead_activities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("activity_type", sa.String(length=100), nullable=False),
        sa.Column("activity_category", sa.String(length=100), nullable=True),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "activity_data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.Column("priority", sa.String(length=50), nullable=True),
        sa.Column("scheduled_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("performed_by", sa.String(length=64), nullable=True),
        sa.Column("is_automated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_activities_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_activities_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_activities")),
    )
    with op.batch_alter_table("lead_activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_activities_lead_created", ["lead_id", "created_at"], unique=False
        )

    op.create_table(
        "lead_status_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("old_stage", sa.String(length=100), nullable=True),
        sa.Column("new_stage", sa.String(length=100), nullable=False),
        sa.Column("changed_by", sa.String(length=64), nullable=True),
        sa.Column("changed_by_name", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", leadpipe.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_status_history_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_status_history_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_status_history")),
    )
    with op.batch_alter_table("lead_status_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_status_history_lead_created", ["lead_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("lead_status_history", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_status_history_lead_created")

    op.drop_table("lead_status_history")
    with op.batch_alter_table("lead_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_activities_lead_created")

    op.drop_table("lead_activities")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_created_at"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_workspace_stage")
        batch_op.drop_index("ix_leads_workspace_created")
        batch_op.drop_index("ix_leads_contact_product")

    op.drop_table("leads")
    with op.batch_alter_table("inbound_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_requests_workspace_created")
        batch_op.drop_index("ix_inbound_requests_webhook_created")

    op.drop_table("inbound_requests")
    with op.batch_alter_table("webhooks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhooks_workspace_id"))

    op.drop_table("webhooks")
    op.drop_table("lead_pipeline_stages")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_workspace_created")

    op.drop_table("contacts")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_workspace_id"))

    op.drop_table("api_keys")
    op.drop_table("workspaces")
