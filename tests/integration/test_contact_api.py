"""Contact API through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead, LeadActivity, LeadStatusHistory
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import count
from tests.integration.test_lead_api import auth, deliver, deliver_to_every_scope

JANE = {
    "workspace_id": "39135",
    "firstname": "Jane",
    "lastname": "Smith",
    "email": "jane@example.com",
    "phone_number": "5551234567",
    "product": "Kitchen Remodel",
    "enable_lead_tracking": True,
}


async def create(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], path: str = "/api/v3/contacts"
) -> httpx.Response:
    return await client.post(path, json=body, headers=auth(tenant))


class TestCreate:
    async def test_dual_write_opens_a_lead_in_the_same_call(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await create(client, tenant, JANE, path="/contacts")

        assert response.status_code == 201, response.text
        contact = response.json()["data"]
        assert contact["phone_number"] == "+15551234567"
        assert (contact["firstname"], contact["email"]) == ("Jane", "jane@example.com")
        [lead] = contact["leads"]
        assert (lead["product_interest"], lead["stage"]) == ("Kitchen Remodel", "new")
        assert count(db, Lead, contact_id=contact["id"]) == 1
        assert count(db, LeadActivity, lead_id=lead["id"]) == 1

    async def test_plain_contact_and_aliases(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await create(
            client,
            tenant,
            {"first_name": "Al", "phone": "(555) 999-0000", "zip": "78701", "source": "Walk-in"},
        )
        contact = response.json()["data"]
        assert response.status_code == 201, response.text
        assert (
            contact["firstname"],
            contact["phone_number"],
            contact["zip_code"],
            contact["lead_source"],
        ) == ("Al", "+15559990000", "78701", "Walk-in")
        assert contact["leads"] == []
        assert count(db, Lead) == 0

    async def test_manual_duplicate_is_refused_naming_the_existing_contact(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = (await create(client, tenant, JANE)).json()["data"]
        again = await create(
            client,
            tenant,
            {**JANE, "email": "other@example.com", "phone_number": "+1 555 123 4567"},
        )

        assert again.status_code == 409
        body = again.json()
        assert body["code"] == "CONFLICT"
        assert body["error"] == (
            "Contact with phone number +15551234567 already exists: Jane Smith"
        )
        assert body["details"][0]["contact_id"] == first["id"]
        assert count(db, Contact) == 1
        assert count(db, Lead) == 1

    async def test_concurrent_creates_of_one_person_keep_one(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        responses = await asyncio.gather(
            *[
                create(client, tenant, {"firstname": f"P{i}", "phone_number": "5550000777"})
                for i in range(6)
            ]
        )
        assert sorted(r.status_code for r in responses) == [201] + [409] * 5
        refusals = [r.json() for r in responses if r.status_code == 409]
        # Whether refused by the check or by the database in a race, each says what is taken.
        assert all("phone" in r["error"] and r["details"] for r in refusals), refusals
        assert count(db, Contact) == 1

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"firstname": "Nobody"}, "phone_number"),
            ({"phone_number": "555"}, "phone_number"),
            ({"email": "nope"}, "email"),
            ({"email": "a@example.com", "enable_lead_tracking": True}, "product"),
            ({"email": "a@example.com", "favourite_colour": "red"}, "favourite_colour"),
        ],
    )
    async def test_invalid_contact_changes_nothing(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        db: Database,
        body: dict[str, Any],
        field: str,
    ) -> None:
        response = await create(client, tenant, body)
        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"] == field
        assert count(db, Contact) == 0

    async def test_another_workspace_id_is_forbidden(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        response = await create(client, tenant, {**JANE, "workspace_id": "other"})
        assert response.status_code == 403
        assert count(db, Contact) == 0


class TestSearchAndRead:
    @pytest.fixture
    async def people(self, client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
        a = await deliver(
            client,
            tenant,
            firstname="Maria",
            lastname="Garcia",
            phone="6267888830",
            email="maria@example.com",
            crm_id="CRM-1",
            product="Solar",
        )
        b = await deliver(
            client, tenant, firstname="Mario", lastname="Rossi", email="mario@example.com"
        )
        return {"maria": a["contact_id"], "mario": b["contact_id"]}

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("phone=1-626-788-8830", ["maria"]),
            ("q=(626)%20788-8830", ["maria"]),
            ("q=MARIA@example.com", ["maria"]),
            ("crm_id=CRM-1", ["maria"]),
            ("q=CRM-1", ["maria"]),
            ("name=garcia", ["maria"]),
            ("name=mari", ["mario", "maria"]),
            ("name=maria%20garcia", ["maria"]),
            ("q=nobody", []),
        ],
    )
    async def test_search(
        self,
        client: httpx.AsyncClient,
        tenant: Tenant,
        people: dict[str, str],
        query: str,
        expected: list[str],
    ) -> None:
        response = await client.get(f"/api/v3/contacts?{query}", headers=auth(tenant))
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()["data"]] == [people[k] for k in expected]
        assert response.json()["pagination"]["limit"] == 20

    async def test_bad_phone_search_is_explained(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        response = await client.get("/api/v3/contacts?phone=12", headers=auth(tenant))
        assert response.status_code == 400
        assert response.json()["details"][0]["field"] == "phone"

    async def test_contact_with_its_leads(
        self, client: httpx.AsyncClient, tenant: Tenant, people: dict[str, str]
    ) -> None:
        await deliver(client, tenant, email="maria@example.com", product="Roofing")
        response = await client.get(f"/api/v3/contacts/{people['maria']}", headers=auth(tenant))
        contact = response.json()["data"]
        assert contact["crm_id"] == "CRM-1"
        assert [lead["product_interest"] for lead in contact["leads"]] == ["Roofing", "Solar"]

    async def test_other_workspace_cannot_see_or_touch(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database, people: dict[str, str]
    ) -> None:
        other = make_tenant(db, workspace_id="other")
        url = f"/api/v3/contacts/{people['maria']}"
        for response in (
            await client.get(url, headers=auth(other)),
            await client.put(url, json={"city": "X"}, headers=auth(other)),
            await client.delete(url, headers=auth(other)),
        ):
            assert response.status_code == 404
        listed = await client.get("/api/v3/contacts?name=maria", headers=auth(other))
        assert listed.json()["data"] == []
        assert count(db, Contact) == 2

    async def test_an_identity_is_found_in_every_scope_of_the_workspace(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        workspace_wide, its_own = await deliver_to_every_scope(
            client, db, tenant, phone="6265550100", email="sam@example.com", crm_id="S-1"
        )

        for query in ("phone=626-555-0100", "email=SAM@example.com", "crm_id=S-1"):
            response = await client.get(f"/api/v3/contacts?{query}", headers=auth(tenant))
            assert {c["id"] for c in response.json()["data"]} == {
                workspace_wide["contact_id"],
                its_own["contact_id"],
            }, query
            assert response.json()["pagination"]["total"] == 2


class TestUpdateAndDelete:
    async def test_update_normalises_and_keeps_identities_unique(
        self, client: httpx.AsyncClient, tenant: Tenant
    ) -> None:
        jane = (await create(client, tenant, JANE)).json()["data"]
        bob = (
            await create(client, tenant, {"firstname": "Bob", "email": "bob@example.com"})
        ).json()["data"]
        url = f"/api/v3/contacts/{bob['id']}"

        updated = await client.put(
            url, headers=auth(tenant), json={"phone": "555.222.3333", "city": "Austin"}
        )
        assert updated.json()["data"]["phone_number"] == "+15552223333"
        assert updated.json()["data"]["email"] == "bob@example.com"
        taken = await client.put(url, headers=auth(tenant), json={"email": "JANE@example.com"})
        assert taken.status_code == 409
        assert taken.json()["details"][0]["contact_id"] == jane["id"]

    async def test_delete_removes_leads_activities_and_history(
        self, client: httpx.AsyncClient, tenant: Tenant, db: Database
    ) -> None:
        first = await deliver(client, tenant, phone="5551112222", product="Solar")
        await deliver(client, tenant, phone="5551112222", product="Solar", lead_status="qualified")
        await deliver(client, tenant, phone="5551112222", product="HVAC")
        keep = await deliver(client, tenant, phone="5553334444", product="HVAC")

        response = await client.delete(
            f"/api/v3/contacts/{first['contact_id']}", headers=auth(tenant)
        )
        assert response.json()["data"] == {"deleted": first["contact_id"], "leads_deleted": 2}
        assert count(db, Contact) == 1
        assert count(db, Lead) == 1
        assert count(db, LeadActivity) == count(db, LeadActivity, lead_id=keep["lead_id"])
        assert count(db, LeadStatusHistory) == 1


async def test_custom_fields_are_merged_the_same_way_by_webhook_and_api(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Intake and the API write contacts through one path: each merges the custom fields
    it sends into the ones the contact has, whoever wrote them."""
    made = await create(
        client, tenant, {"phone_number": "5551230001", "custom_fields": {"roof": "tile"}}
    )
    assert made.status_code == 201, made.text
    contact_id = made.json()["data"]["id"]

    await deliver(client, tenant, phone="5551230001", pool_size="large")
    changed = await client.put(
        f"/api/v3/contacts/{contact_id}",
        headers=auth(tenant),
        json={"city": "Miami", "custom_fields": {"hoa": "yes"}},
    )

    assert changed.status_code == 200, changed.text
    shown = changed.json()["data"]
    assert shown["custom_fields"] == {"roof": "tile", "pool_size": "large", "hoa": "yes"}
    assert shown["city"] == "Miami"
    assert shown["phone_number"] == "+15551230001"
