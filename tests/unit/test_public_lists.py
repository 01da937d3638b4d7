"""A list's rows are projected onto the response model's fields: the same answer as
validating each row, without the cost."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from leadpipe.kit.openapi import public, public_all
from leadpipe.kit.serialization import dumps
from leadpipe.leads.schemas import ActivityOut, LeadOut

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _activity(lead_id: uuid.UUID) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(ActivityOut.model_fields)
    row.update(id=uuid.uuid4(), lead_id=lead_id, workspace_id="w", activity_type="call")
    row.update(title="Called", activity_data={"a": 1}, created_at=NOW, private_column="x")
    row.update(is_automated=False, metadata={})
    return row


def _lead(**extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(LeadOut.model_fields)
    del row["raw_payload"]  # a list's lead leaves its raw payload out
    lead_id = uuid.uuid4()
    row.update(
        id=lead_id,
        contact_id=uuid.uuid4(),
        workspace_id="w",
        stage="new",
        priority="medium",
        temperature="warm",
        probability=10,
        is_active=True,
        is_converted=False,
        follow_up_count=0,
        metadata={"decision": "created"},
        tags=["roof"],
        custom_fields={"a": "b"},
        created_at=NOW,
        updated_at=NOW,
        estimated_value=Decimal("12.50"),
        contact={
            "id": uuid.uuid4(),
            "firstname": "Ann",
            "lastname": None,
            "email": None,
            "phone": "+15551234567",
            "secret": "never shown",
        },
        activities=[_activity(lead_id)],
        password_hash="a column no model names",
    )
    row.update(extra)
    return row


def test_a_listed_lead_is_the_lead_validated_with_nested_parts_and_private_columns_left_out() -> (
    None
):
    rows = [_lead(), _lead(contact=None, activities=None)]
    listed = public_all(LeadOut, rows)
    assert dumps(listed) == dumps([public(LeadOut, row) for row in rows])
    assert "password_hash" not in listed[0]
    assert "secret" not in listed[0]["contact"]
    assert "private_column" not in listed[0]["activities"][0]
    assert "raw_payload" not in listed[0]


def test_a_model_that_renames_its_fields_is_still_validated() -> None:
    class Renamed(BaseModel):
        name: str = Field(alias="full_name")

    assert public_all(Renamed, [{"full_name": "Ann"}]) == [{"full_name": "Ann"}]
