from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import Base

# Indexes that migrations keep outside the models, because they differ per backend: the
# value sort's (migration 0011), whose leads without a value come last, which PostgreSQL
# can read backwards off an index only if the index says NULLS FIRST (SQLite, which holds
# NULLs first anyway, rejects the words).
INDEXES_OUTSIDE_THE_MODELS = frozenset({"ix_leads_workspace_active_value"})


class Lead(Base):
    """One sales opportunity of a contact for one product (seed 000/001 lead columns)."""

    __tablename__ = "leads"
    __table_args__ = (
        # The intake decision: newest active lead of a contact for a product.
        Index("ix_leads_contact_product", "contact_id", "product_key", "created_at"),
        Index("ix_leads_workspace_created", "workspace_id", "created_at"),
        # The newest open leads; and a stage's newest leads (open or not) without a sort.
        Index("ix_leads_workspace_active", "workspace_id", "is_active", "created_at", "id"),
        Index("ix_leads_workspace_stage", "workspace_id", "stage", "created_at"),
        # The lead table's other sorts and filters, each with the id that breaks ties.
        Index("ix_leads_workspace_active_updated", "workspace_id", "is_active", "updated_at", "id"),
        Index("ix_leads_workspace_active_score", "workspace_id", "is_active", "lead_score", "id"),
        # is_active after the filtered column, never before it: leading with it, they misled
        # PostgreSQL's generic plan for the default list (migrations 0010 and 0013).
        Index("ix_leads_workspace_priority", "workspace_id", "priority", "is_active", "created_at"),
        Index(
            "ix_leads_workspace_temperature",
            "workspace_id",
            "temperature",
            "is_active",
            "created_at",
        ),
        Index(
            "ix_leads_workspace_assignee",
            "workspace_id",
            "assigned_user_id",
            "is_active",
            "created_at",
        ),
        Index(
            "ix_leads_workspace_active_activity", "workspace_id", "is_active", "last_activity_at"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    webhook_id: Mapped[str | None] = mapped_column(String(64))

    # Source attribution
    lead_source: Mapped[str | None] = mapped_column(String(255))
    sub_source: Mapped[str | None] = mapped_column(String(255))
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    utm_term: Mapped[str | None] = mapped_column(String(255))
    utm_content: Mapped[str | None] = mapped_column(String(255))
    landing_page_url: Mapped[str | None] = mapped_column(Text)
    conversion_event: Mapped[str | None] = mapped_column(String(255))
    campaign_id: Mapped[str | None] = mapped_column(String(255))

    # Business information
    product_interest: Mapped[str | None] = mapped_column(String(255))
    product_key: Mapped[str] = mapped_column(String(255), server_default=text("''"))
    lead_type: Mapped[str | None] = mapped_column(String(50))
    service_type: Mapped[str | None] = mapped_column(String(255))
    estimated_value: Mapped[Decimal | None]
    probability: Mapped[int] = mapped_column(server_default=text("0"))
    timeline: Mapped[str | None] = mapped_column(String(100))
    budget_range: Mapped[str | None] = mapped_column(String(100))

    # Lead management
    stage: Mapped[str] = mapped_column(String(100), server_default=text("'new'"))
    previous_stage: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(50), server_default=text("'medium'"))
    temperature: Mapped[str] = mapped_column(String(50), server_default=text("'warm'"))
    qualification_status: Mapped[str] = mapped_column(
        String(100), server_default=text("'unqualified'")
    )
    lead_score: Mapped[int] = mapped_column(server_default=text("0"))
    # Free text from providers and older leadpipes, kept and shown; a user of the
    # workspace is assigned by reference.
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    assigned_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    team_id: Mapped[str | None] = mapped_column(String(64))

    # Status tracking
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    is_converted: Mapped[bool] = mapped_column(server_default=text("false"))
    converted_at: Mapped[datetime | None]
    conversion_value: Mapped[Decimal | None]
    lost_reason: Mapped[str | None] = mapped_column(String(500))
    lost_at: Mapped[datetime | None]

    # Intake evidence
    initial_inquiry: Mapped[str | None] = mapped_column(Text)
    raw_payload: Mapped[dict[str, Any] | None] = mapped_column()
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    consent_description: Mapped[str | None] = mapped_column(Text)
    consent_value: Mapped[bool | None]
    tcpa_compliance: Mapped[bool | None]
    # TCPA consent as proven at intake: text, value, time, IP, user agent, page, and a
    # TrustedForm certificate or Jornaya lead id when sent.
    consent_proof: Mapped[dict[str, Any] | None] = mapped_column()

    # Activity tracking
    last_activity_at: Mapped[datetime | None]
    next_follow_up_at: Mapped[datetime | None]
    expected_close_date: Mapped[date | None]
    follow_up_count: Mapped[int] = mapped_column(server_default=text("0"))

    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LeadActivity(Base):
    """One entry on a lead's timeline."""

    __tablename__ = "lead_activities"
    __table_args__ = (Index("ix_lead_activities_lead_created", "lead_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    activity_type: Mapped[str] = mapped_column(String(100))
    activity_category: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    activity_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str | None] = mapped_column(String(50))
    scheduled_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    duration_minutes: Mapped[int | None]
    performed_by: Mapped[str | None] = mapped_column(String(64))
    is_automated: Mapped[bool] = mapped_column(server_default=text("false"))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime]


class LeadStatusHistory(Base):
    """Every stage change of a lead, who made it and why."""

    __tablename__ = "lead_status_history"
    __table_args__ = (Index("ix_lead_status_history_lead_created", "lead_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    old_stage: Mapped[str | None] = mapped_column(String(100))
    new_stage: Mapped[str] = mapped_column(String(100))
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_by_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime]


class LeadCount(Base):
    """How many leads, worth how much, a workspace has per stage, source, product and state.

    Kept by triggers on ``leads`` (migration 0005) in the same transaction as every insert,
    update and delete, whoever writes: totals, the pipeline overview and the inbound
    queue's metrics read a few hundred of these rows instead of counting 70,000 leads.
    A missing source or product is kept as ``''`` so that the key has no NULLs.
    """

    __tablename__ = "lead_counts"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(100), primary_key=True)
    lead_source: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_interest: Mapped[str] = mapped_column(String(255), primary_key=True)
    product_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    is_active: Mapped[bool] = mapped_column(primary_key=True)
    is_converted: Mapped[bool] = mapped_column(primary_key=True)
    lead_count: Mapped[int] = mapped_column(server_default=text("0"))
    value_total: Mapped[Decimal] = mapped_column(server_default=text("0"))


class LeadTag(Base):
    """One tag of one lead: ``leads.tags`` as rows, so that the table's tag filter reads
    an index instead of every lead's JSON (363 ms at 70,000 leads).

    Kept by triggers on ``leads`` (migration 0027) in the same transaction as every insert
    and every change of ``tags``, whoever writes; a lead's tags go with it (the reference
    cascades). Only the JSON's strings are tags, as the filter had it.
    """

    __tablename__ = "lead_tags"
    # The lead's tags replaced, its deletion cascaded: found by lead.
    __table_args__ = (Index("ix_lead_tags_lead_id", "lead_id"),)

    workspace_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Text: a tag longer than the API allows (a stored payload's) must not fail its write.
    tag: Mapped[str] = mapped_column(Text, primary_key=True)
    lead_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
