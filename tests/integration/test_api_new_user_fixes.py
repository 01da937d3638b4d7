"""What a new user trying the API ran into, through HTTP on SQLite and PostgreSQL: one
lead with its timeline, ``workspace_id`` on every seed 001 route, search by part of an
email, a lead's stage history, amounts as forms write them, and the handshake's OpenAPI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from tests.conftest import Tenant, make_tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import one


def auth(tenant: Tenant) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


async def deliver(client: httpx.AsyncClient, tenant: Tenant, **payload: Any) -> dict[str, Any]:
    response = await client.post(tenant.url, json=payload)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def a_lead(client: httpx.AsyncClient, tenant: Tenant, **extra: Any) -> str:
    delivered = await deliver(
        client,
        tenant,
        firstname="Jane",
        lastname="Smith",
        email="jane.smith@example.com",
        phone="(555) 201-0001",
        product="Solar",
        **extra,
    )
    return str(delivered["lead_id"])


# -- 1. one lead with its activities ---------------------------------------------------


async def test_one_lead_comes_with_its_timeline_when_asked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    lead_id = await a_lead(client, tenant)

    asked = await client.get(
        f"/api/v3/leads/{lead_id}?include_activities=true", headers=auth(tenant)
    )

    assert asked.status_code == 200, asked.text
    activities = asked.json()["data"]["activities"]
    assert [a["activity_type"] for a in activities] == ["lead_created"]
    assert activities[0]["lead_id"] == lead_id
    plain = await client.get(f"/api/v3/leads/{lead_id}", headers=auth(tenant))
    assert "activities" not in plain.json()["data"]


# -- 2. workspace_id on the seed 001 routes --------------------------------------------


async def test_every_inbound_route_takes_its_own_workspace_id_and_refuses_another(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    lead_id = await a_lead(client, tenant)
    make_tenant(db, workspace_id="other")
    for path in ("/api/inbound-leads", f"/api/inbound-leads/{lead_id}"):
        own = await client.get(f"{path}?workspace_id={tenant.workspace_id}", headers=auth(tenant))
        assert own.status_code == 200, (path, own.text)
        assert own.json()["success"] is True

        other = await client.get(f"{path}?workspace_id=other", headers=auth(tenant))
        assert other.status_code == 403, (path, other.text)
        assert other.json()["code"] == "FORBIDDEN"


async def test_one_lead_of_the_v3_api_takes_its_workspace_id_too(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    lead_id = await a_lead(client, tenant)
    for path in (f"/api/v3/leads/{lead_id}", f"/api/v3/leads/{lead_id}/history"):
        own = await client.get(f"{path}?workspace_id={tenant.workspace_id}", headers=auth(tenant))
        assert own.status_code == 200, (path, own.text)
        other = await client.get(f"{path}?workspace_id=other", headers=auth(tenant))
        assert other.status_code == 403, (path, other.text)


# -- 3. search by part of an email -----------------------------------------------------


@pytest.mark.parametrize("q", ["jane.smith", "JANE.SMITH", "smith@example", "e.smith@exa"])
async def test_part_of_an_email_finds_its_lead_and_contact(
    client: httpx.AsyncClient, tenant: Tenant, q: str
) -> None:
    lead_id = await a_lead(client, tenant)
    await deliver(
        client, tenant, firstname="Bob", email="bob.jones@example.org", phone="(555) 201-0002"
    )

    leads = await client.get("/api/v3/leads", params={"q": q}, headers=auth(tenant))
    contacts = await client.get("/api/v3/contacts", params={"q": q}, headers=auth(tenant))

    assert leads.status_code == 200, leads.text
    assert [lead["id"] for lead in leads.json()["data"]] == [lead_id]
    assert leads.json()["pagination"]["total"] == 1
    assert contacts.status_code == 200, contacts.text
    assert [c["email"] for c in contacts.json()["data"]] == ["jane.smith@example.com"]


async def test_an_email_domain_finds_everyone_at_it_and_names_still_match(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await a_lead(client, tenant)
    await deliver(
        client, tenant, firstname="Bob", email="bob.jones@example.org", phone="(555) 201-0002"
    )

    async def emails_found(q: str) -> list[str]:
        found = await client.get("/api/v3/contacts", params={"q": q}, headers=auth(tenant))
        assert found.status_code == 200, found.text
        return sorted(c["email"] for c in found.json()["data"])

    assert await emails_found("@example.org") == ["bob.jones@example.org"]
    assert await emails_found("example") == ["bob.jones@example.org", "jane.smith@example.com"]
    assert await emails_found("Jane Smith") == ["jane.smith@example.com"]
    assert await emails_found("jane.smith@example.com") == ["jane.smith@example.com"]


# -- 4. stage history ------------------------------------------------------------------


async def test_a_leads_stage_history_is_readable_newest_first(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    lead_id = await a_lead(client, tenant)
    for stage in ("qualified", "proposal"):
        moved = await client.put(
            f"/api/v3/leads/{lead_id}", json={"stage": stage}, headers=auth(tenant)
        )
        assert moved.status_code == 200, moved.text

    answer = await client.get(f"/api/v3/leads/{lead_id}/history", headers=auth(tenant))

    assert answer.status_code == 200, answer.text
    changes = answer.json()["data"]
    assert [(c["old_stage"], c["new_stage"]) for c in changes] == [
        ("qualified", "proposal"),
        ("new", "qualified"),
        (None, "new"),
    ]
    assert changes[0]["changed_by"].startswith("api_key:")
    assert changes[0]["changed_by_name"] == "API"
    assert changes[-1]["changed_by"] == f"webhook:{tenant.webhook_id}"
    assert all(c["reason"] and c["created_at"] for c in changes)


async def test_the_history_of_a_lead_not_in_the_keys_workspace_is_not_found(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    lead_id = await a_lead(client, tenant)
    stranger = make_tenant(db, workspace_id="other")

    answer = await client.get(f"/api/v3/leads/{lead_id}/history", headers=auth(stranger))

    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"


async def test_the_dashboards_side_panel_shows_the_stage_history(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    lead_id = await a_lead(client, tenant)
    moved = await client.put(
        f"/api/v3/leads/{lead_id}", json={"stage": "qualified"}, headers=auth(tenant)
    )
    assert moved.status_code == 200, moved.text
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))

    panel = await client.get(f"/app/leads/{lead_id}", headers={"HX-Request": "true"})

    assert panel.status_code == 200
    history = panel.text.split("Stage history", 1)[1].split("</section>", 1)[0]
    assert history.count("<li>") == 2
    assert "New → <strong>Qualified</strong>" in history
    assert "API" in history


# -- 5. amounts as forms write them ----------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("$100k", Decimal("100000.00")),
        ("10k", Decimal("10000.00")),
        ("1.2M", Decimal("1200000.00")),
        ("$12,500.00", Decimal("12500.00")),
        ("12.5K", Decimal("12500.00")),
    ],
)
async def test_an_amount_as_forms_write_it_is_stored_as_its_number(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, sent: str, stored: Decimal
) -> None:
    delivered = await deliver(
        client, tenant, email="jane.smith@example.com", product="Solar", estimated_value=sent
    )

    assert delivered["warnings"] == []
    assert one(db, Lead, id=delivered["lead_id"])["estimated_value"] == stored
    read = await client.get(f"/api/v3/leads/{delivered['lead_id']}", headers=auth(tenant))
    assert read.json()["data"]["estimated_value"] == float(stored)


@pytest.mark.parametrize(
    ("sent", "why"),
    [
        ("$100k-$200k", "is a range, not one number"),
        ("a lot", "is not a number"),
        ("-5", "-5 is not an amount from 0 to"),
    ],
)
async def test_an_amount_that_cannot_be_read_is_kept_as_sent_and_says_why(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, sent: str, why: str
) -> None:
    delivered = await deliver(
        client, tenant, email="jane.smith@example.com", product="Solar", estimated_value=sent
    )

    (warning,) = delivered["warnings"]
    assert warning["field"] == "estimated_value"
    assert why in warning["message"]
    assert "kept as sent" in warning["message"]
    assert one(db, Lead, id=delivered["lead_id"])["estimated_value"] is None
    assert one(db, Contact)["custom_fields"]["estimated_value"] == sent


# -- 6. the handshake's OpenAPI --------------------------------------------------------


async def test_the_subscription_handshake_documents_text_only(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    responses = schema["paths"]["/webhooks/{webhook_id}"]["get"]["responses"]
    assert list(responses["200"]["content"]) == ["text/plain"]
    for refused in ("400", "403", "404", "405"):  # its errors are the JSON envelope still
        assert list(responses[refused]["content"]) == ["application/json"], refused
