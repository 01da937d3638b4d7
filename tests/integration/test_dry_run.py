"""``POST /webhooks/{id}/test``: what a webhook would do with a payload, written nowhere."""

from __future__ import annotations

import httpx

from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import counts
from tests.integration.test_lead_api import auth, deliver


async def test_a_dry_run_shows_the_match_and_the_decision_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    first = await deliver(client, tenant, firstname="Ana", phone="5557001000", product="Solar")
    before = counts(db)
    again = await client.post(
        f"/webhooks/{tenant.webhook_id}/test",
        json={
            "first": "Ana",
            "mobile": "(555) 700-1000",
            "product": "Solar",
            "status": "Qualified",
            "roof": "new",
        },
        headers=auth(tenant),
    )
    assert again.status_code == 200, again.text
    out = again.json()["data"]
    assert (out["accepted"], out["http_status"]) == (True, 200)
    assert out["fields"]["phone_number"] == "+15557001000"
    assert out["contact"] == {
        "match_type": "phone",
        "contact_id": first["contact_id"],
        "candidates": 1,
    }
    assert out["lead"] == {
        "action": "updated",
        "rule": "status_progression",
        "reason": out["lead"]["reason"],
        "lead_id": first["lead_id"],
    }
    assert out["custom_fields"] == {"first": "Ana", "roof": "new"}

    new = await client.post(
        f"/webhooks/{tenant.webhook_id}/test",
        json={"email": "new.person@example.com", "product": "HVAC"},
        headers=auth(tenant),
    )
    assert new.json()["data"]["contact"]["match_type"] == "new"
    assert new.json()["data"]["lead"]["action"] == "created"
    assert counts(db) == before


async def test_a_dry_run_shows_the_refusal_a_bad_payload_would_get(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    before = counts(db)
    bad = await client.post(
        f"/webhooks/{tenant.webhook_id}/test", json={"firstname": "Nobody"}, headers=auth(tenant)
    )
    assert bad.status_code == 200
    out = bad.json()["data"]
    assert (out["accepted"], out["http_status"]) == (False, 400)
    assert out["refusal"]["code"] == "VALIDATION_ERROR"
    assert out["refusal"]["details"][0]["field"] == "phone_number"
    assert counts(db) == before


async def test_a_dry_run_needs_a_key_of_the_webhooks_workspace(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    anonymous = await client.post(f"/webhooks/{tenant.webhook_id}/test", json={"email": "a@b.co"})
    assert anonymous.status_code == 401
    other = make_tenant(db, workspace_id="other")
    foreign = await client.post(
        f"/webhooks/{tenant.webhook_id}/test", json={"email": "a@b.co"}, headers=auth(other)
    )
    assert foreign.status_code == 404
    assert foreign.json()["success"] is False


async def test_a_dry_run_shows_the_vertical_fields_and_the_consent_apart(
    client: httpx.AsyncClient, db: Database
) -> None:
    solar = make_tenant(db, lead_type="solar")
    out = (
        await client.post(
            f"/webhooks/{solar.webhook_id}/test",
            json={
                "email": "sun@example.com",
                "product": "Solar",
                "monthly_electric_bill": "210",
                "consent": {"description": "I agree", "value": True},
            },
            headers=auth(solar),
        )
    ).json()["data"]
    assert out["vertical_fields"] == {"monthly_electric_bill": 210}
    assert out["consent_proof"]["value"] is True
    assert "custom_fields" not in out["fields"]
    assert "consent_proof" not in out["fields"]
