"""Writes held back to the end of a transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from leadpipe.activities.repository import ActivityRepository
from leadpipe.activities.rules import lead_created
from leadpipe.contacts.repository import ContactRepository
from leadpipe.kit.ids import uuid7
from leadpipe.leads.repository import LeadRepository
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, LeadActivity
from leadpipe.storage.writebehind import WriteBehind
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


def test_rows_leaving_out_columns_get_defaults_and_parents_go_first(
    db: Database, tenant: Tenant
) -> None:
    with db.transaction() as conn:
        contact_id = uuid7()
        ContactRepository(conn).insert(
            {
                "id": contact_id,
                "workspace_id": tenant.workspace_id,
                "phone_number": "+15550300000",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        later = WriteBehind(conn)
        plain = _lead(contact_id, tenant, product_interest="Solar")
        urgent = _lead(contact_id, tenant, priority="high", estimated_value=1200)
        # The timeline entry is held before its lead: the flush still writes the lead first.
        ActivityRepository(conn, later).add_automated(
            urgent["id"],  # type: ignore[arg-type]
            tenant.workspace_id,
            [lead_created("Test")],
            {},
            NOW,
        )
        leads = LeadRepository(conn, later)
        leads.insert(urgent)
        leads.insert(plain)
        assert count(db, Lead) == 0  # nothing sent yet
        later.flush()

    assert count(db, Lead) == 2
    assert count(db, LeadActivity, lead_id=urgent["id"]) == 1
    kept = one(db, Lead, id=plain["id"])
    assert (kept["priority"], kept["stage"], kept["temperature"]) == ("medium", "new", "warm")
    assert kept["tags"] == []
    assert kept["estimated_value"] is None
    assert one(db, Lead, id=urgent["id"])["priority"] == "high"
