"""Every delivery is in its webhook's delivery log; a refused one keeps its body and can
be replayed once the webhook's settings are fixed (issue 12 §4)."""

from __future__ import annotations

from typing import Any

import httpx

from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from tests.conftest import Tenant, make_tenant
from tests.integration.helpers import count
from tests.integration.test_intake_http import post

# A provider that nests its fields: refused until the webhook maps them.
NESTED = {"lead": {"mobile": "5551000001", "first": "Ada"}, "product": "Solar"}


def _api(tenant: Tenant) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


async def _deliveries(
    client: httpx.AsyncClient, tenant: Tenant, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries", params=params, headers=_api(tenant)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]
    return items


async def _fix_mapping(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.patch(
        f"/api/v3/webhooks/{tenant.webhook_id}",
        json={"field_mapping": {"lead.mobile": "phone", "lead.first": "firstname"}},
        headers=_api(tenant),
    )
    assert response.status_code == 200, response.text


async def _replay(client: httpx.AsyncClient, tenant: Tenant, delivery_id: str) -> httpx.Response:
    return await client.post(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{delivery_id}/replay",
        headers=_api(tenant),
    )


async def test_the_log_lists_every_outcome_newest_first(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await post(client, tenant, {"phone": "5551000001"})
    await post(client, tenant, {"phone": "5551000001"})  # the same body: a duplicate
    await post(client, tenant, NESTED)

    listed = await _deliveries(client, tenant)

    assert [d["status"] for d in listed] == ["error", "duplicate", "success"]
    refused = listed[0]
    assert refused["http_status"] == 400
    assert refused["error_code"] == "VALIDATION_ERROR"
    assert refused["has_body"] is True
    assert "body" not in refused  # bodies only with one delivery
    assert [d["status"] for d in await _deliveries(client, tenant, status="error")] == ["error"]


async def test_one_refused_delivery_shows_its_body_and_redacted_headers(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await post(client, tenant, NESTED, Authorization="Bearer secret-token")
    (refused,) = await _deliveries(client, tenant)

    response = await client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{refused['id']}", headers=_api(tenant)
    )

    shown = response.json()["data"]
    assert '"mobile":"5551000001"' in shown["body"].replace(" ", "")
    assert shown["headers"]["authorization"] == "[redacted]"
    assert "secret-token" not in response.text


async def test_a_replay_after_fixing_the_mapping_writes_the_lead(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    refused = await post(client, tenant, NESTED)
    assert refused.status_code == 400
    (entry,) = await _deliveries(client, tenant)
    await _fix_mapping(client, tenant)

    response = await _replay(client, tenant, entry["id"])

    assert response.status_code == 200, response.text
    outcome = response.json()["data"]
    assert outcome["http_status"] == 200
    assert outcome["response"]["lead_action"] == "created"
    assert (count(db, Contact), count(db, Lead)) == (1, 1)
    replay, original = await _deliveries(client, tenant)
    assert (replay["status"], replay["replay_of"]) == ("success", entry["id"])
    assert original["replayed_as"] == replay["id"] == outcome["replayed_as"]


async def test_a_delivery_is_replayed_once(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await post(client, tenant, NESTED)
    (entry,) = await _deliveries(client, tenant)
    await _fix_mapping(client, tenant)
    await _replay(client, tenant, entry["id"])

    again = await _replay(client, tenant, entry["id"])

    assert again.status_code == 409
    assert again.json()["code"] == "CONFLICT"
    assert count(db, Lead) == 1


async def test_a_replay_refused_again_is_logged_and_can_be_replayed_later(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await post(client, tenant, NESTED)
    (entry,) = await _deliveries(client, tenant)

    response = await _replay(client, tenant, entry["id"])  # the mapping is still wrong

    outcome = response.json()["data"]
    assert outcome["http_status"] == 400
    assert outcome["response"]["code"] == "VALIDATION_ERROR"
    assert count(db, Contact) == 0
    second_refusal, _ = await _deliveries(client, tenant)
    assert second_refusal["replay_of"] == entry["id"]
    await _fix_mapping(client, tenant)
    final = await _replay(client, tenant, second_refusal["id"])
    assert final.json()["data"]["http_status"] == 200
    assert count(db, Lead) == 1


async def test_a_refused_workspace_header_and_a_form_body_replay(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    refused = await client.post(
        tenant.url,
        data={"phone": "5551000002", "product": "HVAC"},
        headers={"x-workspace-id": "someone-else"},
    )
    assert refused.status_code == 403
    (entry,) = await _deliveries(client, tenant)

    response = await _replay(client, tenant, entry["id"])

    assert response.json()["data"]["http_status"] == 200
    assert count(db, Lead) == 1


async def test_only_refusals_can_be_replayed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await post(client, tenant, {"phone": "5551000001"})
    (accepted,) = await _deliveries(client, tenant)

    response = await _replay(client, tenant, accepted["id"])

    assert response.status_code == 409


async def test_another_workspace_sees_no_deliveries(
    client: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    await post(client, tenant, NESTED)
    (entry,) = await _deliveries(client, tenant)
    other = make_tenant(db, workspace_id="other")
    path = f"/api/v3/webhooks/{tenant.webhook_id}/deliveries"

    listed = await client.get(path, headers=_api(other))
    replay = await client.post(f"{path}/{entry['id']}/replay", headers=_api(other))

    assert (listed.status_code, replay.status_code) == (404, 404)
    assert count(db, Contact) == 0


async def test_a_bad_setting_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    path = f"/api/v3/webhooks/{tenant.webhook_id}"
    before = (await client.get(path, headers=_api(tenant))).json()["data"]

    response = await client.patch(
        path,
        json={"field_mapping": {"a": ""}, "duplicate_window_minutes": 5},
        headers=_api(tenant),
    )

    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "field_mapping.a"
    assert (await client.get(path, headers=_api(tenant))).json()["data"] == before
