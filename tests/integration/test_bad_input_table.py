"""Every route that takes text gets the inputs that used to break something: NUL, a string
over the body limit, deep nesting, 2^70, NaN and Infinity, a lone surrogate, bad UTF-8 and
the wrong content type. Each answers 4xx in the error envelope and writes nothing.

Bodies start from a valid one per operation (the only thing wrong is the injected value),
with every record they name real, so that a refusal is the input's and not a missing
record's. Operations are read from the API schema: one added later without a valid body
here fails the test until it has one.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.base import Base
from leadpipe.storage.engine import Database
from tests.conftest import Tenant
from tests.integration.test_lead_api import auth, deliver

PLACEHOLDER = '"__BAD_VALUE__"'
NESTED = "[" * 10_000 + "]" * 10_000
# Raw JSON tokens, put where a value stands: each is bad JSON, or a value no database
# stores as sent.
BAD_VALUES: dict[str, bytes] = {
    "nul": b'"ab\\u0000cd"',
    "raw nul": b'"ab\x00cd"',
    "over the body limit": b'"' + b"x" * (1024 * 1024 + 1) + b'"',
    "deep nesting": NESTED.encode(),
    "2^70": str(2**70).encode(),
    "-2^70": str(-(2**70)).encode(),
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "1e999": b"1e999",
    "lone surrogate": b'"\\ud800"',
    "bad utf-8": b'"\xff\xfe\xfd"',
}
# Tables whose rows are a record of the request itself, not something it wrote.
LOGS = {"inbound_requests", "webhook_deliveries", "provider_usage"}


def valid_bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        ("POST", "/api/v3/leads"): {"contact_id": ids["contact_id"], "product_interest": "Roof"},
        ("PUT", "/api/v3/leads/{lead_id}"): {"notes": "Call back", "priority": "high"},
        ("POST", "/api/v3/leads/{lead_id}/activities"): {
            "activity_type": "note",
            "title": "Called",
            "description": "Left a message",
        },
        ("POST", "/api/v3/leads/{lead_id}/tasks"): {
            "title": "Call back",
            "due_at": "2030-01-02T09:00:00Z",
        },
        ("PATCH", "/api/v3/tasks/{task_id}"): {"title": "Call again", "done": True},
        ("POST", "/api/v3/contacts"): {
            "firstname": "Bo",
            "phone_number": "5125550123",
            "custom_fields": {"roof": "flat"},
        },
        ("PUT", "/api/v3/contacts/{contact_id}"): {"city": "Austin", "custom_fields": {"a": 1}},
        ("POST", "/api/v3/leads/pipeline/{workspace_id}/stages"): {"stage_name": "Site visit"},
        ("PUT", "/api/v3/leads/pipeline/{workspace_id}/stages/{stage_slug}"): {
            "stage_name": "Qualified lead"
        },
        ("POST", "/api/v3/leads/pipeline/{workspace_id}/stages/reorder"): {
            "order": ["new", "qualified", "proposal", "negotiation", "won", "lost", "inactive"]
        },
        ("POST", "/api/v3/custom-fields"): {
            "field_key": "roof_age",
            "label": "Roof age",
            "field_type": "text",
        },
        ("PUT", "/api/v3/custom-fields/{field_key}"): {"label": "Kind of roof"},
        ("POST", "/api/v3/webhooks"): {
            "name": "Another",
            "field_mapping": {"customer.phone": "phone"},
            "preset_settings": {},
        },
        ("PATCH", "/api/v3/webhooks/{webhook_id}"): {"name": "Renamed", "description": "x"},
        ("PATCH", "/api/v3/webhooks/{webhook_id}/status"): {"enabled": True},
        ("POST", "/api/v3/webhooks/{webhook_id}/secrets"): {"keep_old_hours": 24},
        ("POST", "/api/v3/providers"): {"name": "Click Ventures", "notes": "x"},
        ("PATCH", "/api/v3/providers/{provider_id}"): {"name": "Click", "notes": "y"},
    }


# Intake and its dry run keep what they cannot read (DESIGN 2.12): tested on their own below.
INTAKE = {("POST", "/webhooks/{webhook_id}"), ("POST", "/webhooks/{webhook_id}/test")}
# Numbers no database stores exactly, which a delivery keeps as the text sent.
KEPT_AS_TEXT = {"2^70", "-2^70", "NaN", "Infinity", "1e999"}
# Operations with a body that take no text (a body of ids, or none that matters).
NO_TEXT_BODY = {
    ("POST", "/api/v3/custom-fields/templates/{vertical}"),
    ("POST", "/api/v3/webhooks/{webhook_id}/restore"),
    ("POST", "/api/v3/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"),
    ("POST", "/api/v3/providers/{provider_id}/rotate"),
    ("POST", "/api/v3/tasks/{task_id}/complete"),
    # A CSV file, not JSON: its bad input is tested in test_csv_import.py.
    ("POST", "/api/v3/imports"),
}


@pytest.fixture
async def roomy_client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app without the per-key rate limit, which these many requests would reach."""
    app = create_app(settings.model_copy(update={"api_rate_limit": "100000/minute"}), db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.8", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def ids(roomy_client: httpx.AsyncClient, tenant: Tenant) -> dict[str, str]:
    delivered = await deliver(roomy_client, tenant, phone="5125550100", product="Solar")
    provider = await roomy_client.post(
        "/api/v3/providers", json={"name": "Known"}, headers=auth(tenant)
    )
    await roomy_client.post(tenant.url, json={"firstname": "No identity"})
    refused = await roomy_client.get(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries",
        params={"status": "error"},
        headers=auth(tenant),
    )
    field = await roomy_client.post(
        "/api/v3/custom-fields",
        json={"field_key": "known", "label": "Known", "field_type": "text"},
        headers=auth(tenant),
    )
    assert field.status_code == 201, field.text
    imported = await roomy_client.post(
        "/api/v3/imports",
        content=b"phone,product\n5125550199,Solar\n",
        headers={**auth(tenant), "Content-Type": "text/csv"},
    )
    assert imported.status_code == 202, imported.text
    added = await roomy_client.post(
        f"/api/v3/leads/{delivered['lead_id']}/tasks",
        json={"title": "Known", "due_at": "2030-01-01T09:00:00Z"},
        headers=auth(tenant),
    )
    assert added.status_code == 201, added.text
    return {
        "task_id": added.json()["data"]["id"],
        "import_id": imported.json()["data"]["id"],
        "lead_id": delivered["lead_id"],
        "contact_id": delivered["contact_id"],
        "workspace_id": tenant.workspace_id,
        "webhook_id": tenant.webhook_id,
        "provider_id": provider.json()["data"]["id"],
        "delivery_id": refused.json()["data"][0]["id"],
        "stage_slug": "qualified",
        "field_key": "known",
        "vertical": "solar",
    }


def injected(body: dict[str, Any]) -> list[tuple[str, bytes]]:
    """``body`` with the placeholder for each field's value in turn, and also inside each
    free-form object or list (where no type check stops the value)."""
    templates = []
    for field, value in body.items():
        templates.append((field, {**body, field: "__BAD_VALUE__"}))
        if isinstance(value, dict):
            templates.append((f"{field}.bad", {**body, field: {**value, "bad": "__BAD_VALUE__"}}))
            templates.append((f"{field}.deep", {**body, field: {"a": {"b": ["__BAD_VALUE__"]}}}))
        if isinstance(value, list):
            templates.append((f"{field}[]", {**body, field: [*value, "__BAD_VALUE__"]}))
    return [(field, json.dumps(changed).encode()) for field, changed in templates]


def row_counts(db: Database) -> dict[str, int]:
    with db.transaction(write=False) as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name not in LOGS
        }


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, ops in schema["paths"].items()
        for method, operation in ops.items()
    ]


