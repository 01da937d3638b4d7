from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import Base

# Indexes that migrations keep outside the models, because they differ per backend:
# the name search index of migration 0006 (an expression index on SQLite, a trigram index
# on PostgreSQL).
INDEXES_OUTSIDE_THE_MODELS = frozenset({"ix_contacts_name_search"})


class Contact(Base):
    """A person, unique per (workspace, identity scope) by CRM id, E.164 phone and email.

    ``identity_scope`` is ``''`` for workspace-wide dedup (the default) or a webhook id for
    webhooks that dedupe on their own (seed 002's ``UNIQUE(webhook_id, phone)``).
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("workspace_id", "identity_scope", "crm_id"),
        UniqueConstraint("workspace_id", "identity_scope", "phone_number"),
        UniqueConstraint("workspace_id", "identity_scope", "email"),
        # Searches across identity scopes use these too (``in_any_identity_scope``).
        Index("ix_contacts_workspace_created", "workspace_id", "created_at"),
        # A search by a phone's last digits is a prefix of its reversed digits (migration 0025).
        Index("ix_contacts_workspace_phone_reversed", "workspace_id", "phone_reversed"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    identity_scope: Mapped[str] = mapped_column(String(64), server_default=text("''"))
    crm_id: Mapped[str | None] = mapped_column(String(255))
    firstname: Mapped[str | None] = mapped_column(String(255))
    lastname: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    # ``phone_number``'s digits back to front (``rules.reversed_digits``), written with it.
    phone_reversed: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(500))
    address2: Mapped[str | None] = mapped_column(String(500))
    city: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str | None] = mapped_column(String(100))
    zip_code: Mapped[str | None] = mapped_column(String(20))
    lead_source: Mapped[str | None] = mapped_column(String(255))
    sub_source: Mapped[str | None] = mapped_column(String(255))
    notes: Mapped[str | None] = mapped_column(Text)
    webhook_id: Mapped[str | None] = mapped_column(String(64))
    webhook_name: Mapped[str | None] = mapped_column(String(200))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
