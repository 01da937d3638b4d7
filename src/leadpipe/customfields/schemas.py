"""Custom field definition bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leadpipe.kit.bodies import ApiBody, Position, settable

FieldType = Literal[
    "text", "number", "date", "boolean", "select", "multiselect", "url", "email", "phone"
]


class FieldDefinitionCreate(ApiBody):
    field_key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str = Field(min_length=1, max_length=200)
    field_type: FieldType
    options: list[str] = Field(default_factory=list)
    required: bool = False
    description: str | None = None
    sort_order: Position = 0

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "field_key": "roof_type",
                "label": "Roof type",
                "field_type": "select",
                "options": ["shingle", "tile", "metal"],
                "required": False,
            }
        }
    )


class FieldDefinitionUpdate(ApiBody):
    # Left out: unchanged. Null clears the description and is refused for the rest.
    label: str = settable(min_length=1, max_length=200)
    options: list[str] = settable()
    required: bool = settable()
    description: str | None = None
    sort_order: Position = settable()
    is_active: bool = settable()

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "label": "Roof type",
                "options": ["shingle", "tile", "metal", "flat"],
                "required": True,
            }
        }
    )


class FieldDefinitionOut(BaseModel):
    id: uuid.UUID
    field_key: str
    label: str
    field_type: FieldType
    options: list[str]
    required: bool
    description: str | None
    sort_order: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class TemplateField(BaseModel):
    field_key: str
    label: str
    field_type: FieldType
    options: list[str]


class FieldDeleted(BaseModel):
    deleted: str
