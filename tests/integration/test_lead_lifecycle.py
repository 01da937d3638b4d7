"""One lead lifecycle: a move made by a webhook, through the Lead API or by deleting a
stage leaves the same trail; a status without a product never opens a phantom lead."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, LeadStatusHistory
from tests.conftest import Tenant
from tests.integration.helpers import activities, count, one, rows
from tests.integration.test_intake_http import post


def _auth(tenant: Tenant) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


async def _lead_in_contacted(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, phone: str
) -> str:
    response = await post(client, tenant, {"phone": phone, "product": "Solar"})
    assert response.status_code == 200, response.text
    lead = response.json()["lead_id"]
    assert one(db, Lead, id=lead)["stage"] == "contacted"
    return str(lead)


def _trail(db: Database, lead_id: str) -> tuple[Any, ...]:
    """What a user sees of a lead's last move: its history row and timeline entry, less
    who made it."""
    last = rows(db, LeadStatusHistory, lead_id=lead_id)[-1]
    moved = [a for a in activities(db, lead_id) if a["activity_type"] == "status_updated"]
    (entry,) = moved
    lead = one(db, Lead, id=lead_id)
    return (
        (last["old_stage"], last["new_stage"]),
        entry["title"],
        (entry["metadata"]["previous_stage"], entry["metadata"]["new_stage"]),
        (lead["stage"], lead["previous_stage"], lead["probability"]),
    )


async def test_a_move_leaves_the_same_trail_through_every_entrance(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    # A stage of the workspace's own, where new leads start.
    made = await client.post(
        f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages",
        json={"stage_name": "Contacted", "stage_order": 2, "is_default": True},
        headers=_auth(tenant),
    )
    assert made.status_code == 201, made.text
    by_webhook = await _lead_in_contacted(client, tenant, db, "5550900001")
    by_api = await _lead_in_contacted(client, tenant, db, "5550900002")
    by_deletion = await _lead_in_contacted(client, tenant, db, "5550900003")

    moved = await post(
        client, tenant, {"phone": "5550900001", "product": "Solar", "status": "Qualified"}
    )
    assert moved.json()["lead_action"] == "updated"
    put = await client.put(
        f"/api/v3/leads/{by_api}", json={"stage": "qualified"}, headers=_auth(tenant)
    )
    assert put.status_code == 200, put.text
    # The webhook and the API moved theirs; the deletion moves only what is left there.
    await client.put(
        f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages/new",
        json={"is_default": True},
        headers=_auth(tenant),
    )
    deleted = await client.delete(
        f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages/contacted?move_to=qualified",
        headers=_auth(tenant),
    )
    assert deleted.status_code == 200, deleted.text

    expected = (
        ("contacted", "qualified"),
        "Status: contacted → qualified",
        ("contacted", "qualified"),
        ("qualified", "contacted", 25),
    )
    assert _trail(db, by_webhook) == expected
    assert _trail(db, by_api) == expected
    assert _trail(db, by_deletion) == expected
    who = {
        lead: rows(db, LeadStatusHistory, lead_id=lead)[-1]["changed_by"]
        for lead in (by_webhook, by_api, by_deletion)
    }
    assert who[by_webhook] == f"webhook:{tenant.webhook_id}"
    assert who[by_api].startswith("api_key:")
    assert who[by_deletion] == who[by_api]  # the key that deleted the stage moved its leads


class TestStatusWithoutProduct:
    async def test_it_updates_the_contacts_newest_active_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = (
            await post(client, tenant, {"crm_id": "C1", "phone": "5550900010", "product": "Solar"})
        ).json()

        update = (await post(client, tenant, {"crm_id": "C1", "lead_status": "Closed Won"})).json()

        assert update["lead_action"] == "updated"
        assert update["lead_id"] == first["lead_id"]
        lead = one(db, Lead, id=first["lead_id"])
        assert (lead["stage"], lead["is_converted"]) == ("won", True)
        assert count(db, Lead) == 1

    @pytest.mark.parametrize("status", ["Closed Won", "Converted", "Closed Lost"])
    async def test_it_never_opens_a_lead_that_starts_won_or_lost(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database, status: str
    ) -> None:
        await post(client, tenant, {"crm_id": "C2", "phone": "5550900011"})  # no lead

        response = await post(client, tenant, {"crm_id": "C2", "lead_status": status})

        assert response.status_code == 200
        body = response.json()
        assert (body["lead_action"], body["lead_id"]) == ("none", None)
        assert body["decision"]["rule"] == "no_lead_to_update"
        assert count(db, Lead) == 0

    async def test_with_a_product_a_reported_sale_still_opens_a_won_lead(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await post(
            client, tenant, {"phone": "5550900012", "product": "Solar", "lead_status": "Closed Won"}
        )
        assert one(db, Lead, id=response.json()["lead_id"])["stage"] == "won"


async def test_a_lost_reason_in_the_payload_is_stored_on_the_lead(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    first = (await post(client, tenant, {"phone": "5550900020", "product": "HVAC"})).json()

    await post(
        client,
        tenant,
        {
            "phone": "5550900020",
            "product": "HVAC",
            "lead_status": "Closed Lost",
            "Lost Reason": "Price",
        },
    )

    lead = one(db, Lead, id=first["lead_id"])
    assert (lead["stage"], lead["lost_reason"], lead["is_active"]) == ("lost", "Price", False)
    moved = next(
        a for a in activities(db, first["lead_id"]) if a["activity_type"] == "status_updated"
    )
    assert moved["metadata"]["lost_reason"] == "Price"


async def test_a_lost_reason_set_through_the_api_is_kept_with_the_move(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    first = (await post(client, tenant, {"phone": "5550900021", "product": "HVAC"})).json()

    response = await client.put(
        f"/api/v3/leads/{first['lead_id']}",
        json={"stage": "lost", "lost_reason": "Went with a competitor"},
        headers=_auth(tenant),
    )

    assert response.status_code == 200, response.text
    lead = one(db, Lead, id=first["lead_id"])
    assert (lead["stage"], lead["lost_reason"]) == ("lost", "Went with a competitor")
