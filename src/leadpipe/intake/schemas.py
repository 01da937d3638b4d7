"""What intake receives from the HTTP layer and what it answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadpipe.errors import LeadpipeError
from leadpipe.kit.bodies import ApiBody, settable
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


@dataclass(frozen=True, slots=True)
class IntakeResult:
    status_code: int
    body: dict[str, Any]
    replayed: bool = False
    # What watchers of the workspace are told once the delivery has committed.
    news: tuple[Event, ...] = ()


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


class WebhookOut(BaseModel):
    """A webhook's settings and counters."""

    id: str
    workspace_id: str
    url_path: str = Field(description="Where providers POST: prefix it with your public URL.")
    name: str
    description: str | None
    lead_type: str | None
    is_active: bool
    field_mapping: dict[str, Any]
    require_phone: bool
    always_create_lead: bool
    dedup_scope: Literal["workspace", "webhook"]
    default_source: str | None
    duplicate_window_minutes: int
    total_leads: int
    last_lead_at: datetime | None
    deleted_at: datetime | None = Field(
        default=None, description="Set while deleted: restorable for 24 hours after it."
    )
    created_at: datetime
    updated_at: datetime


class WebhookCreate(ApiBody):
    """A new webhook of the key's workspace; its URL is ``/webhooks/{id}``."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "Facebook solar form",
                "lead_type": "solar",
                "default_source": "Facebook Ads",
                "field_mapping": {"field_data[name=email].values[0]": "email"},
            }
        },
    )

    name: str = Field(min_length=1, max_length=200)
    id: str | None = Field(
        default=None,
        min_length=3,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Generated (wh_...) when omitted.",
    )
    description: str | None = Field(default=None, max_length=2_000)
    lead_type: str | None = Field(default=None, max_length=50)
    field_mapping: dict[str, str] = Field(default_factory=dict)
    require_phone: bool = False
    always_create_lead: bool = False
    dedup_scope: Literal["workspace", "webhook"] = "workspace"
    default_source: str | None = Field(default=None, max_length=255)
    duplicate_window_minutes: int = Field(default=60, ge=0, le=24 * 60)


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
    processing_ms: ProcessingTimes


class WebhookStats(BaseModel):
    webhook_id: str
    total_leads: int
    last_lead_at: datetime | None
    periods: dict[Literal["24h", "7d", "30d"], PeriodStats]


class WebhookStatus(ApiBody):
    """Whether the webhook takes deliveries."""

    model_config = ConfigDict(json_schema_extra={"example": {"enabled": False}})

    enabled: bool


class WebhookPatch(ApiBody):
    """The settings to change; the others stay."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "example": {
                "field_mapping": {"lead.mobile": "phone", "lead.first": "firstname"},
                "duplicate_window_minutes": 30,
            }
        },
    )

    # Left out: unchanged. Null clears the texts that may be empty, and is refused for
    # the settings that always have a value.
    name: str = settable(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2_000)
    lead_type: str | None = Field(default=None, max_length=50)
    is_active: bool = settable()
    field_mapping: dict[str, str] = settable(
        description="Payload path -> leadpipe field, as in seed 002's webhook configs.",
        examples=[{"lead.first": "firstname", "answers[0].value": "email"}],
    )
    require_phone: bool = settable()
    always_create_lead: bool = settable()
    dedup_scope: Literal["workspace", "webhook"] = settable()
    default_source: str | None = Field(default=None, max_length=255)
    duplicate_window_minutes: int = settable(ge=0, le=24 * 60)


DeliveryStatus = Literal["success", "error", "duplicate"]


class DeliveryOut(BaseModel):
    """One delivery to a webhook as the intake log has it."""

    id: uuid.UUID
    webhook_id: str
    request_id: str
    status: DeliveryStatus
    http_status: int
    error_code: str | None
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
