"""Input at the edge of what can be stored: integers beyond 64 bits, NaN and Infinity,
lone surrogates, NUL characters in URLs, forms and JSON, odd digits in a signature's
timestamp, JSON nested too deep. Each is refused in the envelope and writes nothing, or,
in a webhook delivery, kept as the exact text sent with a warning; never a 500."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text

from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, InboundRequest, Lead
from leadpipe.webhooks.signatures import sign_standard
from tests.conftest import Tenant, serving
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import count, counts, rows
from tests.integration.test_intake_security import rotate, set_webhook
from tests.integration.test_lead_api import auth, deliver

BIG = 2**70  # 1180591620717411303424
JSON = {"content-type": "application/json"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def refused(response: httpx.Response, status: int = 400, code: str = "VALIDATION_ERROR") -> Any:
    """The envelope of a refusal; its details."""
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["success"], body["code"]) == (False, code), body
    assert body["request_id"]
    assert isinstance(body["error"], str)
    return body["details"]


def fields_named(details: list[dict[str, Any]]) -> list[str]:
    return [d["field"] for d in details]


def written(db: Database) -> dict[str, int]:
    return {**counts(db), "inbound_requests": count(db, InboundRequest)}


# -- free-form JSON in the API ---------------------------------------------------------

# The raw JSON of each value: NaN and a lone surrogate cannot be written by a JSON encoder.
UNSTORABLE_VALUES = {
    "an integer beyond 64 bits": (str(BIG).encode(), "must be an integer within 64 bits"),
    "a negative one": (str(-(2**64)).encode(), "must be an integer within 64 bits"),
    "NaN": (b"NaN", "must be a finite number"),
    "Infinity": (b"-Infinity", "must be a finite number"),
    "a lone surrogate": (b'"\\ud800"', "lone UTF-16 surrogate"),
    "a NUL character": (b'"a\\u0000b"', "NUL characters"),
}


def _raw(template: dict[str, Any], value: bytes) -> bytes:
    """``template`` as JSON, its ``"@"`` replaced by the raw JSON ``value``."""
    return orjson.dumps(template).replace(b'"@"', value)


async def _a_lead(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    return await deliver(client, tenant, email="edge@example.com", product="Solar")


# (what, method, path (with {lead_id}, {webhook_id}), body with "@" for the value, field)
FREE_FORM = [
    (
        "contact custom fields",
        "POST",
        "/api/v3/contacts",
        {"email": "new@example.com", "custom_fields": {"roof": {"age": "@"}}},
        "custom_fields",
    ),
    (
        "lead custom fields",
        "PUT",
        "/api/v3/leads/{lead_id}",
        {"custom_fields": {"n": "@"}},
        "custom_fields",
    ),
    (
        "activity data",
        "POST",
        "/api/v3/leads/{lead_id}/activities",
        {"activity_type": "call", "title": "Called", "activity_data": {"n": ["@"]}},
        "activity_data",
    ),
    (
        "preset settings",
        "PATCH",
        "/api/v3/webhooks/{webhook_id}",
        {"preset_settings": {"verify_token": "@"}},
        "preset_settings",
    ),
    (
        "an intake rule's value",
        "PATCH",
        "/api/v3/webhooks/{webhook_id}",
        {
            "intake_rules": [
                {
                    "name": "big",
                    "conditions": [{"field": "zip_code", "operator": "equals", "value": "@"}],
                    "actions": {"stage": "qualified"},
                }
            ]
        },
        "intake_rules",
    ),
]


@pytest.mark.parametrize("value_name", list(UNSTORABLE_VALUES))
@pytest.mark.parametrize(("what", "method", "path", "template", "field"), FREE_FORM)
async def test_the_api_refuses_free_form_json_it_cannot_store(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    value_name: str,
    what: str,
    method: str,
    path: str,
    template: dict[str, Any],
    field: str,
) -> None:
    lead = await _a_lead(client, tenant)
    url = path.format(lead_id=lead["lead_id"], webhook_id=tenant.webhook_id)
    hook_before = (
        await client.get(f"/api/v3/webhooks/{tenant.webhook_id}", headers=auth(tenant))
    ).json()
    before = written(db)
    raw, message = UNSTORABLE_VALUES[value_name]
    response = await client.request(
        method, url, content=_raw(template, raw), headers={**auth(tenant), **JSON}
    )
    details = refused(response)
    assert fields_named(details) == [field], details
    assert message in details[0]["message"]
    assert written(db) == before
    hook_after = (
        await client.get(f"/api/v3/webhooks/{tenant.webhook_id}", headers=auth(tenant))
    ).json()
    assert hook_after["data"] == hook_before["data"]


# -- webhook deliveries: numbers kept as sent ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (str(BIG).encode(), str(BIG)),
        (b"-9223372036854775809", "-9223372036854775809"),
        (b"7" * 5000, "7" * 5000),
        (b"NaN", "NaN"),
        (b"Infinity", "Infinity"),
        (b"-Infinity", "-Infinity"),
        (b"1e400", "1e400"),
    ],
)
async def test_a_delivery_keeps_a_number_it_cannot_store_as_the_exact_text_sent(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, raw: bytes, kept: str
) -> None:
    body = _raw({"email": "big@example.com", "quote": {"id": "@"}, "n": "@"}, raw)
    response = await client.post(tenant.url, content=body, headers=JSON)
    assert response.status_code == 200, response.text
    answer = response.json()
    warned = {w["field"]: w["message"] for w in answer["warnings"]}
    assert set(warned) >= {"n", "quote.id"}
    assert "kept as the text sent" in warned["n"]
    (contact,) = rows(db, Contact)
    assert contact["custom_fields"]["n"] == kept
    assert contact["custom_fields"]["quote"] == {"id": kept}
    (logged,) = rows(db, InboundRequest, webhook_id=tenant.webhook_id)
    assert {w["field"] for w in logged["warnings"]} >= {"n", "quote.id"}

    # the dry run says the same
    dry = await client.post(
        f"/webhooks/{tenant.webhook_id}/test", content=body, headers={**auth(tenant), **JSON}
    )
    assert dry.status_code == 200, dry.text
    out = dry.json()["data"]
    assert out["accepted"] is True
    assert out["custom_fields"]["n"] == kept
    assert [w for w in out["warnings"] if w["field"] in ("n", "quote.id")] == [
        w for w in answer["warnings"] if w["field"] in ("n", "quote.id")
    ]


# -- webhook deliveries and their dry run: the same verdict ----------------------------


def _nested(depth: int) -> bytes:
    return b'{"email": "deep@example.com", "x": ' + b"[" * depth + b"]" * depth + b"}"


REFUSED_BODIES = [
    ("NUL in a form field", b"email=f%40example.com&notes=a%00b", ["notes"]),
    ("NUL in a value", b'{"email": "nul@example.com", "notes": "a\\u0000b"}', ["notes"]),
    ("NUL in a key", b'{"email": "nul@example.com", "a\\u0000": "b"}', ["a\\u0000"]),
    ("NUL deep inside", b'{"email": "nul@example.com", "x": {"y": ["\\u0000"]}}', ["x.y[0]"]),
    ("a lone surrogate", b'{"email": "s@example.com", "firstname": "\\ud800"}', ["firstname"]),
    ("a lone low surrogate in a key", b'{"email": "s@example.com", "\\udc00": 1}', ["\\udc00"]),
    ("nested 33 levels", _nested(32), []),
    ("nested 2,000 levels", _nested(2000), []),
    ("nested 100,000 levels", _nested(100_000), []),
]


@pytest.mark.parametrize(("what", "body", "fields"), REFUSED_BODIES)
async def test_a_delivery_and_its_dry_run_refuse_the_same_bodies(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    what: str,
    body: bytes,
    fields: list[str],
) -> None:
    kind = FORM if body.startswith(b"email=") else JSON
    before = counts(db)
    delivered = await client.post(tenant.url, content=body, headers=kind)
    details = refused(delivered)
    assert fields_named(details) == fields
    dry = await client.post(
        f"/webhooks/{tenant.webhook_id}/test", content=body, headers={**auth(tenant), **kind}
    )
    assert refused(dry) == details
    assert dry.json()["error"] == delivered.json()["error"]
    assert counts(db) == before
    # the refused delivery is kept, with its body, to be seen (and replayed: refused again)
    (logged,) = rows(db, InboundRequest, webhook_id=tenant.webhook_id)
    assert (logged["status"], logged["http_status"], logged["error_code"]) == (
        "error",
        400,
        "VALIDATION_ERROR",
    )
    assert bytes(logged["raw_body"]) == body


async def test_a_form_delivery_holding_nul_is_refused_and_kept_and_its_replay_refused_again(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    before = counts(db)
    body = b"email=form%40example.com&first%00name=Ana&notes=a%00b"
    response = await client.post(tenant.url, content=body, headers=FORM)
    assert fields_named(refused(response)) == ["first\\u0000name", "notes"]
    assert counts(db) == before
    (logged,) = rows(db, InboundRequest, webhook_id=tenant.webhook_id)
    assert bytes(logged["raw_body"]) == body
    assert "first\\u0000name" in logged["error_message"]

    replay = await client.post(
        f"/api/v3/webhooks/{tenant.webhook_id}/deliveries/{logged['id']}/replay",
        headers=auth(tenant),
    )
    assert replay.status_code == 200, replay.text
    outcome = replay.json()["data"]
    assert outcome["response"]["code"] == "VALIDATION_ERROR"
    assert counts(db) == before


# -- NUL in a URL ----------------------------------------------------------------------

URLS = [
    ("POST", "/webhooks/wh%00x", ["path"], False),
    ("POST", "/webhook/wh%00x", ["path"], False),
    ("GET", "/webhooks/wh%00x", ["path"], False),
    ("POST", "/webhooks/x%00y/test", ["path"], True),
    ("GET", "/api/v3/leads?q=%00", ["q"], True),
    ("GET", "/api/v3/leads?stage=new%00&source=a", ["stage"], True),
    ("GET", "/api/v3/contacts?email=a%00%40b.co", ["email"], True),
    ("GET", "/api/v3/contacts?name=%00", ["name"], True),
    ("GET", "/api/v3/webhooks?provider_id=%00", ["provider_id"], True),
    ("GET", "/api/v3/webhooks/x%00y", ["path"], True),
    ("PATCH", "/api/v3/webhooks/x%00y", ["path"], True),
    ("DELETE", "/api/v3/webhooks/x%00y", ["path"], True),
    ("GET", "/api/v3/webhooks/x%00y/deliveries", ["path"], True),
    ("GET", "/api/v3/providers/x%00y", ["path"], True),
    ("PUT", "/api/v3/custom-fields/x%00y", ["path"], True),
    ("GET", "/api/inbound-leads?status=%00", ["status"], True),
    ("GET", "/app?q=%00", ["q"], False),
    ("GET", "/app/leads/x%00y", ["path"], False),
]


@pytest.mark.parametrize(("method", "url", "fields", "with_key"), URLS)
async def test_a_url_holding_nul_is_refused_in_the_envelope(
    client: httpx.AsyncClient,
    db: Database,
    tenant: Tenant,
    method: str,
    url: str,
    fields: list[str],
    with_key: bool,
) -> None:
    before = written(db)
    response = await client.request(
        method,
        url.format(webhook_id=tenant.webhook_id),
        headers={**(auth(tenant) if with_key else {}), **JSON},
        content=b'{"email": "url@example.com"}' if method in ("POST", "PUT", "PATCH") else None,
    )
    assert fields_named(refused(response)) == fields
    assert written(db) == before


async def test_a_delivery_is_taken_whatever_its_query_string_holds(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """Intake never reads a delivery's query string: a NUL there stores nothing."""
    answer = await client.post(f"{tenant.url}?utm=%00", json={"email": "q@example.com"})
    assert answer.status_code == 200, answer.text
    assert count(db, Contact) == 1


