"""On PostgreSQL a worker starts its next batch while the last one waits for its commit;
deliveries for a person of that batch wait for the commit, and then see its writes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text

from leadpipe.intake.schemas import Delivery, IntakeResult
from leadpipe.intake.service import IntakeLine
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import count, rows


@pytest.fixture
def line(db: Database) -> IntakeLine:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one batch at a time: it has one writer anyway")
    return IntakeLine(db, idempotency_days=7)


def _delivery(tenant: Tenant, payload: dict[str, Any]) -> Delivery:
    return Delivery(
        webhook_id=tenant.webhook_id,
        payload=payload,
        problem=None,
        workspace_header=None,
        delivery_key=None,
        content_type="application/json",
        ip_address="198.51.100.7",
        user_agent="test",
        request_id="req",
        started=time.perf_counter(),
    )


@contextmanager
def _commits_held_up(db: Database, tenant: Tenant) -> Iterator[None]:
    """Every batch counting a delivery of this webhook waits at its last write, the
    webhook's counter, until the block ends: its commit is on its way meanwhile."""
    with db.engine.connect() as conn:
        conn.execute(
            text("SELECT 1 FROM webhooks WHERE id = :id FOR UPDATE"), {"id": tenant.webhook_id}
        )
        yield
        conn.rollback()


async def _submit(line: IntakeLine, tenant: Tenant, payload: dict[str, Any]) -> IntakeResult:
    return await line.submit(_delivery(tenant, payload))


async def test_the_next_batch_goes_on_while_the_last_one_waits_for_its_commit(
    db: Database, tenant: Tenant, line: IntakeLine
) -> None:
    other_hook = make_tenant(db, tenant.workspace_id)
    with _commits_held_up(db, tenant):
        held = asyncio.ensure_future(
            _submit(line, tenant, {"phone": "5550510001", "product": "Solar"})
        )
        await asyncio.sleep(0.3)
        assert not held.done()

        other = await asyncio.wait_for(_submit(line, other_hook, {"phone": "5550510002"}), 5)
        assert other.status_code == 200
        assert not held.done()
    assert (await held).status_code == 200
    assert count(db, Lead) == 1


async def test_a_delivery_for_a_person_of_a_committing_batch_waits_and_sees_its_lead(
    db: Database, tenant: Tenant, line: IntakeLine
) -> None:
    person = {"crm_id": "CRM-OVERLAP", "phone": "5550510003"}
    first = await _submit(line, tenant, {**person, "product": "Solar", "status": "New"})
    other_hook = make_tenant(db, tenant.workspace_id)

    with _commits_held_up(db, tenant):
        opened = asyncio.ensure_future(
            _submit(line, tenant, {**person, "product": "Roofing", "status": "New"})
        )
        await asyncio.sleep(0.3)
        # Another webhook of the workspace: the same person, the same project.
        update = asyncio.ensure_future(
            _submit(
                line,
                other_hook,
                {"crm_id": "CRM-OVERLAP", "product": "Roofing", "status": "Qualified"},
            )
        )
        await asyncio.sleep(0.3)
        assert not opened.done()
        assert not update.done()  # it waits for the commit of the lead it updates

    created, updated = (await opened).body, (await update).body
    assert created["lead_action"] == "created"
    assert (updated["lead_action"], updated["lead_id"]) == ("updated", created["lead_id"])
    assert updated["contact_id"] == created["contact_id"] == first.body["contact_id"]
    roofing = [lead for lead in rows(db, Lead) if lead["product_interest"] == "Roofing"]
    assert [lead["stage"] for lead in roofing] == ["qualified"]
