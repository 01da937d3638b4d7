"""Lead API v3 bodies and responses (seed 000's field names)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from leadpipe.kit.bodies import ApiBody, settable
from leadpipe.kit.fields import TEXT_LIMITS

Priority = Literal["low", "medium", "high", "urgent"]
Temperature = Literal["cold", "warm", "hot"]
SortField = Literal["created_at", "updated_at", "estimated_value", "lead_score"]


def _lowercase(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# Query filters as people type them: ``priority=High`` is ``high``.
PriorityFilter = Annotated[Priority, BeforeValidator(_lowercase)]
TemperatureFilter = Annotated[Temperature, BeforeValidator(_lowercase)]


@dataclass(frozen=True, slots=True)
class LeadSelection:
    """The leads a request selects: the lead list's filters as it gives them, a product in
    any spelling, ``q`` as typed, a period's bounds as moments. ``is_active`` None selects
    every lead, open or not."""

    stage: str | None = None
    source: str | None = None
    product: str | None = None
    priority: str | None = None
    temperature: str | None = None
    assigned_to: str | None = None
    assigned_user_id: uuid.UUID | None = None
    is_active: bool | None = None
    q: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class LeadFields(ApiBody):
    """What a person may set on a lead by hand, on create and update alike."""

    product_interest: str | None = Field(default=None, max_length=255)
    lead_source: str | None = Field(default=None, max_length=255)
    sub_source: str | None = Field(default=None, max_length=255)
    utm_source: str | None = Field(default=None, max_length=255)
    utm_medium: str | None = Field(default=None, max_length=255)
    utm_campaign: str | None = Field(default=None, max_length=255)
    estimated_value: Decimal | None = Field(default=None, ge=0, max_digits=15, decimal_places=2)
    # Left out: unchanged, or the default on create. Null clears the values a lead may
    # lack and is refused for those it always has.
    priority: Priority = settable()
    temperature: Temperature = settable()
    qualification_status: str = settable(max_length=100)
    timeline: str | None = Field(default=None, max_length=100)
    budget_range: str | None = Field(default=None, max_length=100)
    service_type: str | None = Field(default=None, max_length=255)
    initial_inquiry: str | None = None
    assigned_to: str | None = Field(default=None, max_length=64)
    lead_score: int = settable(ge=0, le=100)
    next_follow_up_at: AwareDatetime | None = None
    expected_close_date: date | None = None
    tags: list[str] = settable()
    custom_fields: dict[str, Any] = settable()

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str] | None) -> list[str] | None:
        if tags is None:
            return None
        cleaned = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
        if any(len(t) > TEXT_LIMITS["tag"] for t in cleaned):
            raise ValueError(f"each tag must be at most {TEXT_LIMITS['tag']} characters")
        return cleaned


class LeadCreate(LeadFields):
    contact_id: uuid.UUID
    workspace_id: str | None = None
    stage: str | None = Field(
        default=None, description="Stage slug; the workspace default stage when omitted."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "contact_id": "0199b5a4-3c1e-7e4b-9a51-3f0c2a6b1d22",
                "workspace_id": "39135",
                "product_interest": "Solar Installation",
                "lead_source": "Google Ads",
                "estimated_value": 25000,
                "priority": "high",
                "temperature": "hot",
                "qualification_status": "qualified",
                "timeline": "30_days",
                "initial_inquiry": "Interested in solar for 2000 sq ft home",
                "tags": ["solar", "residential", "urgent"],
                "custom_fields": {"roof_type": "shingle", "electricity_bill": "$300/month"},
            }
        }
    )


class LeadUpdate(LeadFields):
    stage: str = settable()
    assigned_user_id: uuid.UUID | None = Field(
        default=None, description="A user of the workspace; null unassigns."
    )
    lost_reason: str | None = Field(default=None, max_length=500)
    conversion_value: Decimal | None = Field(default=None, ge=0, max_digits=15, decimal_places=2)
    is_active: bool = settable()

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"stage": "proposal", "estimated_value": 27500, "temperature": "hot"}
        }
    )


class ActivityCreate(ApiBody):
    activity_type: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=255)
    description: str | None = None
    outcome: Literal["positive", "neutral", "negative", "pending", "scheduled"] | None = None
    duration_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    performed_by: str | None = Field(default=None, max_length=64)
    priority: Priority | None = None
    scheduled_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    activity_data: dict[str, Any] | None = None
    stage: str | None = Field(default=None, description="Move the lead to this stage too.")

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "activity_type": "call",
                "title": "Discovery Call",
                "description": "Discussed solar requirements and timeline",
                "outcome": "positive",
                "duration_minutes": 30,
                "performed_by": "agent-uuid",
                "priority": "medium",
                "activity_data": {
                    "call_duration": 30,
                    "call_outcome": "interested",
                    "next_steps": "Send proposal",
                },
            }
        }
    )


class ContactBrief(BaseModel):
    """The lead's person, as lists show it."""

    id: uuid.UUID
    firstname: str | None
    lastname: str | None
    email: str | None
    phone: str | None


