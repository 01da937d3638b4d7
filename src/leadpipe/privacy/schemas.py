"""A person's export and erasure, as the API answers them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from leadpipe.contact_api.schemas import ContactDeleted


class PersonExport(BaseModel):
    """Everything leadpipe holds about one person, as stored."""

    exported_at: datetime
    # Every column of the contact, its custom fields included.
    contact: dict[str, Any]
    # Every lead (with its consent proof and raw payload), each with its ``activities``
    # and ``stage_history``.
    leads: list[dict[str, Any]]
    # The intake log's entries that made or touched the person; a refused delivery's
    # ``body`` as text.
    intake_log: list[dict[str, Any]]
    intake_log_found_by: str


class ErasureCounts(BaseModel):
    leads_deleted: int
    activities_deleted: int
    stage_changes_deleted: int
    log_entries_redacted: int
    values_redacted: int


class ContactRemoved(ContactDeleted):
    """A deleted contact; with ``erase=true`` also what the erasure redacted, and its
    audit entry."""

    erased: bool = False
    audit_id: uuid.UUID | None = None
    counts: ErasureCounts | None = None
