"""What the webhooks API takes and answers."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadpipe.conditions.rules import FIRST_PRIORITY, LAST_PRIORITY, Operator
from leadpipe.kit.bodies import ApiBody, settable

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
