"""Webhook administration through the API: list, create, enable and disable, delete
(softly, restorable for a day, then purged; or at once), restore."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from leadpipe.accounts.service import account
from leadpipe.kit.clock import utcnow
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import InboundRequest, Lead, Webhook
from leadpipe.webhooks.service import purge_deleted_webhooks, webhook
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import count, one
from tests.integration.test_lead_api import auth, deliver

BASE = "/api/v3/webhooks"
INBOUND = table_of(InboundRequest)


async def test_an_admin_key_creates_a_webhook_that_takes_deliveries(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = await client.post(
        BASE,
        json={
            "name": "Facebook solar form",
            "id": "fb_solar_001",
            "lead_type": "solar",
            "field_mapping": {"field_data[name=email].values[0]": "email"},
        },
        headers=auth(tenant),
    )
    assert made.status_code == 201, made.text
    body = made.json()["data"]
    assert (body["id"], body["url_path"], body["is_active"]) == (
        "fb_solar_001",
        "/webhooks/fb_solar_001",
        True,
    )
    posted = await client.post(
        "/webhooks/fb_solar_001",
        json={
            "field_data": [{"name": "email", "values": ["sun@example.com"]}],
            "productid": "Solar",
        },
    )
    assert posted.status_code == 200, posted.text
    listed = await client.get(BASE, headers=auth(tenant))
    assert {w["id"] for w in listed.json()["data"]} == {tenant.webhook_id, "fb_solar_001"}
    again = await client.post(BASE, json={"name": "x", "id": "fb_solar_001"}, headers=auth(tenant))
    assert again.status_code == 409


async def test_a_webhook_is_disabled_and_enabled_again(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    off = await client.patch(
        f"{BASE}/{tenant.webhook_id}/status", json={"enabled": False}, headers=auth(tenant)
    )
    assert off.json()["data"]["is_active"] is False
    refused = await client.post(tenant.url, json={"email": "a@example.com"})
    assert refused.status_code == 404
    on = await client.patch(
        f"{BASE}/{tenant.webhook_id}/status", json={"enabled": True}, headers=auth(tenant)
    )
    assert on.json()["data"]["is_active"] is True
    await deliver(client, tenant, email="a@example.com", productid="HVAC")
    bad = await client.patch(
        f"{BASE}/{tenant.webhook_id}/status", json={"enabled": "maybe"}, headers=auth(tenant)
    )
    assert bad.status_code == 400


async def test_a_deleted_webhook_stops_taking_deliveries_and_can_be_restored(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, email="kept@example.com", productid="Roofing")
    deleted = await client.delete(f"{BASE}/{tenant.webhook_id}", headers=auth(tenant))
    assert deleted.status_code == 200
    assert deleted.json()["data"]["deleted_at"] is not None
    assert (await client.post(tenant.url, json={"email": "b@example.com"})).status_code == 404
    assert (await client.get(BASE, headers=auth(tenant))).json()["data"] == []
    shown = await client.get(BASE, params={"include_deleted": "true"}, headers=auth(tenant))
    assert [w["id"] for w in shown.json()["data"]] == [tenant.webhook_id]
    twice = await client.delete(f"{BASE}/{tenant.webhook_id}", headers=auth(tenant))
    assert twice.status_code == 409
    patched = await client.patch(
        f"{BASE}/{tenant.webhook_id}/status", json={"enabled": True}, headers=auth(tenant)
    )
    assert patched.status_code == 409  # restore it first

    restored = await client.post(f"{BASE}/{tenant.webhook_id}/restore", headers=auth(tenant))
    assert restored.status_code == 200
    assert (restored.json()["data"]["is_active"], restored.json()["data"]["deleted_at"]) == (
        True,
        None,
    )
    await deliver(client, tenant, email="b@example.com", productid="Roofing")
    assert (
        await client.post(f"{BASE}/{tenant.webhook_id}/restore", headers=auth(tenant))
    ).status_code == 409


async def test_a_day_after_its_delete_a_webhook_is_purged_and_its_leads_stay(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, email="stays@example.com", productid="Windows")
    other = make_tenant(db, workspace_id="39135")
    long_ago = utcnow() - timedelta(hours=25)
    with db.transaction() as conn:
        webhook.delete(conn, tenant.workspace_id, tenant.webhook_id, now=long_ago)
        webhook.delete(conn, other.workspace_id, other.webhook_id)  # just now: kept
    late = await client.post(f"{BASE}/{tenant.webhook_id}/restore", headers=auth(tenant))
    assert late.status_code == 409
    assert purge_deleted_webhooks(db) == 1
    assert count(db, Webhook, id=tenant.webhook_id) == 0
    assert count(db, Webhook, id=other.webhook_id) == 1
    assert count(db, InboundRequest, webhook_id=tenant.webhook_id) == 0
    assert one(db, Lead)["webhook_id"] == tenant.webhook_id  # the lead keeps where it came from
    gone = await client.get(f"{BASE}/{tenant.webhook_id}", headers=auth(tenant))
    assert gone.status_code == 404


async def test_force_deletes_at_once(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, email="f@example.com", productid="HVAC")
    answer = await client.delete(
        f"{BASE}/{tenant.webhook_id}", params={"force": "true"}, headers=auth(tenant)
    )
    assert answer.status_code == 200
    assert answer.json()["data"] is None
    assert count(db, Webhook, id=tenant.webhook_id) == 0
    assert count(db, Lead) == 1


async def test_webhook_administration_needs_the_admin_scope(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    with db.transaction() as conn:
        reader = account.create_api_key(
            conn, workspace_id=tenant.workspace_id, name="r", scopes=["read", "write"]
        ).key
    headers = {"X-API-Key": reader}
    assert (await client.get(BASE, headers=headers)).status_code == 200
    for method, path, body in [
        ("POST", BASE, {"name": "x"}),
        ("PATCH", f"{BASE}/{tenant.webhook_id}/status", {"enabled": False}),
        ("DELETE", f"{BASE}/{tenant.webhook_id}", None),
        ("POST", f"{BASE}/{tenant.webhook_id}/restore", None),
    ]:
        answer = await client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 403, (method, path)
    assert one(db, Webhook, id=tenant.webhook_id)["is_active"] is True


async def test_another_workspaces_webhook_is_not_found(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    other = make_tenant(db, workspace_id="other")
    for method, path in [
        ("DELETE", f"{BASE}/{other.webhook_id}"),
        ("POST", f"{BASE}/{other.webhook_id}/restore"),
        ("PATCH", f"{BASE}/{other.webhook_id}/status"),
    ]:
        body = {"enabled": False} if method == "PATCH" else None
        answer = await client.request(method, path, json=body, headers=auth(tenant))
        assert answer.status_code == 404, (method, path)
    assert one(db, Webhook, id=other.webhook_id)["is_active"] is True


async def test_stats_count_outcomes_and_times_per_period(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, email="one@example.com", productid="Solar")
    again = await client.post(tenant.url, json={"email": "one@example.com", "productid": "Solar"})
    assert again.status_code == 200  # the same body: a duplicate
    refused = await client.post(tenant.url, json={"firstname": "No identity"})
    assert refused.status_code == 400
    await deliver(client, tenant, email="old@example.com", productid="HVAC")
    with db.transaction() as conn:  # the last delivery took place three days ago
        newest = conn.execute(
            select(INBOUND.c.id).order_by(INBOUND.c.created_at.desc()).limit(1)
        ).scalar()
        conn.execute(
            update(INBOUND)
            .where(INBOUND.c.id == newest)
            .values(created_at=utcnow() - timedelta(days=3))
        )
    answer = await client.get(f"{BASE}/{tenant.webhook_id}/stats", headers=auth(tenant))
    assert answer.status_code == 200, answer.text
    stats = answer.json()["data"]
    assert stats["total_leads"] == 2
    day, week = stats["periods"]["24h"], stats["periods"]["7d"]
    assert (day["deliveries"], day["success"], day["error"], day["duplicate"]) == (3, 1, 1, 1)
    assert day["error_rate"] == 33.3
    assert (week["deliveries"], week["success"]) == (4, 2)
    assert stats["periods"]["30d"] == week
    assert day["processing_ms"]["p50"] is not None
    assert day["processing_ms"]["p50"] <= day["processing_ms"]["p99"]
