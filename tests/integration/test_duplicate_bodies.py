"""An identical body posted to the same webhook within its duplicate window is the same
delivery (DESIGN §2.14): a double submit or a provider's retry after its own timeout gets
the first response, and nothing new is written."""

from __future__ import annotations

import asyncio

import httpx

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead, WebhookDelivery
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import assert_answered_as_duplicate, backdate, count, inbound_log
from tests.integration.test_intake_http import post

LEAD = {"phone": "5551000001", "product": "Solar", "lead_status": "New"}


async def test_the_same_body_twice_is_one_delivery(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    first = await post(client, tenant, LEAD)
    again = await post(client, tenant, LEAD)

    assert again.status_code == 200
    assert_answered_as_duplicate(again.json(), first.json())
    assert again.headers["idempotent-replayed"] == "true"
    assert (count(db, Contact), count(db, Lead)) == (1, 1)
    assert [e["status"] for e in inbound_log(db, tenant.webhook_id)] == ["success", "duplicate"]


async def test_the_answer_to_a_repeat_says_it_is_a_duplicate_and_names_the_lead(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = (await post(client, tenant, LEAD)).json()
    again = await post(client, tenant, LEAD)

    answer = again.json()
    assert answer["success"] is True
    assert answer["duplicate"] is True
    assert "created successfully" not in answer["message"]
    assert f"Its lead is {first['lead_id']}." in answer["message"]
    assert first["request_id"] in answer["message"]
    assert answer["request_id"] == again.headers["x-request-id"] != first["request_id"]
    assert answer["duplicate_of"]["message"] == "Contact and lead created successfully"


async def test_bodies_posted_together_make_one_lead(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    responses = await asyncio.gather(*[post(client, tenant, LEAD) for _ in range(10)])

    assert {r.status_code for r in responses} == {200}
    assert len({r.json()["lead_id"] for r in responses}) == 1
    assert count(db, Lead) == 1


async def test_a_different_body_is_a_new_delivery(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await post(client, tenant, LEAD)
    await post(client, tenant, {**LEAD, "notes": "called again"})
    assert count(db, Lead) == 2  # seed 000's matrix: a second "New" opens another lead


async def test_after_the_window_the_same_body_is_new_again(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await post(client, tenant, LEAD)
    backdate(db, WebhookDelivery, minutes=61, webhook_id=tenant.webhook_id)

    again = await post(client, tenant, LEAD)

    assert "idempotent-replayed" not in again.headers
    assert count(db, Lead) == 2


async def test_a_window_of_zero_turns_it_off(client: httpx.AsyncClient, db: Database) -> None:
    tenant = make_tenant(db, duplicate_window_minutes=0)
    await post(client, tenant, LEAD)
    await post(client, tenant, LEAD)
    assert count(db, Lead) == 2
    assert count(db, WebhookDelivery) == 0


async def test_the_same_body_on_another_webhook_is_another_delivery(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    other = make_tenant(db, tenant.workspace_id)
    await post(client, tenant, LEAD)
    response = await post(client, other, LEAD)
    assert "idempotent-replayed" not in response.headers
