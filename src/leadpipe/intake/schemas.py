"""What intake receives from the HTTP layer and what it answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

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


@dataclass(frozen=True, slots=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False


class IntakeDecision(BaseModel):
    rule: str
    reason: str


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
    processing_time: str
    request_id: str
