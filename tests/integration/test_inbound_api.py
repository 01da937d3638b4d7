"""Inbound leads API (seed 001) through HTTP on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import age_lead
from tests.integration.test_lead_api import auth, deliver


async def test_queue_lists_newest_leads_with_contacts_and_metrics(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    old = await deliver(
        client, tenant, firstname="Old", phone="5554000001", product="Solar", source="Facebook Ads"
    )
    age_lead(db, old["lead_id"], days=3)
    await deliver(
        client,
        tenant,
        firstname="Test",
        lastname="Lead",
        phone="+1234567890",
        email="test@example.com",
        product="Product A",
        lead_status="new",
        notes="Test lead from API",
        source="Facebook Ads",
    )
    await deliver(
        client,
        tenant,
        phone="5554000003",
        product="Product A",
        source="Google Ads",
        lead_status="Qualified",
    )
    await deliver(
        client,
        tenant,
        phone="5554000004",
        product="Product A",
        source="Angi",
        lead_status="Closed Won",
    )

    response = await client.get(
        f"/api/inbound-leads?workspace_id={tenant.workspace_id}", headers=auth(tenant)
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 4
    assert [lead["stage"] for lead in body["leads"]] == ["won", "qualified", "new", "new"]
    newest_new = body["leads"][2]
    assert newest_new["contact"]["firstname"] == "Test"
    assert newest_new["contact"]["lastname"] == "Lead"
    assert newest_new["contact"]["phone"] == "+11234567890"
    assert newest_new["contact"]["email"] == "test@example.com"
    assert body["metrics"] == {
        "totalLeads": 4,
        "newLeads": 2,
        "pending": 1,
        "todayLeads": 3,
        "topProduct": "Product A",
        "topSource": "Facebook Ads",
        "conversionRate": "25.0%",
    }


async def test_filters_apply_to_list_and_metrics_alike(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await deliver(client, tenant, phone="5554000011", product="Solar", source="Angi")
    await deliver(
        client, tenant, phone="5554000012", product="Solar", source="Angi", lead_status="won"
    )
    await deliver(client, tenant, phone="5554000013", product="Roof", source="Angi")

    body = (
        await client.get("/api/inbound-leads?product=solar&limit=1", headers=auth(tenant))
    ).json()
    assert body["total"] == 2
    assert len(body["leads"]) == 1
    assert body["metrics"]["conversionRate"] == "50.0%"
    won = (await client.get("/api/inbound-leads?status=won", headers=auth(tenant))).json()
    assert [lead["stage"] for lead in won["leads"]] == ["won"]
    assert (await client.get("/api/inbound-leads?status=all", headers=auth(tenant))).json()[
        "total"
    ] == 3


async def test_one_lead_with_activities_and_isolation(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    delivered = await deliver(
        client, tenant, phone="5554000021", product="Solar", adate="2025-10-20", atime="10:00AM"
    )
    response = await client.get(f"/api/inbound-leads/{delivered['lead_id']}", headers=auth(tenant))
    body = response.json()
    assert body["lead"]["id"] == delivered["lead_id"]
    assert [a["activity_type"] for a in body["activities"]] == [
        "appointment_scheduled",
        "lead_created",
    ]

    other = make_tenant(db, workspace_id="other")
    assert (
        await client.get(f"/api/inbound-leads/{delivered['lead_id']}", headers=auth(other))
    ).status_code == 404
    empty = (await client.get("/api/inbound-leads", headers=auth(other))).json()
    assert (empty["total"], empty["leads"], empty["metrics"]["conversionRate"]) == (0, [], "0.0%")
    forbidden = await client.get(
        f"/api/inbound-leads?workspace_id={tenant.workspace_id}", headers=auth(other)
    )
    assert forbidden.status_code == 403
