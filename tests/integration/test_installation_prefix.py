"""Installations that share a Redis keep their rate limits apart: every counter's key
starts with the installation's id (LEADPIPE_INSTALLATION_ID, else the database's)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from leadpipe.storage.identity import installation_id
from tests.conftest import Tenant
from tests.integration.test_intake_security import json_headers, lead_body
from tests.integration.test_lead_api import auth


@asynccontextmanager
async def installation(
    settings: Settings, db: Database, redis_url: str, installation: str
) -> AsyncIterator[httpx.AsyncClient]:
    """An app of installation ``installation`` counting in the shared Redis, with
    small limits; its client comes from one IP."""
    shared = settings.model_copy(
        update={
            "rate_limit_storage": f"async+{redis_url}",
            "installation_id": installation,
            "intake_ip_rate_limit": "2/minute",
            "api_rate_limit": "2/minute",
        }
    )
    transport = httpx.ASGITransport(app=create_app(shared, db), client=("192.0.2.77", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


async def deliveries(client: httpx.AsyncClient, tenant: Tenant, n: int) -> list[int]:
    return [
        (await client.post(tenant.url, content=lead_body(i), headers=json_headers())).status_code
        for i in range(n)
    ]


async def reads(client: httpx.AsyncClient, tenant: Tenant, n: int) -> list[int]:
    return [
        (await client.get("/api/v3/webhooks", headers=auth(tenant))).status_code for _ in range(n)
    ]


async def test_installations_on_one_redis_count_apart_and_one_installation_together(
    settings: Settings, db: Database, tenant: Tenant, redis_url: str
) -> None:
    ours, theirs = f"ours-{uuid.uuid4().hex}", f"theirs-{uuid.uuid4().hex}"
    async with (
        installation(settings, db, redis_url, ours) as first,
        installation(settings, db, redis_url, theirs) as other,
        installation(settings, db, redis_url, ours) as second,
    ):
        assert await deliveries(first, tenant, 2) == [200, 200]
        assert await deliveries(other, tenant, 2) == [200, 200]  # its own counter
        assert await deliveries(second, tenant, 1) == [429]  # the first's counter

        assert await reads(first, tenant, 2) == [200, 200]
        assert await reads(other, tenant, 2) == [200, 200]
        assert await reads(second, tenant, 1) == [429]


def test_an_installation_is_by_default_its_database() -> None:
    one = Settings(database_url="postgresql://app:secret@db1/leadpipe")
    assert installation_id(one) == installation_id(
        Settings(database_url="postgresql://app:rotated@db1/leadpipe")
    )
    assert installation_id(one) != installation_id(
        Settings(database_url="postgresql://app:secret@db2/leadpipe")
    )
    named = Settings(database_url="sqlite:///x.db", installation_id="acme-eu")
    assert installation_id(named) == "acme-eu"
