from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import Base


class Webhook(Base):
    """An intake endpoint owned by one workspace: ``POST /webhooks/{id}``."""

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    lead_type: Mapped[str | None] = mapped_column(String(50))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    field_mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    require_phone: Mapped[bool] = mapped_column(server_default=text("false"))
    # Fields a delivery must carry besides an identity (zip_code, product, ...).
    required_fields: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    always_create_lead: Mapped[bool] = mapped_column(server_default=text("false"))
    dedup_scope: Mapped[str] = mapped_column(String(20), server_default=text("'workspace'"))
    default_source: Mapped[str | None] = mapped_column(String(255))
    # An identical body posted again within this many minutes is the same delivery (0: off).
    duplicate_window_minutes: Mapped[int] = mapped_column(server_default=text("60"))
    total_leads: Mapped[int] = mapped_column(server_default=text("0"))
    last_lead_at: Mapped[datetime | None]
    # Deleted softly: inactive, restorable until a day later, then purged.
    deleted_at: Mapped[datetime | None]
    # Who may deliver: a provider's credential when required; signatures off, optional
    # (verified when sent) or required, with the secrets that verify them.
    provider_required: Mapped[bool] = mapped_column(server_default=text("false"))
    signature_mode: Mapped[str] = mapped_column(String(10), server_default=text("'off'"))
    secrets: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    # Deliveries per window, when set (off by default).
    rate_limit: Mapped[int | None]
    rate_window_seconds: Mapped[int | None]
    # The kind of sender it is set up for (generic, facebook, google, typeform, ...) and
    # what that kind needs (verify token, page token, Google key, thank-you page).
    # Seed kin §5: conditions and actions for new leads, and the stage of a new contact's.
    intake_rules: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    default_status: Mapped[str | None] = mapped_column(String(100))
    preset: Mapped[str] = mapped_column(String(30), server_default=text("'generic'"))
    preset_settings: Mapped[dict[str, Any]] = mapped_column(
        default=dict, server_default=text("'{}'")
    )
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """A provider's delivery id seen on a webhook, with the response we gave (idempotency)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "delivery_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    delivery_key: Mapped[str] = mapped_column(String(255))
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column()
    # A signed delivery's webhook-timestamp: the same id and time again is a replay.
    signed_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(index=True)


class InboundRequest(Base):
    """The intake log: one row per delivery to a known webhook, whatever its outcome."""

    __tablename__ = "inbound_requests"
    __table_args__ = (
        Index("ix_inbound_requests_webhook_created", "webhook_id", "created_at"),
        Index("ix_inbound_requests_workspace_created", "workspace_id", "created_at"),
        Index("ix_inbound_requests_webhook_status_created", "webhook_id", "status", "created_at"),
        Index(
            "ix_inbound_requests_provider_lead",
            "provider_id",
            "lead_action",
            sqlite_where=text("provider_id IS NOT NULL"),
            postgresql_where=text("provider_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    request_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # success | error | duplicate
    http_status: Mapped[int]
    error_code: Mapped[str | None] = mapped_column(String(50))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_reason: Mapped[str | None] = mapped_column(String(50))  # a stable code: why refused
    delivery_key: Mapped[str | None] = mapped_column(String(255))
    contact_id: Mapped[uuid.UUID | None]
    lead_id: Mapped[uuid.UUID | None]
    match_type: Mapped[str | None] = mapped_column(String(20))
    lead_action: Mapped[str | None] = mapped_column(String(20))
    decision_rule: Mapped[str | None] = mapped_column(String(50))
    processing_ms: Mapped[float]
    content_type: Mapped[str | None] = mapped_column(String(255))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    # Optional values kept as sent in custom_fields instead of their fields.
    warnings: Mapped[list[Any] | None] = mapped_column()
    # A refused delivery as it came, so that it can be seen and replayed: its body, and
    # its headers with credentials and signatures redacted.
    raw_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    request_headers: Mapped[dict[str, Any] | None] = mapped_column()
    # A refused body's size and SHA-256; truncated when only its start was kept (a
    # refusal of a sender that proved nothing), which then cannot be replayed.
    body_size: Mapped[int | None]
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    body_truncated: Mapped[bool] = mapped_column(server_default=text("false"))
    replay_of: Mapped[uuid.UUID | None]  # the refused delivery this one replayed
    replayed_as: Mapped[uuid.UUID | None]  # the replay that took this refused delivery
    provider_id: Mapped[str | None] = mapped_column(String(64))  # who sent it, when known
    created_at: Mapped[datetime]


class ProviderLead(Base):
    """A lead a provider's delivery created, kept when the intake log prunes that
    delivery: a provider's leads and their conversions count from the log and these."""

    __tablename__ = "provider_leads"

    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))


class Provider(Base):
    """A lead provider (seed 002's lead_source_providers): who sends leads to a
    workspace's webhooks, authenticated by a credential of which only the hash is kept."""

    __tablename__ = "providers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    # Webhook ids it may deliver to; null: every webhook of its workspace.
    allowed_webhooks: Mapped[list[Any] | None] = mapped_column()
    hourly_limit: Mapped[int] = mapped_column(server_default=text("1000"))
    notes: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ProviderUsage(Base):
    """Deliveries per (provider, webhook, day) by outcome (seed 002's provider_usage_log),
    counted in each delivery's own transaction."""

    __tablename__ = "provider_usage"

    provider_id: Mapped[str] = mapped_column(
        ForeignKey("providers.id", ondelete="CASCADE"), primary_key=True
    )
    webhook_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    request_count: Mapped[int] = mapped_column(server_default=text("0"))
    accepted: Mapped[int] = mapped_column(server_default=text("0"))
    refused: Mapped[int] = mapped_column(server_default=text("0"))
    duplicates: Mapped[int] = mapped_column(server_default=text("0"))
