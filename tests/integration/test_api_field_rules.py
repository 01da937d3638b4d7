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
