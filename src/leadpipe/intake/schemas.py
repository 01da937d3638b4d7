"""What intake receives from the HTTP layer and what it answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from leadpipe.errors import LeadpipeError


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST to a webhook, read and parsed (or refused) by the endpoint."""

    webhook_id: str
    payload: dict[str, Any] | None
    problem: LeadpipeError | None
    workspace_header: str | None
    delivery_key: str | None
    content_type: str | None
    ip_address: str | None
    user_agent: str | None
    request_id: str
    started: float
    # As received, kept with a refusal so that it can be seen and replayed.
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    replay_of: uuid.UUID | None = None  # the refused delivery this one replays


@dataclass(frozen=True, slots=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


class IntakeDecision(BaseModel):
    rule: str
    reason: str


class FieldWarning(BaseModel):
    field: str
    message: str


class IntakeResponse(BaseModel):
    """The documented success body of ``POST /webhooks/{webhook_id}``."""

    success: Literal[True]
    message: str
    webhook_id: str
    contact_id: str
    lead_id: str | None
    is_new_contact: bool
    match_type: Literal["crm_id", "phone", "email", "new"]
    lead_action: Literal["created", "updated", "none"]
    decision: IntakeDecision
    warnings: list[FieldWarning] = Field(
        default_factory=list,
        description="Optional values that could not be read as their fields: each was kept "
        "as sent in the contact's custom_fields.",
    )
    processing_time: str
    request_id: str
