"""Lead API v3 bodies and responses (seed 000's field names)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from leadpipe.kit.bodies import ApiBody
from leadpipe.kit.fields import TEXT_LIMITS

Priority = Literal["low", "medium", "high", "urgent"]
Temperature = Literal["cold", "warm", "hot"]
SortField = Literal["created_at", "updated_at", "estimated_value", "lead_score"]


def _lowercase(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


# Query filters as people type them: ``priority=High`` is ``high``.
PriorityFilter = Annotated[Priority, BeforeValidator(_lowercase)]
TemperatureFilter = Annotated[Temperature, BeforeValidator(_lowercase)]


class LeadFields(ApiBody):
    """What a person may set on a lead by hand, on create and update alike."""

    product_interest: str | None = Field(default=None, max_length=255)
    lead_source: str | None = Field(default=None, max_length=255)
    sub_source: str | None = Field(default=None, max_length=255)
    utm_source: str | None = Field(default=None, max_length=255)
    utm_medium: str | None = Field(default=None, max_length=255)
    utm_campaign: str | None = Field(default=None, max_length=255)
    estimated_value: Decimal | None = Field(default=None, ge=0, max_digits=15, decimal_places=2)
    priority: Priority | None = None
    temperature: Temperature | None = None
    qualification_status: str | None = Field(default=None, max_length=100)
    timeline: str | None = Field(default=None, max_length=100)
    budget_range: str | None = Field(default=None, max_length=100)
    service_type: str | None = Field(default=None, max_length=255)
    initial_inquiry: str | None = None
    assigned_to: str | None = Field(default=None, max_length=64)
    lead_score: int | None = Field(default=None, ge=0, le=100)
    next_follow_up_at: AwareDatetime | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None

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
    stage: str | None = None
    lost_reason: str | None = Field(default=None, max_length=500)
    conversion_value: Decimal | None = Field(default=None, ge=0, max_digits=15, decimal_places=2)
    is_active: bool | None = None

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


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    has_more: bool
