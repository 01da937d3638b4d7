"""What a refused stranger costs: deliveries refused for their signature or provider
credential count against the client IP's limit, and keep only the start of their body
(with its size and hash) in the intake log; authenticated senders keep theirs whole."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from leadpipe.app import create_app
from leadpipe.cli import app as cli
from leadpipe.config import Settings, get_settings
from leadpipe.intake.retention import prune_intake_log
from leadpipe.storage.engine import Database
from leadpipe.storage.models import InboundRequest, Lead
from leadpipe.webhooks.signatures import sign_hex
from tests.conftest import Tenant
from tests.integration.dashboard import add_member, sign_in
from tests.integration.helpers import backdate, count, rows
from tests.integration.test_intake_security import (
    WEBHOOKS,
    json_headers,
    lead_body,
    make_provider,
    refused_log,
    rotate,
    set_webhook,
)
from tests.integration.test_lead_api import auth

KEEP = 512


def big_body(size: int = 900_000) -> bytes:
    """A lead padded to about ``size`` bytes."""
    return orjson.dumps({"email": "big@example.com", "productid": "Solar", "comments": "x" * size})


@pytest.fixture
def strict(settings: Settings) -> Settings:
    """A small IP limit and cap, to see them at work."""
    return settings.model_copy(
        update={"intake_ip_rate_limit": "3/minute", "refused_body_keep_bytes": KEEP}
    )


@pytest.fixture
async def stranger(strict: Settings, db: Database) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(strict, db), client=("203.0.113.50", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def test_bad_signatures_from_one_ip_get_429_once_over_its_limit(
    stranger: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await rotate(stranger, tenant)
    await set_webhook(stranger, tenant, signature_mode="required")
    body = big_body(20_000)
    forged = json_headers(**{"x-webhook-signature": "sha256=" + "0" * 64})
    answers = [await stranger.post(tenant.url, content=body, headers=forged) for _ in range(5)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    over = answers[-1]
    assert over.json()["code"] == "RATE_LIMITED"
    assert int(over.headers["Retry-After"]) >= 1
    logged = refused_log(db, tenant)
    assert [r["http_status"] for r in logged] == [401, 401, 401, 429, 429]
    assert all(len(r["raw_body"]) == KEEP and r["body_truncated"] for r in logged)
    assert count(db, Lead) == 0


async def test_a_missing_provider_credential_counts_against_the_ip_too(
    stranger: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await set_webhook(stranger, tenant, provider_required=True)
    codes = [
        (await stranger.post(tenant.url, content=lead_body(n), headers=json_headers())).status_code
        for n in range(4)
    ]
    wrong = await stranger.post(
        tenant.url, content=lead_body(9), headers=json_headers(authorization="Bearer lpp_nope")
    )
    assert [*codes, wrong.status_code] == [401, 401, 401, 429, 429]
    assert count(db, Lead) == 0


async def test_a_900_kb_body_refused_for_its_signature_keeps_only_its_start_and_hash(
    stranger: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    await rotate(stranger, tenant)
    await set_webhook(stranger, tenant, signature_mode="required")
    body = big_body()
    refused = await stranger.post(
        tenant.url, content=body, headers=json_headers(**{"x-webhook-signature": "sha256=00"})
    )
    assert refused.status_code == 401, refused.text

    (row,) = refused_log(db, tenant)
    assert bytes(row["raw_body"]) == body[:KEEP]
    assert (row["body_size"], row["body_truncated"]) == (len(body), True)
    assert row["body_sha256"] == hashlib.sha256(body).hexdigest()

    url = f"{WEBHOOKS}/{tenant.webhook_id}/deliveries/{row['id']}"
    shown = (await stranger.get(url, headers=auth(tenant))).json()["data"]
    assert (shown["body_truncated"], shown["body_size"]) == (True, len(body))
    assert shown["body_sha256"] == hashlib.sha256(body).hexdigest()
    listed = await stranger.get(f"{WEBHOOKS}/{tenant.webhook_id}/deliveries", headers=auth(tenant))
    assert listed.json()["data"][0]["body_truncated"] is True

    replay = await stranger.post(f"{url}/replay", headers=auth(tenant))
    assert replay.status_code == 409, replay.text
    answer = replay.json()
    assert (answer["success"], answer["code"]) == (False, "CONFLICT")
    assert "not kept whole" in answer["error"]
    assert count(db, Lead) == 0
    assert rows(db, InboundRequest, webhook_id=tenant.webhook_id)[0]["replayed_as"] is None

    await sign_in(stranger, add_member(db, tenant.workspace_id, "owner"))
    page = await stranger.get(f"/app/webhooks/{tenant.webhook_id}/deliveries/{row['id']}")
    assert page.status_code == 200
    assert "Truncated" in page.text
    assert str(len(body)) in page.text
    assert hashlib.sha256(body).hexdigest() in page.text
    assert "Replay this delivery" not in page.text


async def test_an_authenticated_senders_content_refusal_keeps_its_whole_body_and_replays(
    stranger: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    secret = await rotate(stranger, tenant)
    await set_webhook(stranger, tenant, signature_mode="required", required_fields=["zip_code"])
    body = big_body(200_000)
    signed = json_headers(**{"x-webhook-signature": sign_hex(secret, body)})
    refused = await stranger.post(tenant.url, content=body, headers=signed)
    assert refused.status_code == 400, refused.text

    (row,) = refused_log(db, tenant)
    assert bytes(row["raw_body"]) == body
    assert (row["body_size"], row["body_truncated"]) == (len(body), False)

    await set_webhook(stranger, tenant, required_fields=[])
    replay = await stranger.post(
        f"{WEBHOOKS}/{tenant.webhook_id}/deliveries/{row['id']}/replay", headers=auth(tenant)
    )
    assert replay.status_code == 200, replay.text
    assert replay.json()["data"]["http_status"] == 200
    assert count(db, Lead) == 1


async def test_a_provider_over_the_ip_limit_is_not_counted_there(
    stranger: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    """A valid provider credential is counted against the provider's limit, not the IP's."""
    key = (await make_provider(stranger, tenant))["key"]
    codes = [
        (
            await stranger.post(
                tenant.url,
                content=lead_body(n),
                headers=json_headers(authorization=f"Bearer {key}"),
            )
        ).status_code
        for n in range(5)
    ]
    assert codes == [200] * 5


# -- retention ----------------------------------------------------------------------


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("LEADPIPE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


async def test_prune_deletes_only_old_deliveries_and_keeps_every_lead_and_count(
    client: httpx.AsyncClient, db: Database, tenant: Tenant, cli_env: CliRunner
) -> None:
    key = (await make_provider(client, tenant))["key"]
    by_provider = json_headers(authorization=f"Bearer {key}")
    for n in range(3):  # old: three leads from the provider, and a refusal
        await client.post(tenant.url, content=lead_body(n), headers=by_provider)
    await client.post(tenant.url, content=b"{}", headers=json_headers())
    backdate(db, InboundRequest, 40)
    old = {r["id"] for r in rows(db, InboundRequest)}
    for n in range(3, 5):  # recent
        await client.post(tenant.url, content=lead_body(n), headers=by_provider)
    recent = {r["id"] for r in rows(db, InboundRequest)} - old
    assert (len(old), len(recent)) == (4, 2)
    (made,) = (await client.get("/api/v3/providers", headers=auth(tenant))).json()["data"]
    stats_url = f"/api/v3/providers/{made['id']}/stats"
    before = (await client.get(stats_url, headers=auth(tenant))).json()["data"]
    hook_before = (await client.get(f"{WEBHOOKS}/{tenant.webhook_id}", headers=auth(tenant))).json()
    assert before["leads"] == 5

    pruned = cli_env.invoke(cli, ["intake", "prune", "--days", "30"])
    assert pruned.exit_code == 0, pruned.output
    assert "Pruned 4 deliveries" in pruned.output

    left = rows(db, InboundRequest)
    assert len(left) == 2
    assert {r["id"] for r in left} == recent
    assert count(db, Lead) == 5
    after = (await client.get(stats_url, headers=auth(tenant))).json()["data"]
    assert (after["leads"], after["deliveries"], after["accepted"]) == (
        5,
        before["deliveries"],
        before["accepted"],
    )
    hook_after = (await client.get(f"{WEBHOOKS}/{tenant.webhook_id}", headers=auth(tenant))).json()
    assert hook_after["data"]["total_leads"] == hook_before["data"]["total_leads"] == 5

    again = cli_env.invoke(cli, ["intake", "prune"])  # the configured 30 days: nothing left
    assert again.exit_code == 0
    assert "Pruned 0 deliveries" in again.output


async def test_the_sweep_prunes_in_bounded_batches(
    client: httpx.AsyncClient, db: Database, tenant: Tenant
) -> None:
    for n in range(5):
        await client.post(tenant.url, content=lead_body(n), headers=json_headers())
    backdate(db, InboundRequest, 31)
    await client.post(tenant.url, content=lead_body(9), headers=json_headers())

    assert prune_intake_log(db, retention_days=30, batch=2) == 5
    assert count(db, InboundRequest) == 1
    assert count(db, Lead) == 6