class ActivityOut(BaseModel):
    """One entry of a lead's timeline."""

    id: uuid.UUID
    lead_id: uuid.UUID
    workspace_id: str
    activity_type: str
    activity_category: str | None
    title: str
    description: str | None
    activity_data: dict[str, Any]
    outcome: str | None
    priority: str | None
    scheduled_at: datetime | None
    completed_at: datetime | None
    duration_minutes: int | None
    performed_by: str | None
    is_automated: bool
    metadata: dict[str, Any] = Field(description="Who or what wrote it: a webhook, an API key.")
    created_at: datetime


class StageChangeOut(BaseModel):
    """One change of a lead's stage: from which stage to which, by whom, why and when."""

    id: uuid.UUID
    lead_id: uuid.UUID
    old_stage: str | None = Field(description="Null for the stage the lead was opened in.")
    new_stage: str
    changed_by: str | None = Field(
        description="`api_key:<id>`, `user:<id>`, `webhook:<id>` or `system`."
    )
    changed_by_name: str | None
    reason: str | None
    notes: str | None
    created_at: datetime


class LeadOut(BaseModel):
    """A lead (seed 000's ``leads``) with its contact."""

    id: uuid.UUID
    contact_id: uuid.UUID
    workspace_id: str
    webhook_id: str | None
    lead_source: str | None
    sub_source: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    landing_page_url: str | None
    conversion_event: str | None
    campaign_id: str | None
    product_interest: str | None
    lead_type: str | None
    service_type: str | None
    estimated_value: float | None
    probability: int
    timeline: str | None
    budget_range: str | None
    stage: str
    previous_stage: str | None
    priority: str
    temperature: str
    qualification_status: str | None
    lead_score: int | None
    assigned_to: str | None
    assigned_user_id: uuid.UUID | None = None
    team_id: str | None
    is_active: bool
    is_converted: bool
    converted_at: datetime | None
    conversion_value: float | None
    lost_reason: str | None
    lost_at: datetime | None
    initial_inquiry: str | None
    ip_address: str | None
    user_agent: str | None
    consent_description: str | None
    consent_value: bool | None
    tcpa_compliance: bool | None
    consent_proof: dict[str, Any] | None = Field(
        default=None,
        description="TCPA consent as proven at intake: text, value, at, ip_address, "
        "user_agent, page_url, trustedform_cert_url, jornaya_lead_id.",
    )
    last_activity_at: datetime | None
    next_follow_up_at: datetime | None
    expected_close_date: date | None = None
    follow_up_count: int
    metadata: dict[str, Any] = Field(
        description="How intake decided (webhook, decision) and who changed it last."
    )
    tags: list[str]
    custom_fields: dict[str, Any]
    created_by: str | None
    updated_by: str | None
    created_at: datetime
    updated_at: datetime
    contact: ContactBrief | None = None
    raw_payload: dict[str, Any] | None = Field(
        default=None, description="The provider's payload as sent (one lead only)."
    )
    activities: list[ActivityOut] | None = Field(
        default=None, description="The timeline, with `include_activities=true`."
    )
