"""Every API endpoint, called with another workspace's key, answers 403 or 404 and no data.

The routes are read from the app itself, so an endpoint added later is covered (or this
test fails for want of sample values, which is the point).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant
from tests.integration.test_lead_api import auth, deliver

PUBLIC = {("GET", "/health"), ("GET", "/health/ready"), ("GET", "/api/v3/leads/health")}
# Workspace-free reference data: the same for everyone, no customer data in it.
SHARED = {("GET", "/api/v3/custom-fields/templates")}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/api/v3/leads/{lead_id}"): {"priority": "low"},
    ("POST", "/api/v3/leads/{lead_id}/activities"): {"activity_type": "note", "title": "x"},
    ("PUT", "/api/v3/contacts/{contact_id}"): {"city": "X"},
    ("POST", "/api/v3/leads/pipeline/{workspace_id}/stages"): {"stage_name": "Spy"},
    ("PUT", "/api/v3/leads/pipeline/{workspace_id}/stages/{stage_slug}"): {"color": "#000000"},
    ("POST", "/api/v3/leads/pipeline/{workspace_id}/stages/reorder"): {"order": ["new"]},
    ("PUT", "/api/v3/custom-fields/{field_key}"): {"label": "x"},
    ("PATCH", "/api/v3/webhooks/{webhook_id}"): {"name": "Hijacked"},
    ("PATCH", "/api/v3/webhooks/{webhook_id}/status"): {"enabled": False},
    ("POST", "/api/v3/webhooks/{webhook_id}/secrets"): {},
    ("PATCH", "/api/v3/providers/{provider_id}"): {"name": "Hijacked"},
    ("POST", "/api/v3/leads/{lead_id}/tasks"): {"title": "Spy", "due_at": "2026-12-08T09:00:00Z"},
    ("PATCH", "/api/v3/tasks/{task_id}"): {"title": "Hijacked"},
}
OWN_SCOPE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v3/custom-fields"): {"field_key": "mine", "label": "Mine", "field_type": "text"},
}
# Creates with no path id act in the caller's own workspace; naming the victim's
# workspace in the body or query must be refused.
OWN_WORKSPACE_CREATES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v3/leads"): {"workspace_id": "39135"},
    ("POST", "/api/v3/contacts"): {"workspace_id": "39135", "email": "spy@example.com"},
    ("GET", "/api/v3/leads"): {"workspace_id": "39135"},
    ("GET", "/api/inbound-leads"): {"workspace_id": "39135"},
}


def _routes(settings: Settings, db: Database) -> list[tuple[str, str]]:
    spec = create_app(settings, db).openapi()
    return sorted((method.upper(), path) for path, ops in spec["paths"].items() for method in ops)


@pytest.fixture
async def victim(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    delivered = await deliver(
        client, tenant, firstname="Victim", phone="5557000001", product="Solar"
    )
    await client.post(
        "/api/v3/custom-fields",
        headers=auth(tenant),
        json={"field_key": "secret_field", "label": "Secret", "field_type": "text"},
    )
    await client.post(tenant.url, json={"firstname": "Victim"})  # refused: no identity
    refused = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries",
        params={"status": "error"},
        headers=auth(tenant),
    )
    made = await client.post("/api/v3/providers", json={"name": "Victim's"}, headers=auth(tenant))
    imported = await client.post(
        "/api/v3/imports",
        content=b"First Name,Phone\nVictim,5557000002\nVictim,not a phone\n",
        headers={**auth(tenant), "Content-Type": "text/csv"},
    )
    planned = await client.post(
        f"/api/v3/leads/{delivered['lead_id']}/tasks",
        json={"title": "Victim's follow-up", "due_at": "2026-12-08T09:00:00Z"},
        headers=auth(tenant),
    )
    return {
        "task_id": planned.json()["data"]["id"],
        "import_id": imported.json()["data"]["id"],
        "provider_id": made.json()["data"]["id"],
        "webhook_id": tenant.webhook_id,
        "delivery_id": refused.json()["data"][0]["id"],
        "lead_id": delivered["lead_id"],
        "contact_id": delivered["contact_id"],
        "workspace_id": tenant.workspace_id,
        "stage_slug": "qualified",
        "field_key": "secret_field",
        "vertical": "solar",
    }


async def test_every_endpoint_refuses_another_workspace(
    client: httpx.AsyncClient,
    settings: Settings,
    db: Database,
    tenant: Tenant,
    victim: dict[str, str],
) -> None:
    intruder = make_tenant(db, workspace_id="intruder")
    checked = []
    for method, path in _routes(settings, db):
        if (method, path) in PUBLIC | SHARED or path.startswith("/webhook"):
            continue
        if (method, path) in OWN_WORKSPACE_CREATES:
            extra = OWN_WORKSPACE_CREATES[(method, path)]
            if method == "GET":
                response = await client.get(path, params=extra, headers=auth(intruder))
            else:
                response = await client.request(method, path, json=extra, headers=auth(intruder))
            assert response.status_code in (400, 403), (method, path, response.text)
            assert "data" not in response.json()
            assert "leads" not in response.json()
            checked.append((method, path))
            continue
        names = re.findall(r"{(\w+)}", path)
        if not set(names) - {"vertical"}:
            # Acts on the caller's own workspace only: whatever it answers, nothing of the
            # victim's may show.
            response = await client.request(
                method,
                path.format(**victim),
                json=OWN_SCOPE_BODIES.get((method, path)),
                headers=auth(intruder),
            )
            assert response.status_code < 500, (method, path, response.text)
            for secret in ("Victim", victim["lead_id"], victim["contact_id"], "secret_field"):
                assert secret not in response.text, (method, path)
            checked.append((method, path))
            continue
        url = path.format(**victim)
        response = await client.request(
            method, url, json=BODIES.get((method, path)), headers=auth(intruder)
        )
        assert response.status_code in (403, 404), (method, url, response.text)
        body = response.json()
        assert body["success"] is False
        assert "Victim" not in response.text
        assert "data" not in body  # a 404 may repeat the id asked for, nothing more
        checked.append((method, path))
    assert len(checked) >= 20

    # And nothing of the victim's changed.
    hook = await client.get(f"/api/v3/webhooks/{tenant.webhook_id}", headers=auth(tenant))
    assert hook.json()["data"]["name"] == "Test webhook"
    kept = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{victim['delivery_id']}",
        headers=auth(tenant),
    )
    assert kept.json()["data"]["replayed_as"] is None
    lead = (await client.get(f"/api/v3/leads/{victim['lead_id']}", headers=auth(tenant))).json()[
        "data"
    ]
    assert (lead["priority"], lead["stage"]) == ("medium", "new")
    fields = (await client.get("/api/v3/custom-fields", headers=auth(tenant))).json()["data"]
    assert [f["label"] for f in fields] == ["Secret"]
    stages = (
        await client.get(
            f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages", headers=auth(tenant)
        )
    ).json()["data"]
    assert "spy" not in [s["stage_slug"] for s in stages]


async def test_every_endpoint_but_health_needs_a_key(
    client: httpx.AsyncClient, settings: Settings, db: Database, victim: dict[str, str]
) -> None:
    for method, path in _routes(settings, db):
        if (method, path) in PUBLIC or path.startswith("/webhook"):
            continue
        response = await client.request(
            method, path.format(**victim), json=BODIES.get((method, path))
        )
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["code"] == "UNAUTHORIZED"