# -- dashboard forms -------------------------------------------------------------------


async def test_a_dashboard_form_holding_nul_is_refused_in_the_envelope(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    # signing in (unauthenticated): a page load, answered with the dashboard's error page
    form = await client.get("/login")
    assert form.status_code == 200
    signin = await client.post(
        "/login", content=b"email=a%00%40b.co&password=x&login_token=t", headers=FORM
    )
    assert signin.status_code == 400
    assert "NUL" in signin.text
    # the same from htmx: the envelope
    signin = await client.post(
        "/login",
        content=b"email=a%00%40b.co&password=x&login_token=t",
        headers={**FORM, "hx-request": "true"},
    )
    assert fields_named(refused(signin)) == ["body"]

    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "admin"))
    lead = await _a_lead(client, tenant)
    before = written(db)
    note = await client.post(
        f"/app/leads/{lead['lead_id']}/activities",
        content=b"activity_type=note&description=a%00b",
        headers={**FORM, "hx-request": "true", "x-csrf-token": csrf},
    )
    assert fields_named(refused(note)) == ["body"]
    assert written(db) == before


# -- signature timestamps --------------------------------------------------------------


def _header_bytes(text: str) -> bytes:
    """As a client sends it: Latin-1 where it can (read back as the same characters),
    UTF-8 otherwise."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode()


@pytest.mark.parametrize(
    "stamp",
    ["17²", "¹²³", "\u0661\u0667" + "\u0660" * 8, "1" * 5000, "-1700000000", "1e9", ""],
)
async def test_a_signature_timestamp_that_is_not_ascii_digits_is_a_bad_signature(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, stamp: str
) -> None:
    secret = await rotate(client, tenant)
    await set_webhook(client, tenant, signature_mode="required")
    body = b'{"email": "signed@example.com"}'
    now = str(int(time.time()))
    headers = {
        **JSON,
        "webhook-id": "msg_1",
        # signed with the real time, sent with the odd one
        "webhook-signature": sign_standard(secret, "msg_1", int(now), body),
    }
    before = counts(db)
    response = await client.post(
        tenant.url,
        content=body,
        headers=[*headers.items(), ("webhook-timestamp", _header_bytes(stamp))],
    )
    refused(response, 401, "UNAUTHORIZED")
    assert counts(db) == before
    assert count(db, Lead) == 0


# -- numbers in other digits on the dashboard ------------------------------------------


async def test_dashboard_numbers_in_other_digits_are_not_a_server_error(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "owner"))
    for url in ("/app?page=%C2%B2", "/app?period=%C2%B2", "/app/metrics?period=17%C2%B2"):
        page = await client.get(url)
        assert page.status_code == 200, (url, page.status_code)
    settings = await client.post(
        "/app/settings",
        data={"name": "Acme", "time_zone": "UTC", "default_region": "US", "lead_window_days": "³"},
        headers={"hx-request": "true", "x-csrf-token": csrf},
    )
    assert fields_named(refused(settings)) == ["lead_window_days"]


# -- the dashboard's dry-run box -------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "shown"),
    [
        ('{"email": "a@example.com", "n": "a\\u0000b"}', "must not contain NUL characters"),
        ('{"email": "a@example.com", "n": "\\ud800"}', "lone UTF-16 surrogate"),
        ('{"email": "a@example.com", "x": ' + "[" * 40 + "]" * 40 + "}", "deeper than 32"),
        ('{"email": "a@example.com", "x": ' + "[" * 5000 + "]" * 5000 + "}", "nests too deep"),
        ('{"email": "a@example.com", "n": ' + "7" * 5000 + "}", "kept as the text sent"),
        ('{"email": "a@example.com", "n": NaN}', "kept as the text sent"),
    ],
)
async def test_the_dry_run_box_reads_a_payload_as_intake_does(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, payload: str, shown: str
) -> None:
    csrf = await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    before = counts(db)
    answer = await client.post(
        f"/app/webhooks/{tenant.webhook_id}/test", data={"csrf_token": csrf, "payload": payload}
    )
    assert answer.status_code == 200
    assert shown in answer.text
    assert counts(db) == before


async def test_a_delivery_to_a_webhook_id_holding_nul_is_a_400_from_a_real_server(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    before = written(db)
    with serving(settings, db) as base:
        async with httpx.AsyncClient(base_url=base) as real:
            answer = await real.post("/webhooks/wh%00x", json={"email": "a@example.com"})
            assert fields_named(refused(answer)) == ["path"]
            again = await real.post(tenant.url, json={"email": "after@example.com"})
            assert again.status_code == 200, again.text  # the connection's next request
    assert written(db)["contacts"] == before["contacts"] + 1


# -- the CSV export --------------------------------------------------------------------


async def test_the_csv_export_writes_a_stored_nul_escaped(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, settings: Settings
) -> None:
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL never stored a NUL character")
    await _a_lead(client, tenant)
    with db.transaction() as conn:  # stored before intake refused NUL characters
        conn.execute(text("UPDATE contacts SET firstname = 'An' || char(0) || 'a'"))
    await sign_in(client, add_member(db, tenant.workspace_id, "viewer"))
    export = await client.get("/app/export.csv")
    assert export.status_code == 200, export.text
    assert b"\x00" not in export.content
    assert "An\\u0000a" in export.text
