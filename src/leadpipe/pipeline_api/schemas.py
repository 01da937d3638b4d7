"""Pipeline stage bodies (seed 000's ``lead_pipeline_stages``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from leadpipe.kit.bodies import MAX_POSITION, ApiBody, settable

HEX_COLOR = r"^#[0-9A-Fa-f]{6}$"
SLUG = r"^[a-z][a-z0-9_]*$"


class StageCreate(ApiBody):
    stage_name: str = Field(min_length=1, max_length=100)
    stage_slug: str | None = Field(
        default=None,
        max_length=100,
        pattern=SLUG,
        description="Derived from the name when omitted.",
    )
    description: str | None = Field(default=None, max_length=500)
    color: str = Field(default="#3182CE", pattern=HEX_COLOR)
    conversion_probability: int = Field(default=0, ge=0, le=100)
    stage_order: int | None = Field(
        default=None, ge=1, le=MAX_POSITION, description="Last when omitted."
    )
    is_default: bool = False

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "stage_name": "Site Visit",
                "color": "#2B6CB0",
                "conversion_probability": 40,
                "stage_order": 3,
            }
        }
    )


class StageUpdate(ApiBody):
    # Left out: unchanged. Null clears the description and is refused for the rest.
    stage_name: str = settable(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    color: str = settable(pattern=HEX_COLOR)
    conversion_probability: int = settable(ge=0, le=100)
    stage_order: int = settable(ge=1, le=MAX_POSITION)
    is_active: bool = settable()
    is_default: bool = settable()

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "stage_name": "Proposal Sent",
                "color": "#D69E2E",
                "conversion_probability": 65,
            }
        }
    )


class StageReorder(ApiBody):
    order: list[str] = Field(min_length=1, description="Every stage slug, in the new order.")

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "order": ["new", "qualified", "proposal", "negotiation", "won", "lost", "inactive"]
            }
        }
    )


class StageOut(BaseModel):
    """A stage; with how many leads it holds and their value, where counted."""

    stage: str = Field(description="The slug, as leads name their stage.")
    stage_name: str
    stage_slug: str
    description: str | None
    color: str
    stage_order: int
    conversion_probability: int
    is_default: bool
    is_active: bool
    count: int | None = None
    value: float | None = Field(default=None, description="Estimated value of its leads.")
    weighted_value: float | None = Field(
        default=None, description="That value at the stage's conversion probability."
    )


class DateRange(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    from_: datetime | None = Field(alias="from")
    to: datetime | None


class PipelineOverview(BaseModel):
    """The stages in order with their counts, and the sums: the open pipeline (without
    won, lost and inactive leads), what was won and what was lost, apart."""

    workspace_id: str
    date_range: DateRange
    stages: list[StageOut]
    total_leads: int | None = None
    total_value: float | None = None
    open_leads: int | None = None
    open_value: float | None = None
    weighted_value: float | None = Field(
        default=None, description="The open pipeline weighted by each stage's probability."
    )
    won_leads: int | None = None
    won_value: float | None = None
    lost_leads: int | None = None
    lost_value: float | None = None


class StageDeleted(BaseModel):
    deleted: str
    leads_moved: int
