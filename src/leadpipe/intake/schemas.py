"""What intake receives from the HTTP layer and what it answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from leadpipe.errors import LeadpipeError
from leadpipe.realtime.events import Event


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
    # About the body's own values: numbers kept as the text sent (intake/parsing.py).
    warnings: tuple[dict[str, Any], ...] = ()
    # Sent by an administrator (a replay, a dry run): no credential, signature or limit.
    from_admin: bool = False


@dataclass(frozen=True, slots=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    # Where a browser that posted a form goes next (the html_form preset's thank-you page).
    redirect: str | None = None
    # What watchers of the workspace are told once the delivery has committed.
    news: tuple[Event, ...] = ()


class IntakeDecision(BaseModel):
    rule: str
    reason: str


class FieldWarning(BaseModel):
    field: str
    message: str


class DuplicateOf(BaseModel):
    request_id: str | None = Field(description="The earlier delivery's request id.")
    received_at: str = Field(description="When the earlier delivery was received (UTC).")
    message: str | None = Field(description="What the earlier delivery was answered.")


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
    rule_applied: str | None = Field(
        default=None, description="The webhook's intake rule that set the new lead, if any."
    )
    warnings: list[FieldWarning] = Field(
        default_factory=list,
        description="Optional values that could not be read as their fields: each was kept "
        "as sent in the contact's custom_fields.",
    )
    duplicate: bool = Field(
        default=False,
        description="The delivery repeats an earlier one (the same delivery id, or an "
        "identical body within the webhook's duplicate window): nothing new was written, "
        "and the ids and decision are the earlier delivery's.",
    )
    duplicate_of: DuplicateOf | None = Field(
        default=None, description="The earlier delivery, when this one is a duplicate."
    )
    processing_time: str
    request_id: str


class ProcessingTimes(BaseModel):
    p50: float | None
    p95: float | None
    p99: float | None


class PeriodStats(BaseModel):
    deliveries: int
    success: int
    error: int
    duplicate: int
    success_rate: float = Field(description="Percent of the period's deliveries.")
    error_rate: float
    duplicate_rate: float
    processing_ms: ProcessingTimes = Field(
        description="Of the period's latest 5,000 deliveries, in milliseconds."
    )


class WebhookStats(BaseModel):
    webhook_id: str
    total_leads: int
    last_lead_at: datetime | None
    periods: dict[Literal["24h", "7d", "30d"], PeriodStats]


DeliveryStatus = Literal["success", "error", "duplicate", "test"]


class DeliveryOut(BaseModel):
    """One delivery to a webhook as the intake log has it."""

    id: uuid.UUID
    webhook_id: str
    request_id: str
    status: DeliveryStatus
    http_status: int
    error_code: str | None
    error_reason: str | None = Field(
        default=None, description="Why it was refused, as a stable code (docs/operations.md)."
    )
    error_message: str | None
    warnings: list[FieldWarning] | None
    delivery_key: str | None
    contact_id: uuid.UUID | None
    lead_id: uuid.UUID | None
    match_type: str | None
    lead_action: str | None
    decision_rule: str | None
    processing_ms: float
    content_type: str | None
    ip_address: str | None
    user_agent: str | None
    has_body: bool = Field(description="Whether the body was kept: refusals keep theirs.")
    body_size: int | None = Field(default=None, description="A refused body's size in bytes.")
    body_sha256: str | None = Field(default=None, description="A refused body's SHA-256 (hex).")
    body_truncated: bool = Field(
        default=False,
        description="Whether only the body's start was kept (a sender refused before it "
        "proved who it was); such a delivery cannot be replayed.",
    )
    replay_of: uuid.UUID | None = Field(description="The refused delivery this one replayed.")
    replayed_as: uuid.UUID | None = Field(description="The replay that took this delivery.")
    created_at: datetime


class DeliveryDetail(DeliveryOut):
    body: str | None = Field(description="The body as it came (refusals only), as text.")
    headers: dict[str, str] | None = Field(
        description="Its headers, with credentials and signatures redacted."
    )


class ReplayOut(BaseModel):
    delivery_id: uuid.UUID
    replayed_as: uuid.UUID | None = Field(description="The delivery log entry of the replay.")
    http_status: int = Field(description="What intake answered the replay.")
    response: dict[str, Any] = Field(
        description="Intake's answer: its success body, or the error envelope."
    )


class DryRunContact(BaseModel):
    match_type: str = Field(description="crm_id, phone, email or new.")
    contact_id: str | None = Field(description="The contact it would update; null: a new one.")
    candidates: int = Field(description="Contacts holding any of its identities.")


class DryRunLead(BaseModel):
    action: str = Field(description="created, updated or none.")
    rule: str = Field(description="The decision matrix's rule that fired.")
    reason: str
    lead_id: str | None = Field(description="The lead it would update.")


class DryRunOut(BaseModel):
    """What intake would do with the payload; nothing was written."""

    accepted: bool
    http_status: int = Field(description="What the sender would be answered.")
    test: bool = Field(default=False, description="A sender's test lead: logged, not stored.")
    fields: dict[str, Any] | None = Field(default=None, description="The mapped fields.")
    custom_fields: dict[str, Any] | None = Field(
        default=None, description="What would be kept as sent with the contact."
    )
    vertical_fields: dict[str, Any] | None = Field(
        default=None, description="The lead type's fields, typed, as the lead would hold them."
    )
    consent_proof: dict[str, Any] | None = None
    warnings: list[FieldWarning] | None = None
    contact: DryRunContact | None = None
    lead: DryRunLead | None = None
    refusal: dict[str, Any] | None = Field(
        default=None, description="The error envelope it would be answered with."
    )