def assert_refused(answer: httpx.Response, what: str) -> None:
    assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text[:300])
    body = answer.json()
    assert body["success"] is False, what
    assert body["code"], (what, body)
    assert body["error"], (what, body)
    assert body["request_id"], (what, body)


async def test_every_body_refuses_every_bad_value_and_writes_nothing(
    roomy_client: httpx.AsyncClient, db: Database, tenant: Tenant, ids: dict[str, str]
) -> None:
    bodies = valid_bodies(ids)
    schema = (await roomy_client.get("/openapi.json")).json()
    with_bodies = {(m, p) for m, p, op in operations(schema) if "requestBody" in op}
    assert with_bodies - NO_TEXT_BODY - INTAKE == set(bodies), "give each a valid body here"
    before = row_counts(db)
    for (method, path), body in bodies.items():
        url = path.format(**ids)
        for field, template in injected(body):
            for name, token in BAD_VALUES.items():
                answer = await roomy_client.request(
                    method,
                    url,
                    content=template.replace(PLACEHOLDER.encode(), token),
                    headers={**auth(tenant), "Content-Type": "application/json"},
                )
                assert_refused(answer, f"{method} {path} {field}={name}")
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "image/png"):
            answer = await roomy_client.request(
                method,
                url,
                content=json.dumps(body).encode() if content_type != "image/png" else b"\x89PNG",
                headers={**auth(tenant), "Content-Type": content_type},
            )
            assert_refused(answer, f"{method} {path} as {content_type}")
    assert row_counts(db) == before


