"""``/health/ready`` (readiness: can this worker serve?) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from leadpipe.config import Settings
from leadpipe.errors import Forbidden, ServiceUnavailable, Unauthorized, field_error
from leadpipe.kit.openapi import error
from leadpipe.observability import metrics
from leadpipe.observability.repository import active_pipeline
from leadpipe.storage.engine import Database

router = APIRouter()

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
REDIS_TIMEOUT_SECONDS = 1.0


class Readiness(BaseModel):
    success: Literal[True]
    status: Literal["ready"]
    checks: dict[str, Literal["ok"]]


@router.get(
    "/health/ready",
    tags=["health"],
    response_model=Readiness,
    responses={503: error("The database or Redis cannot be reached (SERVICE_UNAVAILABLE)")},
)
async def ready(request: Request) -> dict[str, Any]:
    """Readiness: the database answers, and Redis too when it is configured."""
    settings: Settings = request.app.state.settings
    checks = {"database": await _database_answers(request.app.state.db)}
    redis_url = redis_in_use(settings)
    if redis_url is not None:
        checks["redis"] = await _redis_answers(redis_url)
    down = [name for name, ok in checks.items() if not ok]
    if down:
        raise ServiceUnavailable(
            f"Not ready: {', '.join(down)} cannot be reached",
            [field_error(name, "not reachable") for name in down],
            headers={"Retry-After": "5"},
        )
    return {"success": True, "status": "ready", "checks": dict.fromkeys(checks, "ok")}


def redis_in_use(settings: Settings) -> str | None:
    """The Redis leadpipe depends on: live events' (``redis_url``), else the rate limits'
    storage when it is Redis."""
    if settings.redis_url:
        return settings.redis_url
    storage = settings.rate_limit_storage.removeprefix("async+")
    return storage if storage.startswith(("redis://", "rediss://", "unix://")) else None


async def _database_answers(db: Database) -> bool:
    def ping(conn: Connection) -> None:
        conn.execute(text("SELECT 1"))

    try:
        await db.read(ping)
    except (ServiceUnavailable, SQLAlchemyError, OSError):
        return False
    return True


async def _redis_answers(url: str) -> bool:
    import redis.asyncio as redis  # only when configured

    client = redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        await client.ping()
    except (redis.RedisError, OSError):
        return False
    finally:
        await client.aclose()
    return True


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request) -> Response:
    """Prometheus metrics: open to this machine, or with ``LEADPIPE_METRICS_TOKEN``."""
    settings: Settings = request.app.state.settings
    _may_scrape(request, settings)
    db: Database = request.app.state.db
    amounts = await db.read(active_pipeline)
    body = metrics.exposition([metrics.pipeline_amount(amounts)])
    return Response(body, media_type=PROMETHEUS_TEXT)


_FORWARDING_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


def _may_scrape(request: Request, settings: Settings) -> None:
    token = settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        scheme, _, credentials = sent.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            credentials.strip().encode(), token.encode()
        ):
            return
    if _from_this_machine(request):
        return
    if token:
        raise Unauthorized(
            "Send the metrics token as a bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    raise Forbidden("Metrics are served to this machine only; set LEADPIPE_METRICS_TOKEN")


def _from_this_machine(request: Request) -> bool:
    """A loopback client that no proxy forwarded: a proxy on this machine passes the
    world's requests on from loopback, and says so in these headers."""
    headers = request.scope["headers"]
    if any(name in _FORWARDING_HEADERS for name, _ in headers):
        return False
    host = request.client.host if request.client else None
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
