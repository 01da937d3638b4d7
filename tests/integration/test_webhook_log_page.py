"""The webhook page's delivery log pages and filters like the lead table, and its "Leads"
count leads, not deliveries (issue 24)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import update

from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import InboundRequest, Workspace
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.test_delivery_log import NESTED
from tests.integration.test_intake_http import post


def _rows(page: str, tenant: Tenant) -> int:
    """How many deliveries the page lists (each links to its details)."""
    return len(re.findall(rf'href="/app/webhooks/{tenant.webhook_id}/deliveries/', page))


def _log_count(page: str) -> str:
    found = re.search(r'<p class="muted" id="log-count">(.*?)</p>', page)
    assert found is not None
    return found.group(1)


async def _page(client: httpx.AsyncClient, tenant: Tenant, **params: str) -> str:
    response = await client.get(f"/app/webhooks/{tenant.webhook_id}", params=params)
    assert response.status_code == 200, response.text
    return response.text


@pytest.fixture
async def viewer(client: httpx.AsyncClient, db: Database, tenant: Tenant) -> httpx.AsyncClient:
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    return client


async def test_the_log_pages_fifty_deliveries_at_a_time(
    client: httpx.AsyncClient, tenant: Tenant, viewer: httpx.AsyncClient
) -> None:
    for i in range(53):
        assert (await post(client, tenant, {"phone": f"555060{i:04d}"})).status_code == 200

    first = await _page(viewer, tenant)
    second = await _page(viewer, tenant, page="2")

    assert _rows(first, tenant) == 50
    assert "Page 1 of 2" in first
    assert f'href="/app/webhooks/{tenant.webhook_id}?page=2#deliveries" rel="next"' in first
    assert _rows(second, tenant) == 3
    assert "51\u201353 of 53" in second
    assert "Page 2 of 2" in second
    assert _rows(await _page(viewer, tenant, page="3"), tenant) == 0


async def test_the_log_filters_by_outcome_and_keeps_the_filter_across_pages(
    client: httpx.AsyncClient, tenant: Tenant, viewer: httpx.AsyncClient
) -> None:
    for i in range(3):
        await post(client, tenant, {**NESTED, "n": i})  # refused until mapped
    await post(client, tenant, {"phone": "5550610001"})

    refused = await _page(viewer, tenant, status="error")

    assert _rows(refused, tenant) == 3
    assert _log_count(refused).startswith("3 deliveries refused")
    assert "400 error" in refused
    assert "200 success" not in refused
    accepted = await _page(viewer, tenant, status="success")
    assert _rows(accepted, tenant) == 1


async def test_the_log_filters_by_the_days_of_the_workspaces_zone(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, viewer: httpx.AsyncClient
) -> None:
    with db.transaction() as conn:
        workspaces = table_of(Workspace)
        conn.execute(
            update(workspaces)
            .where(workspaces.c.id == tenant.workspace_id)
            .values(settings={"time_zone": "America/Chicago"})
        )
    await post(client, tenant, {"phone": "5550620001"})
    await post(client, tenant, {"phone": "5550620002"})
    with db.transaction() as conn:  # the first came on 1 March 03:00 UTC: 28 Feb in Chicago
        log = table_of(InboundRequest)
        first = conn.execute(log.select().order_by(log.c.created_at).limit(1)).first()
        assert first is not None
        conn.execute(
            update(log)
            .where(log.c.id == first.id)
            .values(created_at=datetime(2026, 3, 1, 3, tzinfo=UTC))
        )

    feb_28 = await _page(viewer, tenant, created_from="2026-02-28", created_to="2026-02-28")
    march = await _page(viewer, tenant, created_from="2026-03-01", created_to="2026-03-01")

    assert _rows(feb_28, tenant) == 1
    assert "28 Feb 2026, 21:00" in feb_28
    assert _rows(march, tenant) == 0
    assert "No deliveries match." in march


async def test_leads_count_the_leads_made_or_updated_not_the_deliveries(
    client: httpx.AsyncClient, tenant: Tenant, viewer: httpx.AsyncClient
) -> None:
    person = {"phone": "5550630001", "product": "Solar"}
    await post(client, tenant, person)  # a new lead
    await post(client, tenant, {**person, "status": "qualified"})  # updates it
    await post(client, tenant, {**person, "status": "proposal"})  # and again
    await post(client, tenant, {"phone": "5550630002"})  # a contact, no lead
    await post(client, tenant, {"phone": "5550630003", "product": "HVAC"})  # another lead

    page = await _page(viewer, tenant)

    assert "2 leads created · last delivered" in page
    assert _log_count(page) == "5 deliveries · 2 leads created or updated"
    hooks = (await viewer.get("/app/webhooks")).text
    assert re.search(rf"/webhooks/{tenant.webhook_id}</code></td>\s*<td>2</td>", hooks)


async def test_unreadable_filters_are_said_and_ignored(
    client: httpx.AsyncClient, tenant: Tenant, viewer: httpx.AsyncClient
) -> None:
    await post(client, tenant, {"phone": "5550640001"})

    page = await _page(viewer, tenant, status="lost", created_from="yesterday", page="²")

    assert "Ignored: status: one of success, duplicate, error, test" in page
    assert "created_from: not a date (YYYY-MM-DD)" in page
    assert "page: a whole number from 1 to 1000000" in page
    assert _rows(page, tenant) == 1
