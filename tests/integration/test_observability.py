"""What operators watch: a JSON log line per delivery, Prometheus metrics counted only
once committed, who may scrape them, and readiness."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.observability.logging import formatter
from leadpipe.storage.engine import Database
from tests.conftest import Tenant
from tests.integration.helpers import inbound_log, refusing_inserts

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana-dashboard.json"


def _client(settings: Settings, db: Database, host: str = "127.0.0.1") -> httpx.AsyncClient:
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def local(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client on this machine (loopback), where /metrics is open."""
    async with _client(settings, db) as client:
        yield client


def samples(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


def value(taken: Samples, name: str, **labels: str) -> float:
    return taken.get((name, frozenset(labels.items())), 0.0)


def grown(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def delivery_lines() -> Iterator[io.StringIO]:
    """What the production handler writes of delivery lines: JSON, one per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter("json"))
    logger = logging.getLogger("leadpipe.deliveries")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines() if line]


async def test_each_delivery_logs_one_json_line_with_its_outcome(
    local: httpx.AsyncClient, tenant: Tenant, db: Database, delivery_lines: io.StringIO
) -> None:
    accepted = await local.post(
        tenant.url,
        json={"phone": "5550300001", "product": "Solar"},
        headers={"X-Request-ID": "ok-1"},
    )
    refused = await local.post(
        tenant.url, json={"firstname": "Nobody"}, headers={"X-Request-ID": "no-identity-1"}
    )
    assert accepted.status_code == 200, accepted.text
    assert refused.status_code == 400, refused.text

    first, second = _lines(delivery_lines)
    assert first["event"] == "delivery"
    assert first["level"] == "info"
    assert first["logger"] == "leadpipe.deliveries"
    assert "timestamp" in first
    assert {k: first[k] for k in ("request_id", "workspace_id", "webhook_id", "outcome")} == {
        "request_id": "ok-1",
        "workspace_id": tenant.workspace_id,
        "webhook_id": tenant.webhook_id,
        "outcome": "accepted",
    }
    assert first["status"] == 200
    assert first["reason"] is None
    assert first["provider_id"] is None
    assert first["processing_ms"] >= 0
    assert second["request_id"] == "no-identity-1"
    assert second["outcome"] == "refused"
    assert second["status"] == 400
    logged = {row["request_id"]: row for row in inbound_log(db, tenant.webhook_id)}
    assert second["reason"] == logged["no-identity-1"]["error_reason"] == "missing_identity"


async def test_deliveries_committed_together_log_a_line_each(
    local: httpx.AsyncClient, tenant: Tenant, delivery_lines: io.StringIO
) -> None:
    answers = await asyncio.gather(
        *(
            local.post(
                tenant.url,
                json={"phone": f"555033{i:04d}", "product": "Solar"},
                headers={"X-Request-ID": f"together-{i}"},
            )
            for i in range(6)
        )
    )
    assert [a.status_code for a in answers] == [200] * 6
    lines = _lines(delivery_lines)
    assert sorted(line["request_id"] for line in lines) == [f"together-{i}" for i in range(6)]
    assert {line["outcome"] for line in lines} == {"accepted"}


async def test_a_duplicate_logs_its_own_line(
    local: httpx.AsyncClient, tenant: Tenant, delivery_lines: io.StringIO
) -> None:
    body = {"phone": "5550300002", "product": "Solar"}
    assert (await local.post(tenant.url, json=body)).status_code == 200
    assert (await local.post(tenant.url, json=body)).status_code == 200
    assert [line["outcome"] for line in _lines(delivery_lines)] == ["accepted", "duplicate"]


async def test_an_unexpected_error_line_keeps_method_path_and_request_id(
    settings: Settings, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings, db)

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("kaput")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "boom-1"})
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    line = orjson.loads(formatter("json").format(record))
    assert (line["method"], line["path"], line["request_id"]) == ("GET", "/boom", "boom-1")
    assert "RuntimeError: kaput" in line["exception"]


async def test_metrics_count_leads_stage_changes_deliveries_and_requests(
    local: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = await scrape(local)
    leads = []
    for phone in ("5550310001", "5550310002"):
        answer = await local.post(
            tenant.url, json={"phone": phone, "product": "Solar", "source": "Webinar"}
        )
        assert answer.status_code == 200, answer.text
        leads.append(answer.json()["lead_id"])
    moved = await local.put(
        f"/api/v3/leads/{leads[0]}",
        json={"stage": "qualified"},
        headers={"X-API-Key": tenant.api_key},
    )
    assert moved.status_code == 200, moved.text
    after = await scrape(local)

    assert grown(before, after, "sales_lead_created_total", source="webinar", status="new") == 2
    assert (
        grown(
            before,
            after,
            "sales_opportunity_stage_change_total",
            from_stage="new",
            to_stage="qualified",
        )
        == 1
    )
    assert grown(before, after, "leadpipe_deliveries_total", outcome="accepted") == 2
    timed = "sales_api_request_duration_seconds_count"
    put = {"method": "PUT", "route": "/api/v3/leads/{lead_id}", "status_code": "200"}
    assert grown(before, after, timed, **put) == 1
    delivered = {"method": "POST", "route": "/webhooks/{webhook_id}", "status_code": "200"}
    assert grown(before, after, timed, **delivered) == 2
    pipeline = {
        dict(labels)["stage"]
        for (name, labels) in after
        if name == "sales_active_pipeline_amount"
        and dict(labels)["territory"] == tenant.workspace_id
    }
    assert {"new", "qualified"} <= pipeline
    assert value(after, "sales_db_connections_max") > 0
    cache = "leadpipe_webhook_settings_cache_total"
    read = grown(before, after, cache, result="hit") + grown(before, after, cache, result="miss")
    assert read == 2  # one read of the webhook's settings per batch
    assert grown(before, after, cache, result="hit") >= 1  # the second from memory


async def test_refused_and_rolled_back_deliveries_create_no_lead_in_the_metrics(
    local: httpx.AsyncClient, tenant: Tenant, db: Database
) -> None:
    before = await scrape(local)
    refused = await local.post(tenant.url, json={"firstname": "Nobody", "source": "Webinar"})
    assert refused.status_code == 400
    # The lead is opened, then its stage history cannot be written: all of it is undone.
    with refusing_inserts(db, "lead_status_history", "1 = 1", as_conflict=False):
        undone = await local.post(
            tenant.url, json={"phone": "5550320001", "product": "Solar", "source": "Webinar"}
        )
    assert undone.status_code == 500, undone.text
    after = await scrape(local)

    created = [
        after[key] - before.get(key, 0.0) for key in after if key[0] == "sales_lead_created_total"
    ]
    assert not any(created)
    assert grown(before, after, "leadpipe_deliveries_total", outcome="refused") == 2
    assert grown(before, after, "leadpipe_deliveries_total", outcome="accepted") == 0


async def test_metrics_are_refused_to_other_machines_without_the_token(
    settings: Settings, db: Database
) -> None:
    async with _client(settings, db, host="198.51.100.7") as stranger:
        refused = await stranger.get("/metrics")
    assert refused.status_code == 403
    assert refused.json()["code"] == "FORBIDDEN"
    assert "sales_" not in refused.text

    async with _client(settings, db) as local:
        forwarded = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 403  # a proxy on this machine passing the world's on

    settings.metrics_token = "s3cret-scrape-token"
    async with _client(settings, db, host="198.51.100.7") as stranger:
        wrong = await stranger.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await stranger.get(
            "/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"}
        )
        schema = (await stranger.get("/openapi.json")).json()
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "UNAUTHORIZED"
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert "sales_lead_created_total" in right.text
    assert "/metrics" not in schema["paths"]
    assert "/health/ready" in schema["paths"]


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"success": True, "status": "ready", "checks": {"database": "ok"}}


async def test_ready_checks_redis_when_configured(
    settings: Settings, db: Database, redis_url: str
) -> None:
    settings.redis_url = redis_url
    async with _client(settings, db) as client:
        response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_not_ready_when_redis_is_down(settings: Settings, db: Database) -> None:
    settings.rate_limit_storage = f"async+redis://127.0.0.1:{_closed_port()}"
    async with _client(settings, db) as client:
        response = await client.get("/health/ready", headers={"X-Request-ID": "ready-1"})
        alive = await client.get("/health")
    assert response.status_code == 503
    assert response.json() == {
        "success": False,
        "error": "Not ready: redis cannot be reached",
        "code": "SERVICE_UNAVAILABLE",
        "request_id": "ready-1",
        "details": [{"field": "redis", "message": "not reachable"}],
    }
    assert alive.status_code == 200  # liveness does not depend on Redis


async def test_the_grafana_dashboard_reads_metrics_leadpipe_serves(
    local: httpx.AsyncClient, tenant: Tenant
) -> None:
    answer = await local.post(tenant.url, json={"phone": "5550340001", "product": "Solar"})
    assert answer.status_code == 200
    served = {name for name, _ in await scrape(local)}
    dashboard = orjson.loads(DASHBOARD.read_bytes())
    assert len(dashboard["panels"]) == 8
    read = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(?:sales|leadpipe)_\w+", target["expr"])
    }
    assert read <= served, read - served
