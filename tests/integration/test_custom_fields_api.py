"""Custom field definitions and lead values through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import count
from tests.integration.test_lead_api import auth, deliver

URL = "/api/v3/custom-fields"


async def define(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> httpx.Response:
    return await client.post(URL, headers=auth(tenant), json=body)


async def test_define_list_update_and_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await define(
        client,
        tenant,
        field_key="roof_type",
        label="Roof type",
        field_type="select",
        options=["shingle", "tile"],
    )
    assert created.status_code == 201, created.text
    assert (
        await define(client, tenant, field_key="roof_type", label="Again", field_type="text")
    ).status_code == 409
    bad = await define(client, tenant, field_key="colour", label="C", field_type="select")
    assert bad.status_code == 400
    assert (
        await define(client, tenant, field_key="Bad Key", label="x", field_type="text")
    ).status_code == 400

    updated = await client.put(
        f"{URL}/roof_type",
        headers=auth(tenant),
        json={"options": ["shingle", "tile", "metal"], "required": True},
    )
    assert updated.json()["data"]["options"] == ["shingle", "tile", "metal"]
    listed = (await client.get(URL, headers=auth(tenant))).json()["data"]
    assert [(f["field_key"], f["required"]) for f in listed] == [("roof_type", True)]
    assert (await client.delete(f"{URL}/roof_type", headers=auth(tenant))).status_code == 200
    assert (await client.get(URL, headers=auth(tenant))).json()["data"] == []
    assert (await client.delete(f"{URL}/roof_type", headers=auth(tenant))).status_code == 404


async def test_template_is_applied_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    templates = (await client.get(f"{URL}/templates", headers=auth(tenant))).json()["data"]
    assert {"solar", "hvac", "insurance"} <= set(templates)
    first = await client.post(f"{URL}/templates/solar", headers=auth(tenant))
    assert first.status_code == 201
    keys = [f["field_key"] for f in first.json()["data"]]
    assert "monthly_electric_bill" in keys
    again = await client.post(f"{URL}/templates/solar", headers=auth(tenant))
    assert len(again.json()["data"]) == len(keys)
    assert (await client.post(f"{URL}/templates/pools", headers=auth(tenant))).status_code == 404


async def test_lead_values_are_checked_on_create_and_update(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await client.post(f"{URL}/templates/solar", headers=auth(tenant))
    await define(
        client, tenant, field_key="hoa_name", label="HOA", field_type="text", required=True
    )
    contact = await deliver(client, tenant, email="solar@example.com")
    base = {"contact_id": contact["contact_id"], "product_interest": "Solar"}

    refused = await client.post(
        "/api/v3/leads",
        headers=auth(tenant),
        json={
            **base,
            "custom_fields": {"roof_condition": "leaky", "monthly_electric_bill": "lots"},
        },
    )
    assert refused.status_code == 400
    assert {d["field"] for d in refused.json()["details"]} == {
        "custom_fields.roof_condition",
        "custom_fields.monthly_electric_bill",
        "custom_fields.hoa_name",
    }
    assert count(db, Lead) == 0

    created = await client.post(
        "/api/v3/leads",
        headers=auth(tenant),
        json={
            **base,
            "custom_fields": {
                "roof_condition": "good",
                "monthly_electric_bill": "$300",
                "hoa_name": "Oak Hills",
                "free_note": "kept as sent",
            },
        },
    )
    assert created.status_code == 201, created.text
    lead = created.json()["data"]
    assert lead["custom_fields"] == {
        "roof_condition": "good",
        "monthly_electric_bill": 300,
        "hoa_name": "Oak Hills",
        "free_note": "kept as sent",
    }

    url = f"/api/v3/leads/{lead['id']}"
    bad = await client.put(url, headers=auth(tenant), json={"custom_fields": {"roof_age": "old"}})
    assert bad.status_code == 400
    good = await client.put(url, headers=auth(tenant), json={"custom_fields": {"roof_age": 12}})
    assert good.json()["data"]["custom_fields"]["roof_age"] == 12
    assert good.json()["data"]["custom_fields"]["hoa_name"] == "Oak Hills"  # merged, not lost


async def test_definitions_are_per_workspace(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await define(client, tenant, field_key="secret", label="Secret", field_type="text")
    other = make_tenant(db, workspace_id="other")
    assert (await client.get(URL, headers=auth(other))).json()["data"] == []
    assert (
        await client.put(f"{URL}/secret", headers=auth(other), json={"label": "x"})
    ).status_code == 404
