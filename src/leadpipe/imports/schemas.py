"""What the imports API shows of an import."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ImportOut(BaseModel):
    id: uuid.UUID
    workspace_id: str
    filename: str
    sha256: str = Field(description="The file's SHA-256: the same file again is recognised")
    status: Literal["pending", "running", "done", "failed"]
    dry_run: bool = Field(description="Only planned: what would be created, updated, refused")
    column_map: dict[str, Any] = Field(description="COLUMN: FIELD, as given")
    rows_total: int
    rows_done: int = Field(description="Rows 1 to rows_done are in (an import resumes after)")
    created: int = Field(description="Rows that opened a lead (or made a contact only)")
    updated: int = Field(description="Rows that updated a lead, by the decision matrix")
    unchanged: int = Field(description="Rows the same as a row imported before: skipped")
    refused: int = Field(description="Rows that are not a lead: in the error report")
    failure: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
