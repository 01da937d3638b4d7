"""Who may deliver, and how often: provider credentials, signatures and rate limits,
through HTTP. Every refusal answers in the envelope, writes no lead and is kept in the
webhook's delivery log."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import update

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.kit.clock import utcnow
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import InboundRequest, Lead, ProviderUsage
from leadpipe.webhooks.signatures import sign_base64, sign_hex, sign_standard
from tests.conftest import Tenant, serving
from tests.integration.helpers import count, rows
from tests.integration.test_lead_api import auth

WEBHOOKS = "/api/v3/webhooks"
PROVIDERS = "/api/v3/providers"


def lead_body(n: int = 1) -> bytes:
    return orjson.dumps(
        {
            "firstname": "Ada",
            "lastname": f"Signed{n}",
            "email": f"ada{n}@example.com",
            "productid": "Solar",
        }
    )


def json_headers(**extra: str) -> dict[str, str]:
    return {"content-type": "application/json", **extra}


async def set_webhook(client: httpx.AsyncClient, tenant: Tenant, **changes: Any) -> dict[str, Any]:
    response = await client.patch(
        f"{WEBHOOKS}/{tenant.webhook_id}", json=changes, headers=auth(tenant)
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


async def rotate(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> str:
    response = await client.post(
        f"{WEBHOOKS}/{tenant.webhook_id}/secrets", json=body, headers=auth(tenant)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["secret"])


def refused_log(db: Database, tenant: Tenant) -> list[dict[str, Any]]:
    return [
        r for r in rows(db, InboundRequest, webhook_id=tenant.webhook_id) if r["status"] == "error"
    ]


def assert_refused(
    response: httpx.Response, db: Database, tenant: Tenant, status: int, code: str
) -> None:
    """Answered in the envelope, no lead written, the delivery kept in the log."""
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["success"], body["code"]) == (False, code)
    assert count(db, Lead) == 0
    last = refused_log(db, tenant)[-1]
    assert (last["http_status"], last["error_code"]) == (status, code)
    assert last["raw_body"] is not None


# -- signatures ---------------------------------------------------------------------


async def standard_headers(
    secret: str, body: bytes, msg_id: str, at: int | None = None
) -> dict[str, str]:
    at = int(time.time()) if at is None else at
    return json_headers(
        **{
            "webhook-id": msg_id,
            "webhook-timestamp": str(at),
            "webhook-signature": sign_standard(secret, msg_id, at, body),
        }
    )


async def test_a_webhook_gets_a_secret_shown_once_and_never_again(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = await client.post(WEBHOOKS, json={"name": "Signed"}, headers=auth(tenant))
    assert made.status_code == 201, made.text
    secret = made.json()["data"]["secret"]
    assert secret.startswith("whsec_")
    shown = await client.get(f"{WEBHOOKS}/{made.json()['data']['id']}", headers=auth(tenant))
    assert secret not in shown.text
    assert shown.json()["data"]["secrets"][0]["preview"] == secret[:10] + "…"
    listed = await client.get(WEBHOOKS, headers=auth(tenant))
    assert secret not in listed.text


async def test_standard_webhooks_signatures_are_verified_over_the_raw_body(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    secret = await rotate(client, tenant)
    await set_webhook(client, tenant, signature_mode="required")
    body = lead_body()

    unsigned = await client.post(tenant.url, content=body, headers=json_headers())
    assert_refused(unsigned, db, tenant, 401, "UNAUTHORIZED")
    assert "requires a signature" in unsigned.json()["error"]

    tampered = await client.post(
        tenant.url,
        content=body.replace(b"Ada", b"Eve"),
        headers=await standard_headers(secret, body, "msg_1"),
    )
    assert_refused(tampered, db, tenant, 401, "UNAUTHORIZED")
    # The log keeps the delivery as it came, but never its signature.
    assert refused_log(db, tenant)[-1]["request_headers"]["webhook-signature"] == "[redacted]"

    stale = await client.post(
        tenant.url,
        content=body,
        headers=await standard_headers(secret, body, "msg_2", int(time.time()) - 301),
    )
    assert_refused(stale, db, tenant, 401, "UNAUTHORIZED")
    assert "5 minutes" in stale.json()["error"]

    signed = await standard_headers(secret, body, "msg_3")
    accepted = await client.post(tenant.url, content=body, headers=signed)
    assert accepted.status_code == 200, accepted.text
    assert count(db, Lead) == 1


async def test_a_replayed_webhook_id_is_refused_but_a_resigned_retry_gets_the_first_answer(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    secret = await rotate(client, tenant)
    await set_webhook(client, tenant, signature_mode="required")
    body = lead_body()
    at = int(time.time())
    first = await client.post(
        tenant.url, content=body, headers=await standard_headers(secret, body, "msg_9", at)
    )
    assert first.status_code == 200

    copied = await client.post(
        tenant.url, content=body, headers=await standard_headers(secret, body, "msg_9", at)
    )
    assert copied.status_code == 401
    assert "received before" in copied.json()["error"]

    retried = await client.post(
        tenant.url, content=body, headers=await standard_headers(secret, body, "msg_9", at + 1)
    )
    assert retried.status_code == 200
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert retried.json()["lead_id"] == first.json()["lead_id"]
    assert count(db, Lead) == 1


async def test_x_webhook_signature_and_typeform_signature_are_verified(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    secret = await rotate(client, tenant, secret="typed-by-the-integrator-1234")
    await set_webhook(client, tenant, signature_mode="required")
    body = lead_body(1)
    hexed = await client.post(
        tenant.url,
        content=body,
        headers=json_headers(**{"x-webhook-signature": sign_hex(secret, body)}),
    )
    assert hexed.status_code == 200, hexed.text
    body2 = lead_body(2)
    typeform = await client.post(
        tenant.url,
        content=body2,
        headers=json_headers(**{"typeform-signature": sign_base64(secret, body2)}),
    )
    assert typeform.status_code == 200, typeform.text
    wrong = await client.post(
        tenant.url,
        content=lead_body(3),
        headers=json_headers(**{"x-webhook-signature": sign_hex("another-secret-12345", body)}),
    )
    assert wrong.status_code == 401
    assert count(db, Lead) == 2


async def test_optional_signatures_are_checked_only_when_sent(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    secret = await rotate(client, tenant)
    await set_webhook(client, tenant, signature_mode="optional")
    unsigned = await client.post(tenant.url, content=lead_body(1), headers=json_headers())
    assert unsigned.status_code == 200
    bad = await client.post(
        tenant.url,
        content=lead_body(2),
        headers=json_headers(**{"x-webhook-signature": sign_hex(secret, b"something else")}),
    )
    assert bad.status_code == 401
    assert count(db, Lead) == 1


async def test_a_rotated_secret_keeps_verifying_until_its_date(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    old = await rotate(client, tenant)
    await set_webhook(client, tenant, signature_mode="required")
    new = await rotate(client, tenant, keep_old_until=(utcnow() + timedelta(hours=1)).isoformat())
    for n, secret in enumerate((old, new)):
        body = lead_body(n)
        signed = json_headers(**{"x-webhook-signature": sign_hex(secret, body)})
        assert (await client.post(tenant.url, content=body, headers=signed)).status_code == 200
    # Rotating again with the old ones ending now: only the newest verifies.
    newest = await rotate(client, tenant, keep_old_until=utcnow().isoformat())
    for n, secret, status in ((5, new, 401), (6, newest, 200)):
        body = lead_body(n)
        signed = json_headers(**{"x-webhook-signature": sign_hex(secret, body)})
        assert (await client.post(tenant.url, content=body, headers=signed)).status_code == status
    described = (await client.get(f"{WEBHOOKS}/{tenant.webhook_id}", headers=auth(tenant))).json()
    assert [s["valid"] for s in described["data"]["secrets"]] == [False, False, False, True]


async def test_signatures_cannot_be_required_without_a_valid_secret(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await rotate(client, tenant, keep_old_until=utcnow().isoformat())  # a fresh one stays
    with db.transaction() as conn:
        conn.execute(
            update(table_of(InboundRequest).metadata.tables["webhooks"]).values(secrets=[])
        )
    response = await client.patch(
        f"{WEBHOOKS}/{tenant.webhook_id}", json={"signature_mode": "required"}, headers=auth(tenant)
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "signature_mode"
    short = await client.post(
        f"{WEBHOOKS}/{tenant.webhook_id}/secrets", json={"secret": "short"}, headers=auth(tenant)
    )
    assert short.status_code == 400


# -- providers ----------------------------------------------------------------------


async def make_provider(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        PROVIDERS, json={"name": "Click Ventures", **fields}, headers=auth(tenant)
    )
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def test_a_webhook_that_requires_a_provider_refuses_everyone_else(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await set_webhook(client, tenant, provider_required=True)
    made = await make_provider(client, tenant, company="Click Ventures LLC")
    key = made["key"]
    assert key.startswith("lpp_")
    assert made["key_prefix"] == key[:10]

    missing = await client.post(tenant.url, content=lead_body(), headers=json_headers())
    assert_refused(missing, db, tenant, 401, "UNAUTHORIZED")
    unknown = await client.post(
        tenant.url, content=lead_body(), headers=json_headers(authorization="Bearer lpp_nope")
    )
    assert_refused(unknown, db, tenant, 401, "UNAUTHORIZED")
    assert refused_log(db, tenant)[-1]["request_headers"]["authorization"] == "[redacted]"

    bearer = await client.post(
        tenant.url, content=lead_body(1), headers=json_headers(authorization=f"Bearer {key}")
    )
    assert bearer.status_code == 200, bearer.text
    header = await client.post(
        tenant.url, content=lead_body(2), headers=json_headers(**{"x-provider-key": key})
    )
    assert header.status_code == 200
    shown = await client.get(f"{PROVIDERS}/{made['id']}", headers=auth(tenant))
    assert shown.json()["data"]["last_used_at"] is not None
    assert key not in shown.text

    await client.patch(f"{PROVIDERS}/{made['id']}", json={"is_active": False}, headers=auth(tenant))
    inactive = await client.post(
        tenant.url, content=lead_body(3), headers=json_headers(authorization=f"Bearer {key}")
    )
    assert inactive.status_code == 401
    assert count(db, Lead) == 2


async def test_a_provider_delivers_only_to_its_allowed_webhooks(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    other = await client.post(
        WEBHOOKS, json={"name": "Other", "id": "wh_other"}, headers=auth(tenant)
    )
    assert other.status_code == 201
    made = await make_provider(client, tenant, allowed_webhooks=["wh_other"])
    refused = await client.post(
        tenant.url, content=lead_body(), headers=json_headers(authorization=f"Bearer {made['key']}")
    )
    assert_refused(refused, db, tenant, 403, "FORBIDDEN")
    allowed = await client.post(
        "/webhooks/wh_other",
        content=lead_body(),
        headers=json_headers(authorization=f"Bearer {made['key']}"),
    )
    assert allowed.status_code == 200
    unknown_hook = await client.post(
        PROVIDERS, json={"name": "x", "allowed_webhooks": ["wh_nowhere"]}, headers=auth(tenant)
    )
    assert unknown_hook.status_code == 400
    its_own = await client.get(WEBHOOKS, params={"provider_id": made["id"]}, headers=auth(tenant))
    assert [w["id"] for w in its_own.json()["data"]] == ["wh_other"]
    # The refusal counts in its usage and stats, beside the delivery it was allowed.
    usage = {u["webhook_id"]: (u["request_count"], u["refused"]) for u in rows_of_usage(db)}
    assert usage == {tenant.webhook_id: (1, 1), "wh_other": (1, 0)}
    stats = (await client.get(f"{PROVIDERS}/{made['id']}/stats", headers=auth(tenant))).json()
    assert (stats["data"]["deliveries"], stats["data"]["refused"]) == (2, 1)


async def test_a_rotated_provider_key_replaces_the_old_one_at_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = await make_provider(client, tenant)
    rotated = await client.post(f"{PROVIDERS}/{made['id']}/rotate", headers=auth(tenant))
    new_key = rotated.json()["data"]["key"]
    old = await client.post(
        tenant.url,
        content=lead_body(1),
        headers=json_headers(authorization=f"Bearer {made['key']}"),
    )
    assert old.status_code == 401
    new = await client.post(
        tenant.url, content=lead_body(2), headers=json_headers(authorization=f"Bearer {new_key}")
    )
    assert new.status_code == 200


async def test_a_provider_over_its_hourly_limit_gets_429_and_its_usage_counts_every_outcome(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    made = await make_provider(client, tenant, hourly_limit=3)
    sent = json_headers(authorization=f"Bearer {made['key']}")
    assert (await client.post(tenant.url, content=lead_body(1), headers=sent)).status_code == 200
    again = await client.post(tenant.url, content=lead_body(1), headers=sent)
    assert again.headers.get("Idempotent-Replayed") == "true"  # the same body: a duplicate
    bad = await client.post(tenant.url, content=b'{"firstname": "x"}', headers=sent)
    assert bad.status_code == 400
    over = await client.post(tenant.url, content=lead_body(4), headers=sent)
    assert_refused_keeping_leads(over, db, tenant, leads=1)
    assert over.headers["X-RateLimit-Limit"] == "3"
    assert over.headers["X-RateLimit-Remaining"] == "0"
    assert int(over.headers["Retry-After"]) > 0
    assert int(over.headers["X-RateLimit-Reset"]) > time.time()

    usage = rows_of_usage(db)
    assert [(u["request_count"], u["accepted"], u["refused"], u["duplicates"]) for u in usage] == [
        (4, 1, 2, 1)
    ]
    stats = (await client.get(f"{PROVIDERS}/{made['id']}/stats", headers=auth(tenant))).json()[
        "data"
    ]
    assert (stats["deliveries"], stats["accepted"], stats["refused"], stats["duplicates"]) == (
        4,
        1,
        2,
        1,
    )
    assert (stats["leads"], stats["converted"], stats["conversion_rate"]) == (1, 0, 0.0)
    lead_id = (await client.get("/api/v3/leads", headers=auth(tenant))).json()["data"][0]["id"]
    won = await client.put(f"/api/v3/leads/{lead_id}", json={"stage": "won"}, headers=auth(tenant))
    assert won.status_code == 200, won.text
    stats = (await client.get(f"{PROVIDERS}/{made['id']}/stats", headers=auth(tenant))).json()[
        "data"
    ]
    assert (stats["converted"], stats["conversion_rate"]) == (1, 100.0)


def assert_refused_keeping_leads(
    response: httpx.Response, db: Database, tenant: Tenant, *, leads: int
) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "RATE_LIMITED"
    assert count(db, Lead) == leads
    assert refused_log(db, tenant)[-1]["http_status"] == 429


def rows_of_usage(db: Database) -> list[dict[str, Any]]:
    with db.transaction(write=False) as conn:
        return [dict(r) for r in conn.execute(table_of(ProviderUsage).select()).mappings()]


# -- rate limits --------------------------------------------------------------------


async def test_a_webhook_limit_refuses_deliveries_over_its_rate(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await set_webhook(client, tenant, rate_limit=2, rate_window_seconds=60)
    for n in (1, 2):
        response = await client.post(tenant.url, content=lead_body(n), headers=json_headers())
        assert response.status_code == 200
    over = await client.post(tenant.url, content=lead_body(3), headers=json_headers())
    assert_refused_keeping_leads(over, db, tenant, leads=2)
    assert "2 deliveries per minute" in over.json()["error"]
    stats = (await client.get(f"{WEBHOOKS}/{tenant.webhook_id}/stats", headers=auth(tenant))).json()
    assert stats["data"]["periods"]["24h"]["error"] == 1


@pytest.fixture
def ip_limited(settings: Settings) -> Settings:
    return settings.model_copy(update={"intake_ip_rate_limit": "2/minute"})


async def test_unsigned_deliveries_from_one_ip_are_limited_but_signed_ones_are_not(
    ip_limited: Settings, db: Database, tenant: Tenant
) -> None:
    transport = httpx.ASGITransport(app=create_app(ip_limited, db), client=("203.0.113.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        secret = await rotate(client, tenant)
        await set_webhook(client, tenant, signature_mode="optional")
        codes = [
            (
                await client.post(tenant.url, content=lead_body(n), headers=json_headers())
            ).status_code
            for n in range(3)
        ]
        assert codes == [200, 200, 429]
        body = lead_body(9)
        signed = json_headers(**{"x-webhook-signature": sign_hex(secret, body)})
        assert (await client.post(tenant.url, content=body, headers=signed)).status_code == 200


async def test_two_workers_enforce_one_webhook_limit_through_redis(
    settings: Settings, db: Database, tenant: Tenant, redis_url: str
) -> None:
    """Two servers (as two workers) count into one Redis: of 60 deliveries alternating
    between them, the limit of 40 lets 40 through, within 5%."""
    shared = settings.model_copy(update={"rate_limit_storage": f"async+{redis_url}"})
    with db.transaction() as conn:
        conn.execute(
            update(table_of(InboundRequest).metadata.tables["webhooks"])
            .where(table_of(InboundRequest).metadata.tables["webhooks"].c.id == tenant.webhook_id)
            .values(rate_limit=40, rate_window_seconds=60)
        )
    with serving(shared, db) as first, serving(shared, db) as second:
        async with httpx.AsyncClient(timeout=10) as client:
            codes = [
                (
                    await client.post(
                        (first, second)[n % 2] + tenant.url,
                        content=lead_body(n),
                        headers=json_headers(),
                    )
                ).status_code
                for n in range(60)
            ]
    accepted = codes.count(200)
    assert abs(accepted - 40) <= 2, codes
    assert codes.count(429) == 60 - accepted
    assert count(db, Lead) == accepted


async def test_a_delivery_refused_for_its_signature_is_replayed_by_an_administrator(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await rotate(client, tenant)
    await set_webhook(client, tenant, signature_mode="required")
    unsigned = await client.post(tenant.url, content=lead_body(7), headers=json_headers())
    assert unsigned.status_code == 401
    (refused,) = refused_log(db, tenant)
    replayed = await client.post(
        f"{WEBHOOKS}/{tenant.webhook_id}/deliveries/{refused['id']}/replay", headers=auth(tenant)
    )
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["data"]["http_status"] == 200
    assert count(db, Lead) == 1


async def test_a_webhook_refuses_a_delivery_without_the_fields_it_requires(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await set_webhook(client, tenant, required_fields=["zip_code", "product"])
    missing = await client.post(tenant.url, json={"email": "z@example.com", "product": "Solar"})
    assert_refused(missing, db, tenant, 400, "VALIDATION_ERROR")
    assert [d["field"] for d in missing.json()["details"]] == ["zip_code"]
    whole = await client.post(
        tenant.url, json={"email": "z@example.com", "product": "Solar", "zip": "78701"}
    )
    assert whole.status_code == 200
    unknown = await client.patch(
        f"{WEBHOOKS}/{tenant.webhook_id}",
        json={"required_fields": ["shoe_size"]},
        headers=auth(tenant),
    )
    assert unknown.status_code == 400
