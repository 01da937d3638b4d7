"""The API applies the same field rules as webhook intake (issue 12 §4): a value that
cannot be stored is a 400 naming it, a body over the limit is a 413, and nothing changes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from leadpipe.storage.engine import Database
from leadpipe.storage.models import LeadActivity, PipelineStage
from tests.conftest import Tenant
from tests.integration.helpers import count
from tests.integration.test_lead_api import auth, deliver


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.fixture
async def person(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    return await deliver(client, tenant, phone="5551000001", product="Solar")


LEAD_BODIES = [
    ('{"estimated_value": 1e308}', "estimated_value"),
    ('{"estimated_value": "1e30"}', "estimated_value"),
    (json.dumps({"custom_fields": _nested(40)}), "custom_fields"),
    (json.dumps({"custom_fields": _nested(300)}), "custom_fields"),
    (json.dumps({"custom_fields": {"note": "a\u0000b"}}), "custom_fields"),
    (json.dumps({"initial_inquiry": "x\u0000y"}), "initial_inquiry"),
    (json.dumps({"initial_inquiry": "x" * 10_001}), "initial_inquiry"),
    (json.dumps({"tags": ["t" * 101]}), "tags"),
]


@pytest.mark.parametrize(("body", "field"), LEAD_BODIES)
async def test_a_lead_value_that_cannot_be_stored_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, person: dict[str, Any], body: str, field: str
) -> None:
    path = f"/api/v3/leads/{person['lead_id']}"
    before = (await client.get(path, headers=auth(tenant))).json()["data"]

    response = await client.put(
        path, content=body, headers={**auth(tenant), "content-type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert (await client.get(path, headers=auth(tenant))).json()["data"] == before


async def test_activity_data_nested_too_deep_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, person: dict[str, Any], db: Database
) -> None:
    timeline = count(db, LeadActivity)
    response = await client.post(
        f"/api/v3/leads/{person['lead_id']}/activities",
        json={"activity_type": "note", "title": "t", "activity_data": _nested(300)},
        headers=auth(tenant),
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "activity_data"
    assert count(db, LeadActivity) == timeline


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v3/leads/pipeline/39135/stages", {"stage_name": "X", "stage_order": 10**30}),
        ("PUT", "/api/v3/leads/pipeline/39135/stages/new", {"stage_order": 10**20}),
        (
            "POST",
            "/api/v3/custom-fields",
            {"field_key": "k", "label": "K", "field_type": "text", "sort_order": 10**30},
        ),
    ],
)
async def test_a_position_past_any_list_is_refused(
    client: httpx.AsyncClient,
    tenant: Tenant,
    db: Database,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    stages = count(db, PipelineStage)
    response = await client.request(method, path, json=body, headers=auth(tenant))
    assert response.status_code == 400, response.text
    assert count(db, PipelineStage) == stages


@pytest.mark.parametrize("path", ["/api/v3/leads", "/api/inbound-leads", "/api/v3/contacts"])
async def test_an_offset_past_any_list_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, path: str
) -> None:
    response = await client.get(path, params={"offset": 10**30}, headers=auth(tenant))
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "offset"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"city": "a\u0000"}, "city"),
        ({"notes": "n" * 10_001}, "notes"),
        ({"firstname": "f" * 256}, "firstname"),
    ],
)
async def test_a_contact_value_that_cannot_be_stored_is_refused(
    client: httpx.AsyncClient,
    tenant: Tenant,
    person: dict[str, Any],
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.put(
        f"/api/v3/contacts/{person['contact_id']}", json=body, headers=auth(tenant)
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == field


async def test_an_api_body_over_the_webhook_limit_is_413(
    client: httpx.AsyncClient, tenant: Tenant, person: dict[str, Any]
) -> None:
    big = json.dumps({"custom_fields": {"x": "a" * (1024 * 1024)}})
    response = await client.put(
        f"/api/v3/leads/{person['lead_id']}",
        content=big,
        headers={**auth(tenant), "content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_an_api_body_streamed_without_a_length_is_limited_too(
    client: httpx.AsyncClient, tenant: Tenant, person: dict[str, Any]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"custom_fields": {"x": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'"}}'

    response = await client.put(
        f"/api/v3/leads/{person['lead_id']}",
        content=chunks(),
        headers={**auth(tenant), "content-type": "application/json"},
    )
    assert response.status_code == 413
    lead = await client.get(f"/api/v3/leads/{person['lead_id']}", headers=auth(tenant))
    assert "x" not in (lead.json()["data"]["custom_fields"] or {})


NULLED_SETTINGS = [
    ("lead", {"priority": None}, "priority"),
    ("lead", {"custom_fields": None}, "custom_fields"),
    ("lead", {"is_active": None}, "is_active"),
    ("contact", {"custom_fields": None}, "custom_fields"),
    ("webhook", {"duplicate_window_minutes": None}, "duplicate_window_minutes"),
    ("webhook", {"is_active": None}, "is_active"),
    ("stage", {"stage_order": None}, "stage_order"),
    ("field", {"options": None}, "options"),
]


async def _record_path(client: httpx.AsyncClient, tenant: Tenant, kind: str, person: Any) -> str:
    if kind == "field":
        created = await client.post(
            "/api/v3/custom-fields",
            headers=auth(tenant),
            json={"field_key": "roof", "label": "Roof", "field_type": "select", "options": ["a"]},
        )
        assert created.status_code == 201, created.text
    return {
        "lead": f"/api/v3/leads/{person['lead_id']}",
        "contact": f"/api/v3/contacts/{person['contact_id']}",
        "webhook": f"/api/v3/webhooks/{tenant.webhook_id}",
        "stage": f"/api/v3/leads/pipeline/{tenant.workspace_id}/stages/new",
        "field": "/api/v3/custom-fields/roof",
    }[kind]


def _change(kind: str) -> str:
    return "PATCH" if kind == "webhook" else "PUT"


@pytest.mark.parametrize(("kind", "body", "field"), NULLED_SETTINGS)
async def test_null_for_a_value_a_record_always_has_is_refused(
    client: httpx.AsyncClient,
    tenant: Tenant,
    person: dict[str, Any],
    kind: str,
    body: dict[str, Any],
    field: str,
) -> None:
    path = await _record_path(client, tenant, kind, person)
    before = await _shown(client, tenant, kind, path)

    response = await client.request(_change(kind), path, json=body, headers=auth(tenant))

    assert response.status_code == 400, response.text
    assert [d["field"] for d in response.json()["details"]] == [field]
    assert await _shown(client, tenant, kind, path) == before


async def _shown(client: httpx.AsyncClient, tenant: Tenant, kind: str, path: str) -> Any:
    if kind in ("stage", "field"):  # listed, not served one by one
        listing = path.rsplit("/", 1)[0]
        response = await client.get(listing, headers=auth(tenant))
    else:
        response = await client.get(path, headers=auth(tenant))
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.mark.parametrize(
    ("kind", "field"),
    [("lead", "lost_reason"), ("webhook", "description"), ("stage", "description")],
)
async def test_null_clears_a_value_a_record_may_lack(
    client: httpx.AsyncClient, tenant: Tenant, person: dict[str, Any], kind: str, field: str
) -> None:
    path = await _record_path(client, tenant, kind, person)
    method = _change(kind)
    filled = await client.request(method, path, json={field: "Kept"}, headers=auth(tenant))
    assert filled.status_code == 200, filled.text

    cleared = await client.request(method, path, json={field: None}, headers=auth(tenant))

    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["data"][field] is None
