"""The dashboard's pages for intake over HTTP: a webhook's preset, signatures, limits and
secrets, the dry-run box, and the providers page with credentials shown once."""

from __future__ import annotations

import json

import httpx

from leadpipe.accounts.rules import hash_api_key
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Lead, Provider, Webhook
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import count, counts, one
from tests.integration.test_lead_api import deliver


async def test_an_admin_sets_who_may_deliver_and_adds_a_secret_shown_once(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    saved = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/intake",
        data={
            "csrf_token": csrf,
            "preset": "facebook",
            "verify_token": "meatball-42",
            "signature_mode": "optional",
            "provider_required": "on",
            "rate_limit": "100",
            "rate_window_seconds": "60",
            "required_fields": "zip_code, product",
        },
    )
    assert saved.status_code == 303, saved.text
    hook = one(db, Webhook, id=tenant.webhook_id)
    assert (hook["preset"], hook["signature_mode"], hook["provider_required"]) == (
        "facebook",
        "optional",
        True,
    )
    assert (hook["rate_limit"], hook["rate_window_seconds"]) == (100, 60)
    assert hook["required_fields"] == ["zip_code", "product"]
    assert hook["preset_settings"] == {"verify_token": "meatball-42"}
    shown = await client.get(f"/app/webhooks/{tenant.webhook_id}")
    assert "meatball-42" not in shown.text
    assert "Page access token" in shown.text

    rotated = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/secrets", data={"csrf_token": csrf}
    )
    assert rotated.status_code == 200
    secret = one(db, Webhook, id=tenant.webhook_id)["secrets"][-1]["secret"]
    assert secret in rotated.text
    assert "shown this once" in rotated.text
    assert secret not in (await client.get(f"/app/webhooks/{tenant.webhook_id}")).text

    bad = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/intake",
        data={"csrf_token": csrf, "preset": "generic", "rate_limit": "0"},
    )
    assert bad.status_code == 400
    assert one(db, Webhook, id=tenant.webhook_id)["preset"] == "facebook"


async def test_the_dry_run_box_shows_the_decision_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, firstname="Ana", phone="5557001000", product="Solar")
    before = counts(db)
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    payload = {"firstname": "Ana", "phone": "555 700 1000", "product": "Solar", "<b>x</b>": "1"}
    answer = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/test",
        data={"csrf_token": csrf, "payload": json.dumps(payload)},
    )
    assert answer.status_code == 200
    assert "Would be accepted (200)" in answer.text
    assert "matched by phone" in answer.text
    assert "<b>x</b>" not in answer.text  # escaped
    assert counts(db) == before
    broken = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/test", data={"csrf_token": csrf, "payload": "{nope"}
    )
    assert "This is not JSON" in broken.text
    refused = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/test",
        data={"csrf_token": csrf, "payload": '{"firstname": "x"}'},
    )
    assert "Would be refused (400)" in refused.text


async def test_an_admin_adds_a_provider_whose_key_is_shown_once_and_works(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    made = await client.post(
        "/app/providers",
        data={
            "csrf_token": csrf,
            "name": "Click Ventures",
            "company": "Click Ventures LLC",
            "hourly_limit": "500",
            "allowed_webhooks": [tenant.webhook_id],
        },
    )
    assert made.status_code == 200, made.text
    stored = one(db, Provider, name="Click Ventures")
    assert (stored["hourly_limit"], stored["allowed_webhooks"]) == (500, [tenant.webhook_id])
    key = made.text.split('<pre id="new-key">')[1].split("</pre>")[0]
    assert hash_api_key(key) == stored["key_hash"]
    listed = await client.get("/app/providers")
    assert key not in listed.text
    assert "Click Ventures LLC" in listed.text

    delivered = await client.post(
        tenant.url,
        json={"email": "p@example.com", "product": "Solar"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert delivered.status_code == 200
    assert "1 accepted" in (await client.get("/app/providers")).text

    off = await client.post(
        f"/app/providers/{stored['id']}", data={"csrf_token": csrf, "is_active": "false"}
    )
    assert off.status_code == 303
    assert one(db, Provider, id=stored["id"])["is_active"] is False
    rotated = await client.post(f"/app/providers/{stored['id']}/rotate", data={"csrf_token": csrf})
    new_key = rotated.text.split('<pre id="new-key">')[1].split("</pre>")[0]
    assert hash_api_key(new_key) == one(db, Provider, id=stored["id"])["key_hash"]


async def test_agents_and_viewers_see_providers_but_change_nothing(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "agent"))
    page = await client.get("/app/providers")
    assert page.status_code == 200
    assert "New provider" not in page.text
    refused = await client.post("/app/providers", data={"csrf_token": csrf, "name": "Sneaky"})
    assert refused.status_code == 403
    settings = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/intake",
        data={"csrf_token": csrf, "signature_mode": "off"},
    )
    assert settings.status_code == 403
    assert count(db, Provider) == 0
    assert count(db, Lead) == 0


async def test_an_admin_writes_intake_rules_on_the_webhook_page(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    rules = [
        {
            "name": "Roofing is urgent",
            "priority": 40,
            "conditions": [{"field": "product", "operator": "equals", "value": "Roofing"}],
            "actions": {"priority": "urgent", "assignee": "admin@example.com"},
        }
    ]
    saved = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/rules",
        data={"csrf_token": csrf, "default_status": "qualified", "intake_rules": json.dumps(rules)},
    )
    assert saved.status_code == 303, saved.text
    shown = await client.get(f"/app/webhooks/{tenant.webhook_id}")
    assert "Roofing is urgent" in shown.text
    answer = await deliver(client, tenant, email="roof@example.com", product="Roofing")
    lead = one(db, Lead, id=answer["lead_id"])
    assert (lead["priority"], lead["stage"]) == ("urgent", "qualified")
    sidebar = await client.get(f"/app/leads/{lead['id']}")
    assert "Intake rule <strong>Roofing is urgent</strong>" in sidebar.text
    broken = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/rules",
        data={"csrf_token": csrf, "intake_rules": "[{"},
    )
    assert broken.status_code == 400
    assert len(one(db, Webhook, id=tenant.webhook_id)["intake_rules"]) == 1


async def test_the_webhook_page_shows_its_delivery_stats(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await deliver(client, tenant, email="s1@example.com", product="Solar")
    await client.post(tenant.url, json={"firstname": "No identity"})
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    page = await client.get(f"/app/webhooks/{tenant.webhook_id}")
    row = page.text.split("Last 24 hours</td>")[1].split("</tr>")[0]
    assert "<td>2</td>" in row
    assert "50.0%" in row