async def test_every_query_and_path_refuses_nul(
    roomy_client: httpx.AsyncClient, db: Database, tenant: Tenant, ids: dict[str, str]
) -> None:
    schema = (await roomy_client.get("/openapi.json")).json()
    before = row_counts(db)
    for method, path, operation in operations(schema):
        url = path.format(**ids)
        for parameter in operation.get("parameters", []):
            name = parameter["name"]
            if parameter["in"] == "query":
                answer = await roomy_client.request(
                    method, url, params={name: "a\x00b"}, headers=auth(tenant)
                )
                assert_refused(answer, f"{method} {path}?{name}=NUL")
            elif parameter["in"] == "path":
                broken = re.sub(r"\{" + name + r"\}", "a%00b", path).format(**ids)
                answer = await roomy_client.request(method, broken, headers=auth(tenant))
                assert_refused(answer, f"{method} {path} with NUL in {name}")
    assert row_counts(db) == before


@pytest.mark.parametrize("name", sorted(BAD_VALUES))
async def test_a_delivery_and_its_dry_run_give_one_verdict_on_every_bad_value(
    roomy_client: httpx.AsyncClient, db: Database, tenant: Tenant, name: str
) -> None:
    """What intake cannot store it refuses (kept in the log); a number it cannot store
    exactly it keeps as the text sent, with a warning; the dry run says the same."""
    template = json.dumps({"phone": "5125550125", "notes": "x", "extra": "__BAD_VALUE__"})
    body = template.encode().replace(PLACEHOLDER.encode(), BAD_VALUES[name])
    json_body = {"Content-Type": "application/json"}
    before = row_counts(db)
    dry = await roomy_client.post(
        f"/webhooks/{tenant.webhook_id}/test", content=body, headers={**auth(tenant), **json_body}
    )
    assert row_counts(db) == before, "a dry run writes nothing"
    real = await roomy_client.post(tenant.url, content=body, headers=json_body)
    if name in KEPT_AS_TEXT:
        assert real.status_code == 200, real.text
        assert real.json()["warnings"], real.text
        contact = await roomy_client.get(
            f"/api/v3/contacts/{real.json()['contact_id']}", headers=auth(tenant)
        )
        assert contact.json()["data"]["custom_fields"]["extra"] == BAD_VALUES[name].decode()
    else:
        assert_refused(real, f"a delivery with {name}")
        assert row_counts(db) == before
    if dry.status_code == 200:
        verdict = dry.json()["data"]
        assert verdict["accepted"] is (real.status_code == 200), verdict
        assert verdict["http_status"] == real.status_code, verdict
    else:  # refused before it could be tried: the delivery is refused the same way
        assert_refused(dry, f"a dry run with {name}")
        assert dry.status_code == real.status_code
