"""Filters match the way people type them (issue 12 §3): a stage by its name in any case,
a source in any case, priority and temperature in any case; the inbound queue by dates."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from leadpipe.storage.engine import Database
from tests.conftest import Tenant
from tests.integration.helpers import age_lead
from tests.integration.test_lead_api import auth, deliver


@pytest.fixture
async def leads(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    return [
        await deliver(
            client,
            tenant,
            phone="5551000001",
            product="Solar",
            source="Facebook Ads",
            lead_status="Closed Won",
        ),
        await deliver(client, tenant, phone="5551000002", product="Solar", source="Facebook Ads"),
        await deliver(client, tenant, phone="5551000003", product="HVAC", source="Google"),
    ]


async def _ids(client: httpx.AsyncClient, tenant: Tenant, path: str, **params: Any) -> set[str]:
    response = await client.get(path, params=params, headers=auth(tenant))
    assert response.status_code == 200, response.text
    body = response.json()
    return {lead["id"] for lead in body.get("data", body.get("leads"))}


@pytest.mark.parametrize("typed", ["won", "Won", " WON "])
async def test_a_stage_by_slug_or_name_in_any_case(
    client: httpx.AsyncClient, tenant: Tenant, leads: list[dict[str, Any]], typed: str
) -> None:
    won = {leads[0]["lead_id"]}
    assert await _ids(client, tenant, "/api/v3/leads", stage=typed) == won
    assert await _ids(client, tenant, "/api/inbound-leads", status=typed) == won


async def test_a_stage_by_a_name_of_several_words(
    client: httpx.AsyncClient, tenant: Tenant, leads: list[dict[str, Any]]
) -> None:
    created = await client.post(
        f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages",
        json={"stage_name": "Site Visit"},
        headers=auth(tenant),
    )
    assert created.status_code == 201
    await client.put(
        f"/api/v3/leads/{leads[2]['lead_id']}", json={"stage": "site_visit"}, headers=auth(tenant)
    )
    assert await _ids(client, tenant, "/api/v3/leads", stage="site visit") == {leads[2]["lead_id"]}


@pytest.mark.parametrize("typed", ["facebook ads", "FACEBOOK ADS", "Facebook Ads"])
async def test_a_source_in_any_case(
    client: httpx.AsyncClient, tenant: Tenant, leads: list[dict[str, Any]], typed: str
) -> None:
    from_facebook = {leads[0]["lead_id"], leads[1]["lead_id"]}
    assert await _ids(client, tenant, "/api/v3/leads", source=typed) == from_facebook
    assert await _ids(client, tenant, "/api/inbound-leads", source=typed) == from_facebook
    queue = await client.get("/api/inbound-leads", params={"source": typed}, headers=auth(tenant))
    assert queue.json()["metrics"]["totalLeads"] == 2


async def test_priority_and_temperature_in_any_case(
    client: httpx.AsyncClient, tenant: Tenant, leads: list[dict[str, Any]]
) -> None:
    await client.put(
        f"/api/v3/leads/{leads[2]['lead_id']}",
        json={"priority": "high", "temperature": "hot"},
        headers=auth(tenant),
    )
    found = await _ids(client, tenant, "/api/v3/leads", priority="High", temperature="HOT")
    assert found == {leads[2]["lead_id"]}


async def test_an_unknown_stage_or_source_finds_nothing(
    client: httpx.AsyncClient, tenant: Tenant, leads: list[dict[str, Any]]
) -> None:
    assert await _ids(client, tenant, "/api/v3/leads", stage="Nowhere") == set()
    assert await _ids(client, tenant, "/api/inbound-leads", source="Radio") == set()


async def test_the_inbound_queue_by_creation_dates(
    client: httpx.AsyncClient, tenant: Tenant, db: Database, leads: list[dict[str, Any]]
) -> None:
    age_lead(db, leads[0]["lead_id"], days=10)
    path = "/api/inbound-leads"

    recent = await client.get(
        path, params={"created_from": "2000-01-01T00:00:00Z"}, headers=auth(tenant)
    )
    assert recent.json()["metrics"]["totalLeads"] == 3
    older = await client.get(path, params={"created_to": _days_ago(5)}, headers=auth(tenant))
    assert {lead["id"] for lead in older.json()["leads"]} == {leads[0]["lead_id"]}
    assert older.json()["metrics"]["totalLeads"] == 1
    assert older.json()["metrics"]["conversionRate"] == "100.0%"
    newer = await client.get(path, params={"created_from": _days_ago(5)}, headers=auth(tenant))
    assert newer.json()["total"] == 2
    assert newer.json()["metrics"]["topProduct"] in ("Solar", "HVAC")


def _days_ago(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) - timedelta(days=days)).date().isoformat()
