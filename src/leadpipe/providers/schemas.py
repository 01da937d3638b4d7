"""What the providers API takes and answers."""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from leadpipe.kit.bodies import ApiBody, settable


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
