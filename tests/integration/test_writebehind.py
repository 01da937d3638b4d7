"""Writes held back to the end of a transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from leadpipe.activities.repository import ActivityRepository
from leadpipe.activities.rules import lead_created
from leadpipe.contacts.repository import ContactRepository
from leadpipe.kit.ids import uuid7
from leadpipe.leads.repository import LeadRepository
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead, LeadActivity
from leadpipe.storage.work import Work
from tests.conftest import Tenant
from tests.integration.helpers import count, one

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _lead(contact_id: object, tenant: Tenant, **values: object) -> dict[str, object]:
    return {
        "id": uuid7(),
        "contact_id": contact_id,
        "workspace_id": tenant.workspace_id,
        "created_at": NOW,
        "updated_at": NOW,
        **values,
    }


def _contact(conn: Connection, tenant: Tenant, phone: str) -> uuid.UUID:
    contact_id = uuid7()
    ContactRepository(conn).insert(
        {
            "id": contact_id,
            "workspace_id": tenant.workspace_id,
            "phone_number": phone,
            "created_at": NOW,
            "updated_at": NOW,
        }
    )
    return contact_id


def test_rows_leaving_out_columns_get_defaults_and_parents_go_first(
    db: Database, tenant: Tenant
) -> None:
    with db.transaction() as conn:
        contact_id = _contact(conn, tenant, "+15550300000")
        work = Work.holding_writes(conn)
        plain = _lead(contact_id, tenant, product_interest="Solar")
        urgent = _lead(contact_id, tenant, priority="high", estimated_value=1200)
        # The timeline entry is held before its lead: the flush still writes the lead first.
        ActivityRepository(work).add_automated(
            urgent["id"],  # type: ignore[arg-type]
            tenant.workspace_id,
            [lead_created("Test")],
            {},
            NOW,
        )
        leads = LeadRepository(work)
        leads.insert(urgent)
        leads.insert(plain)
        assert count(db, Lead) == 0  # nothing sent yet
        work.flush()

    assert count(db, Lead) == 2
    assert count(db, LeadActivity, lead_id=urgent["id"]) == 1
    kept = one(db, Lead, id=plain["id"])
    assert (kept["priority"], kept["stage"], kept["temperature"]) == ("medium", "new", "warm")
    assert kept["tags"] == []
    assert kept["estimated_value"] is None
    assert one(db, Lead, id=urgent["id"])["priority"] == "high"


def _full_lead(contact_id: object, tenant: Tenant, n: int) -> dict[str, object]:
    """A lead with a value of every kind: exact numbers, zones, nested JSON, text that
    JSON escapes, NULLs."""
    return _lead(
        contact_id,
        tenant,
        product_interest=f'Solar "Max" ✓ {n}',
        product_key=f"solar {n}",
        stage="qualified",
        priority="urgent",
        temperature="hot",
        qualification_status="qualified",
        probability=40,
        lead_score=7,
        is_active=True,
        is_converted=False,
        follow_up_count=0,
        estimated_value=Decimal("1234567890123.45"),
        conversion_value=None,
        converted_at=datetime(
            2026, 11, 21, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))
        ),
        initial_inquiry="Line one\nline two\t\\ tab",
        raw_payload={"nested": {"value": Decimal("19600.10"), "list": [1, "two", None]}},
        metadata={"webhook": {"id": "wh_1"}},
        tags=["roof", "q4"],
        custom_fields={},
        consent_value=None,
    )


def test_a_batch_of_rows_is_stored_exactly_as_rows_written_one_by_one(
    db: Database, tenant: Tenant
) -> None:
    with db.transaction() as conn:
        contact_id = _contact(conn, tenant, "+15550300001")
        alone = _full_lead(contact_id, tenant, 1)
        LeadRepository(conn).insert(alone)
        work = Work.holding_writes(conn)
        together = [_full_lead(contact_id, tenant, n) for n in (1, 2, 3)]
        for values in together:
            LeadRepository(work).insert(values)
        work.flush()

    def stored(lead_id: object) -> dict[str, object]:
        row = one(db, Lead, id=lead_id)
        return {k: v for k, v in row.items() if k != "id"}

    assert stored(together[0]["id"]) == stored(alone["id"])
    assert stored(together[2]["id"])["product_interest"] == 'Solar "Max" ✓ 3'
    kept = stored(together[1]["id"])
    assert kept["estimated_value"] == Decimal("1234567890123.45")
    assert kept["converted_at"] == datetime(2026, 11, 22, 4, 59, 59, 999999, tzinfo=UTC)
    assert kept["raw_payload"] == {"nested": {"value": 19600.1, "list": [1, "two", None]}}


def test_a_value_too_long_for_its_column_fails_a_batch_as_it_fails_a_row(
    db: Database, tenant: Tenant
) -> None:
    if db.dialect == "sqlite":
        pytest.skip("SQLite does not limit the length of text")

    def write_two_contacts() -> None:
        with db.transaction() as conn:
            work = Work.holding_writes(conn)
            for n, state in enumerate(["FL", "x" * 101]):
                ContactRepository(work).insert(
                    {
                        "id": uuid7(),
                        "workspace_id": tenant.workspace_id,
                        "phone_number": f"+1555030010{n}",
                        "state": state,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
            work.flush()

    with pytest.raises(DBAPIError, match="too long"):
        write_two_contacts()
    assert count(db, Contact) == 0
