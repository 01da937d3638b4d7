"""Rate-limit counters that cannot be reached (Redis down) let deliveries through, and
say so once per outage in the log, not once per delivery."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact
from tests.conftest import Tenant
from tests.integration.helpers import count


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again: nothing listens there


async def test_unreachable_counters_let_deliveries_through_with_one_warning(
    settings: Settings, db: Database, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"async+redis://127.0.0.1:{_closed_port()}"
    app = create_app(settings.model_copy(update={"rate_limit_storage": nowhere}), db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    with caplog.at_level(logging.WARNING, logger="leadpipe.intake"):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for n in range(20):
                answer = await c.post(tenant.url, json={"phone": f"51255502{n:02d}"})
                assert answer.status_code == 200, answer.text
    assert count(db, Contact) == 20
    warnings = [r for r in caplog.records if "not counted against their rate limits" in r.message]
    assert len(warnings) == 1, [r.message for r in caplog.records]
    assert "1 failed since the last warning" in warnings[0].getMessage()


async def test_unreachable_counters_let_api_requests_through(
    settings: Settings, db: Database, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"async+redis://127.0.0.1:{_closed_port()}"
    app = create_app(settings.model_copy(update={"rate_limit_storage": nowhere}), db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.9", 50000))
    with caplog.at_level(logging.WARNING, logger="leadpipe.accounts"):
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            for _ in range(5):
                answer = await c.get("/api/v3/leads", headers={"X-API-Key": tenant.api_key})
                assert answer.status_code == 200, answer.text
    assert sum("not counted against their rate limit" in r.message for r in caplog.records) == 1
