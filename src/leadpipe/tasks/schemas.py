"""Task API bodies and responses."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from leadpipe.kit.bodies import ApiBody, settable


class TaskCreate(ApiBody):
    title: str = Field(min_length=1, max_length=255)
    due_at: AwareDatetime
    assignee_id: uuid.UUID | None = Field(
        default=None, description="A user of the workspace; the lead's assignee when left out."
    )

    model_config = ConfigDict(
        json_schema_extra={"example": {"title": "Send the quote", "due_at": "2026-05-04T09:00:00Z"}}
    )


class TaskUpdate(ApiBody):
    title: str = settable(min_length=1, max_length=255)
    due_at: AwareDatetime = settable()
    assignee_id: uuid.UUID | None = Field(default=None, description="Null: nobody's.")
    done: bool = settable(description="True completes the task, false reopens it.")

    model_config = ConfigDict(json_schema_extra={"example": {"due_at": "2026-05-05T15:00:00Z"}})


class TaskOut(BaseModel):
    """A next step on a lead, due at a time, for a user."""

    id: uuid.UUID
    workspace_id: str
    lead_id: uuid.UUID
    title: str
    due_at: datetime
    assignee_id: uuid.UUID | None
    done_at: datetime | None
    created_by: str
    created_by_name: str
    created_at: datetime
    updated_at: datetime
