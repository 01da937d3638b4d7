"""Kept lead counts stay equal to counting the leads, whoever writes them, on both backends.

Totals, the pipeline overview and the inbound metrics read ``lead_counts``; a drift would
show users wrong numbers, so every write path is exercised here and then recounted.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import httpx
from sqlalchemy import text

from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant
from tests.integration.test_lead_api import auth, deliver

Key = tuple[str, str, str, str, str, bool, bool]


def kept(db: Database) -> dict[Key, tuple[int, Decimal]]:
    with db.transaction(write=False) as conn:
        rows = conn.execute(
            text(
                "SELECT workspace_id, stage, lead_source, product_interest, product_key, "
                "is_active, is_converted, lead_count, value_total FROM lead_counts "
                "WHERE lead_count <> 0 OR value_total <> 0"
            )
        )
        return {(*r[:5], bool(r[5]), bool(r[6])): (r[7], Decimal(r[8])) for r in rows}


def recounted(db: Database) -> dict[Key, tuple[int, Decimal]]:
    counts: Counter[Key] = Counter()
    values: dict[Key, Decimal] = {}
    with db.transaction(write=False) as conn:
        rows = conn.execute(
            text(
                "SELECT workspace_id, stage, lead_source, product_interest, product_key, "
                "is_active, is_converted, estimated_value FROM leads"
            )
        )
        for ws, stage, source, product, pkey, active, converted, value in rows:
            key = (ws, stage, source or "", product or "", pkey, bool(active), bool(converted))
            counts[key] += 1
            values[key] = values.get(key, Decimal(0)) + Decimal(value or 0)
    return {key: (n, values[key].quantize(Decimal("0.01"))) for key, n in counts.items()}


def assert_counts_kept(db: Database) -> None:
    got = {k: (n, v.quantize(Decimal("0.01"))) for k, (n, v) in kept(db).items()}
    assert got == recounted(db)


async def test_every_write_path_keeps_the_counts(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    other = make_tenant(db, "other-ws")
    # Webhook intake: new leads, a lead without source or product, status updates.
    ana = await deliver(client, tenant, phone="5556000001", product="Solar", source="Google Ads")
    await deliver(client, tenant, phone="5556000002", product="Roofing", estimated_value=9000)
    await deliver(client, tenant, phone="5556000003", notes="call me")
    await deliver(client, other, phone="5556000001", product="Solar", estimated_value=100)
    await deliver(client, tenant, phone="5556000001", product="Solar", lead_status="qualified")
    await deliver(client, tenant, phone="5556000002", product="Roofing", lead_status="closed won")
    assert_counts_kept(db)

    # The Lead API: create, then change value, source, stage, and close as lost.
    created = await client.post(
        "/api/v3/leads",
        headers=auth(tenant),
        json={
            "contact_id": ana["contact_id"],
            "product_interest": "HVAC",
            "lead_source": "Angi",
            "estimated_value": 4200.5,
        },
    )
    assert created.status_code == 201, created.text
    lead_id = created.json()["data"]["id"]
    for body in (
        {"estimated_value": 5000.25, "lead_source": "Referral"},
        {"stage": "proposal"},
        {"stage": "lost", "lost_reason": "went elsewhere"},
    ):
        response = await client.put(f"/api/v3/leads/{lead_id}", headers=auth(tenant), json=body)
        assert response.status_code == 200, response.text
    assert_counts_kept(db)

    # Deleting a stage moves its leads; deleting a contact removes its leads.
    stages = f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages"
    made = await client.post(stages, headers=auth(tenant), json={"stage_name": "Site Visit"})
    assert made.status_code == 201, made.text
    moved = await client.put(
        f"/api/v3/leads/{ana['lead_id']}", headers=auth(tenant), json={"stage": "site_visit"}
    )
    assert moved.status_code == 200, moved.text
    deleted = await client.delete(f"{stages}/site_visit?move_to=proposal", headers=auth(tenant))
    assert deleted.status_code == 200, deleted.text
    gone = await client.delete(f"/api/v3/contacts/{ana['contact_id']}", headers=auth(tenant))
    assert gone.status_code == 200, gone.text
    assert_counts_kept(db)

    # Even SQL that bypasses leadpipe's code is counted.
    with db.transaction() as conn:
        conn.execute(text("UPDATE leads SET stage = 'negotiation', estimated_value = 1"))
    assert_counts_kept(db)
    assert {key[0] for key in kept(db)} == {tenant.workspace_id, other.workspace_id}


async def test_the_numbers_users_see_come_out_of_the_kept_counts(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    for i in range(3):
        await deliver(client, tenant, phone=f"555601000{i}", product="Solar", estimated_value=10)
    # A bypassing write that no trigger sees would make the screens disagree with the rows:
    # changing the kept counts directly shows which numbers come from them.
    with db.transaction() as conn:
        conn.execute(text("UPDATE lead_counts SET lead_count = lead_count + 40"))
    headers = auth(tenant)
    listed = (await client.get("/api/v3/leads?limit=1", headers=headers)).json()
    overview = (
        await client.get(f"/api/v3/leads/pipeline/{tenant.workspace_id}", headers=headers)
    ).json()["data"]
    queue = (
        await client.get(f"/api/inbound-leads?workspace_id={tenant.workspace_id}", headers=headers)
    ).json()
    assert listed["pagination"]["total"] == 43
    assert overview["total_leads"] == 43
    assert queue["metrics"]["totalLeads"] == queue["total"] == 43
    # Today's arrivals are counted from the leads themselves.
    assert queue["metrics"]["todayLeads"] == 3


async def test_a_filter_matching_nothing_answers_without_reading_leads(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await deliver(client, tenant, phone="5556020000", product="Solar")
    response = await client.get("/api/v3/leads?stage=proposal", headers=auth(tenant))
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert response.json()["pagination"] == {
        "total": 0,
        "limit": 50,
        "offset": 0,
        "has_more": False,
    }


async def test_concurrent_deliveries_keep_the_counts_without_deadlocks(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # Leads of one product move between the same stages in opposite directions at once:
    # counter rows are locked in key order, so no delivery fails with a deadlock.
    phones = [f"555603{i:04d}" for i in range(8)]
    await asyncio.gather(*(deliver(client, tenant, phone=p, product="Solar") for p in phones))
    waves = (["qualified", "proposal"], ["proposal", "qualified"], ["negotiation", "qualified"])
    for wave in waves:
        await asyncio.gather(
            *(
                deliver(client, tenant, phone=p, product="Solar", lead_status=wave[i % 2])
                for i, p in enumerate(phones)
            )
        )
    assert_counts_kept(db)
    assert sum(n for n, _ in kept(db).values()) == len(phones)
