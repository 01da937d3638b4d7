"""Contact API bodies (seed 000's dual-write contact creation)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from leadpipe.kit.bodies import ApiBody, settable
from leadpipe.leads.schemas import LeadOut


class _Body(ApiBody):
    model_config = ConfigDict(populate_by_name=True)


class ContactFields(_Body):
    firstname: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("firstname", "first_name")
    )
    lastname: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("lastname", "last_name")
    )
    email: str | None = Field(default=None, max_length=320)
    phone_number: str | None = Field(
        default=None, max_length=40, validation_alias=AliasChoices("phone_number", "phone")
    )
    crm_id: str | None = Field(default=None, max_length=255)
    address: str | None = Field(default=None, max_length=500)
    address2: str | None = Field(default=None, max_length=500)
    city: str | None = Field(default=None, max_length=255)
    state: str | None = Field(default=None, max_length=100)
    zip_code: str | None = Field(
        default=None, max_length=20, validation_alias=AliasChoices("zip_code", "zip")
    )
    lead_source: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("lead_source", "source")
    )
    notes: str | None = None
    custom_fields: dict[str, Any] = settable()


class ContactCreate(ContactFields):
    workspace_id: str | None = None
    enable_lead_tracking: bool = False
    product: str | None = Field(
        default=None,
        max_length=255,
        validation_alias=AliasChoices("product", "product_interest", "productid"),
    )
    estimated_value: Decimal | None = Field(default=None, ge=0, max_digits=15, decimal_places=2)

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "workspace_id": "39135",
                "firstname": "Jane",
                "lastname": "Smith",
                "email": "jane@example.com",
                "phone_number": "5551234567",
                "product": "Kitchen Remodel",
                "enable_lead_tracking": True,
            }
        }
    )


class ContactUpdate(ContactFields):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"phone_number": "(555) 123-4567", "city": "Miami", "state": "FL"}
        }
    )


class ContactOut(BaseModel):
    """A contact (seed 000's ``contacts``); with its leads, newest first, when one is shown."""

    id: uuid.UUID
    workspace_id: str
    crm_id: str | None
    firstname: str | None
    lastname: str | None
    email: str | None
    phone_number: str | None
    address: str | None
    address2: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    lead_source: str | None
    sub_source: str | None
    notes: str | None
    webhook_id: str | None
    webhook_name: str | None
    custom_fields: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    leads: list[LeadOut] | None = None


class ContactDeleted(BaseModel):
    deleted: uuid.UUID
    leads_deleted: int
