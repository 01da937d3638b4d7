"""What intake receives from the HTTP layer and what it answers."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadpipe.conditions.rules import FIRST_PRIORITY, LAST_PRIORITY, Operator
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
    processing_time: str
    request_id: str


SignatureMode = Literal["off", "optional", "required"]


class RuleCondition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        min_length=1,
        max_length=300,
        description="A mapped field (source, product, state, custom.<name>) or payload.<path>.",
    )
    operator: Operator
    value: Any = Field(
        default=None,
        description="A list for in / not_in, of 5- or 3-digit texts for zip_in / zip3_in; "
        "a number for gt / gte / lt / lte; none for exists / not_exists.",
    )


class RuleActions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str | None = Field(default=None, description="A stage slug of the pipeline.")
    tags: list[str] | None = None
    assignee: str | None = Field(default=None, description="The email of a member.")
    priority: Literal["low", "medium", "high", "urgent"] | None = None
    temperature: Literal["cold", "warm", "hot"] | None = None
    source: str | None = Field(default=None, max_length=255)


class IntakeRule(BaseModel):
    """Conditions joined by AND; the first matching rule, a lower priority number first,
    sets the new lead's actions."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    priority: int = Field(
        default=LAST_PRIORITY,
        ge=FIRST_PRIORITY,
        le=LAST_PRIORITY,
        description="A lower number is matched first (1 before 2); ties in the order written.",
    )
    enabled: bool = True
    conditions: list[RuleCondition] = Field(min_length=1, max_length=50)
    actions: RuleActions


class SecretOut(BaseModel):
    preview: str = Field(description="The secret's first characters.")
    created_at: datetime
    expires_at: datetime | None = Field(description="Stops verifying then (after a rotation).")
    valid: bool


class RuleActionsOut(RuleActions):
    model_config = ConfigDict(extra="ignore")  # the assignee's user id stays inside


class IntakeRuleOut(IntakeRule):
    actions: RuleActionsOut


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
    required_fields: list[str] = Field(description="Fields a delivery must carry.")
    always_create_lead: bool
    dedup_scope: Literal["workspace", "webhook"]
    default_source: str | None
    duplicate_window_minutes: int
    preset: str = Field(description="The kind of sender it is set up for.")
    preset_settings: dict[str, Any] = Field(
        description="What its preset needs; tokens and keys are shown as set, never as sent."
    )
    provider_required: bool = Field(description="Deliveries must carry a provider credential.")
    signature_mode: SignatureMode
    secrets: list[SecretOut] = Field(description="The secrets that verify its signatures.")
    rate_limit: int | None = Field(description="Deliveries per window; null: no limit.")
    rate_window_seconds: int | None
    default_status: str | None = Field(description="The stage of a new contact's lead.")
    intake_rules: list[IntakeRuleOut]
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
    required_fields: list[str] = Field(
        default_factory=list,
        description="Fields a delivery must carry besides an identity: phone_number, email, "
        "crm_id, firstname, lastname, address, city, state, zip_code, product, source.",
    )
    always_create_lead: bool | None = Field(
        default=None, description="Default: true for a form's preset, false for generic."
    )
    dedup_scope: Literal["workspace", "webhook"] = "workspace"
    default_source: str | None = Field(default=None, max_length=255)
    duplicate_window_minutes: int = Field(default=60, ge=0, le=24 * 60)
    preset: str = Field(default="generic", description="See GET /api/v3/webhooks/presets.")
    preset_settings: dict[str, Any] = Field(default_factory=dict)
    provider_required: bool = False
    signature_mode: SignatureMode = "off"
    rate_limit: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Off by default; 100 per 60 s suggested."
    )
    rate_window_seconds: int | None = Field(default=None, ge=1, le=86_400)
    default_status: str | None = Field(default=None, max_length=100)
    intake_rules: list[IntakeRule] = Field(default_factory=list, max_length=100)


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
    required_fields: list[str] = settable()
    always_create_lead: bool = settable()
    dedup_scope: Literal["workspace", "webhook"] = settable()
    default_source: str | None = Field(default=None, max_length=255)
    duplicate_window_minutes: int = settable(ge=0, le=24 * 60)
    preset: str = settable()
    preset_settings: dict[str, Any] = settable()
    provider_required: bool = settable()
    signature_mode: SignatureMode = settable()
    rate_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    rate_window_seconds: int | None = Field(default=None, ge=1, le=86_400)
    default_status: str | None = Field(default=None, max_length=100)
    intake_rules: list[IntakeRule] = settable(max_length=100)


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


class PresetOut(BaseModel):
    name: str
    title: str
    description: str
    settings: list[str] = Field(description="What it reads in preset_settings.")
    always_create_lead: bool
    default_source: str | None = Field(description="Given to a webhook created from it.")
    signature: str | None = Field(description="The header its sender signs with.")


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="Its first signing secret, shown this once (signature_mode sets its use)."
    )


class SecretRotation(ApiBody):
    """A new signing secret; the current ones keep verifying until ``keep_old_until``."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"keep_old_until": "2026-12-31T00:00:00Z"}}
    )

    secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        description="One the sender gave (Typeform's, Facebook's app secret); generated "
        "(whsec_...) when omitted.",
    )
    keep_old_until: datetime | None = Field(
        default=None, description="When the current secrets stop verifying; in 24 hours if omitted."
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The new secret, shown this once.")
    secrets: list[SecretOut]


class ProviderOut(BaseModel):
    """A lead provider (seed 002's lead_source_providers)."""

    id: str
    workspace_id: str
    name: str
    company: str | None
    contact_name: str | None
    email: str | None
    phone: str | None
    key_prefix: str = Field(description="The credential's first characters.")
    is_active: bool
    allowed_webhooks: list[str] | None = Field(description="Null: every webhook.")
    hourly_limit: int
    notes: str | None
    last_used_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ProviderCreated(ProviderOut):
    key: str = Field(description="Its credential, shown this once: Authorization: Bearer <key>.")


class ProviderCreate(ApiBody):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "name": "Click Ventures",
                "company": "Click Ventures LLC",
                "email": "ops@clickventures.example",
                "allowed_webhooks": ["wh_solar_fb"],
                "hourly_limit": 1000,
            }
        }
    )

    name: str = Field(min_length=1, max_length=200)
    id: str | None = Field(default=None, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    company: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    allowed_webhooks: list[str] | None = None
    hourly_limit: int = Field(default=1000, ge=1, le=1_000_000)
    notes: str | None = Field(default=None, max_length=5_000)


class ProviderPatch(ApiBody):
    """The settings to change; the others stay."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"is_active": False, "hourly_limit": 500}}
    )

    name: str = settable(min_length=1, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    contact_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    is_active: bool = settable()
    allowed_webhooks: list[str] | None = None
    hourly_limit: int = settable(ge=1, le=1_000_000)
    notes: str | None = Field(default=None, max_length=5_000)


class ProviderKey(BaseModel):
    key: str = Field(description="The new credential, shown this once; the old one stops now.")
    provider: ProviderOut


class ProviderUsageOut(BaseModel):
    webhook_id: str
    day: date
    request_count: int
    accepted: int
    refused: int
    duplicates: int


class ProviderStats(BaseModel):
    provider_id: str
    deliveries: int = Field(description="Over the last 30 days, as the usage below.")
    accepted: int
    refused: int
    duplicates: int
    leads: int = Field(description="Leads its deliveries created.")
    converted: int
    conversion_rate: float = Field(description="Percent of its leads converted.")
    usage: list[ProviderUsageOut] = Field(description="Per webhook and day, newest first.")


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
