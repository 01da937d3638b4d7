"""Live events over the WebSocket, through real servers: after commit only, scoped to the
workspace, and across workers (PostgreSQL LISTEN/NOTIFY, Redis pub/sub)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant, serving
from tests.integration.dashboard import PASSWORD, add_member, login_form_token

REDIS_URL = "redis://127.0.0.1:6379/15"


def _session_cookie(base_url: str, email: str) -> str:
    with httpx.Client(base_url=base_url) as http:
        form = http.get("/login")
        answer = http.post(
            "/login",
            data={"email": email, "password": PASSWORD, "login_token": login_form_token(form.text)},
        )
        assert answer.status_code == 303
        return f"leadpipe_session={http.cookies['leadpipe_session']}"


@contextmanager
def _socket(base_url: str, **headers: str) -> Iterator[ClientConnection]:
    url = base_url.replace("http://", "ws://") + "/live"
    with connect(url, additional_headers=headers, open_timeout=5) as ws:
        ready = json.loads(ws.recv(timeout=5))
        assert ready["type"] == "ready"
        yield ws


def _next_events(ws: ClientConnection, wanted: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while len(events) < wanted:
        events += [m for m in messages_in(ws.recv(timeout=timeout)) if m["type"] != "ping"]
    return events


def messages_in(raw: str | bytes) -> list[dict[str, Any]]:
    """A message is one event, or a JSON array of the events that left together."""
    received = json.loads(raw)
    return received if isinstance(received, list) else [received]


def _deliver(base_url: str, tenant: Tenant, **payload: Any) -> dict[str, Any]:
    answer = httpx.post(f"{base_url}{tenant.url}", json=payload)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_delivery_reaches_the_dashboards_of_its_workspace_only(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    other = make_tenant(db, workspace_id="other")
    email = add_member(db, tenant.workspace_id, "viewer")
    with (
        _socket(base_url, Cookie=_session_cookie(base_url, email)) as ws,
        _socket(base_url, **{"X-API-Key": other.api_key}) as elsewhere,
    ):
        answer = _deliver(
            base_url,
            tenant,
            firstname="Ana",
            lastname="Lopez",
            email="ana@example.com",
            productid="Solar Panels",
        )
        created, lead = _next_events(ws, 2)
        assert created == {
            "type": "webhook:contact_created",
            "data": {
                "workspace_id": tenant.workspace_id,
                "contact_id": answer["contact_id"],
                "firstname": "Ana",
                "lastname": "Lopez",
                "webhook_name": "Test webhook",
            },
        }
        assert lead["type"] == "lead.created"
        assert lead["data"]["lead_id"] == answer["lead_id"]

        # A status update of the same person: no new contact, the lead updated.
        _deliver(
            base_url,
            tenant,
            email="ana@example.com",
            productid="Solar Panels",
            lead_status="qualified",
        )
        (updated,) = _next_events(ws, 1)
        assert updated["type"] == "lead.updated"
        assert updated["data"]["lead_id"] == answer["lead_id"]

        with pytest.raises(TimeoutError):
            elsewhere.recv(timeout=0.3)


def test_the_events_of_one_write_reach_a_socket_as_one_message(
    base_url: str, db: Database, tenant: Tenant, settings: Settings
) -> None:
    """A new person's delivery announces the contact and the lead together: the socket
    gets them in one message (an array), not one message and one task each. Within one
    process the two are heard at once; through PostgreSQL's notifications they may be
    heard a moment apart, which this test cannot tell from a socket that sends singly."""
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("heard together only within one process (the embedded server)")
    email = add_member(db, tenant.workspace_id, "viewer")
    with _socket(base_url, Cookie=_session_cookie(base_url, email)) as ws:
        answer = _deliver(base_url, tenant, email="burst@example.com", productid="Solar")
        received = json.loads(ws.recv(timeout=5))
        while isinstance(received, dict) and received["type"] == "ping":
            received = json.loads(ws.recv(timeout=5))
        assert isinstance(received, list)
        assert [m["type"] for m in received] == ["webhook:contact_created", "lead.created"]
        assert received[1]["data"]["lead_id"] == answer["lead_id"]


def test_a_refused_delivery_announces_nothing(base_url: str, db: Database, tenant: Tenant) -> None:
    with _socket(base_url, **{"X-API-Key": tenant.api_key}) as ws:
        refused = httpx.post(f"{base_url}{tenant.url}", json={"firstname": "No identity"})
        assert refused.status_code == 400
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.5)


def test_a_socket_without_credentials_or_from_another_site_is_refused(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    for headers in ({}, {"X-API-Key": "lp_not_a_key"}):
        with (
            pytest.raises(InvalidStatus) as refused,
            connect(base_url.replace("http://", "ws://") + "/live", additional_headers=headers),
        ):
            pass
        assert refused.value.response.status_code == 403
    # A session cookie that is no session: told to sign in (4401), and sent nothing.
    forged = {"Cookie": "leadpipe_session=forged"}
    with (
        connect(base_url.replace("http://", "ws://") + "/live", additional_headers=forged) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401
    email = add_member(db, tenant.workspace_id, "viewer")
    cookie = _session_cookie(base_url, email)
    with (
        pytest.raises(InvalidStatus),
        connect(
            base_url.replace("http://", "ws://") + "/live",
            additional_headers={"Cookie": cookie},
            origin="https://evil.example",  # type: ignore[arg-type]
        ),
    ):
        pass


def test_an_agents_change_on_the_dashboard_is_announced(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    email = add_member(db, tenant.workspace_id, "agent")
    answer = _deliver(base_url, tenant, email="bo@example.com", productid="HVAC")
    cookie = _session_cookie(base_url, email)
    with (
        _socket(base_url, **{"X-API-Key": tenant.api_key}) as ws,
        httpx.Client(base_url=base_url, headers={"Cookie": cookie}) as http,
    ):
        page = http.get("/app").text
        csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
        moved = http.post(
            f"/app/leads/{answer['lead_id']}/activities",
            data={"activity_type": "call", "title": "Called"},
            headers={"X-CSRF-Token": csrf},
        )
        assert moved.status_code == 200
        types = [e["type"] for e in _next_events(ws, 2)]
        assert types == ["activity.created", "lead.updated"]


@pytest.fixture
def two_workers(settings: Settings) -> Iterator[tuple[str, str]]:
    """Two servers of one database, each with its own pool and hub, as two workers are."""
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            database = Database.from_settings(settings)
            stack.callback(database.dispose)
            urls.append(stack.enter_context(serving(settings, database)))
        yield urls[0], urls[1]


@pytest.mark.parametrize(
    "settings", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_postgresql_carries_events_to_every_worker(
    tenant: Tenant, two_workers: tuple[str, str]
) -> None:
    first, second = two_workers
    with _socket(second, **{"X-API-Key": tenant.api_key}) as ws:
        answer = _deliver(first, tenant, email="cross@example.com", productid="Roofing")
        events = _next_events(ws, 2)
        assert [e["type"] for e in events] == ["webhook:contact_created", "lead.created"]
        assert events[1]["data"]["lead_id"] == answer["lead_id"]


@pytest.fixture
def redis_settings(settings: Settings) -> Settings:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError as exc:
        if not _ci():
            pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
        raise
    return settings.model_copy(update={"redis_url": REDIS_URL})


def _ci() -> bool:
    import os

    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def test_redis_carries_events_to_every_worker(
    redis_settings: Settings, db: Database, tenant: Tenant
) -> None:
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            database = Database.from_settings(redis_settings)
            stack.callback(database.dispose)
            urls.append(stack.enter_context(serving(redis_settings, database)))
        with _socket(urls[1], **{"X-API-Key": tenant.api_key}) as ws:
            _deliver(urls[0], tenant, email="via-redis@example.com", productid="Windows")
            events = _next_events(ws, 2)
            assert [e["type"] for e in events] == ["webhook:contact_created", "lead.created"]


def test_a_change_through_the_api_is_announced_too(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    answer = _deliver(base_url, tenant, email="api@example.com", productid="Roofing")
    headers = {"X-API-Key": tenant.api_key}
    with _socket(base_url, **headers) as ws:
        changed = httpx.put(
            f"{base_url}/api/v3/leads/{answer['lead_id']}",
            json={"stage": "qualified"},
            headers=headers,
        )
        assert changed.status_code == 200
        # The delivery's own events may still be on their way to a socket opened just
        # after it (announced after its commit, together): they may come first, nothing else.
        heard = _next_events(ws, 1)
        while heard[-1]["type"] != "lead.updated":
            heard += _next_events(ws, 1)
        *before, updated = heard
        assert {e["type"] for e in before} <= {"webhook:contact_created", "lead.created"}
        assert updated["data"]["stage"] == "qualified"


def _total_leads(http: httpx.Client) -> int:
    tiles = http.get("/app/metrics?period=30").text
    value = tiles.split('data-metric="totalLeads"')[1].split('metric-value">')[1].split("<")[0]
    return int(value.replace(",", ""))


def test_the_metrics_every_dashboard_shares_follow_each_announced_change(
    base_url: str, db: Database, tenant: Tenant
) -> None:
    """One reading of the metrics serves every dashboard of the workspace until the worker
    hears its next change: a lead announced is counted at the next request, never hidden
    behind the shared reading."""
    cookie = _session_cookie(base_url, add_member(db, tenant.workspace_id, "viewer"))
    with (
        _socket(base_url, **{"X-API-Key": tenant.api_key}) as ws,
        httpx.Client(base_url=base_url, headers={"Cookie": cookie}) as http,
    ):
        assert _total_leads(http) == 0
        for n in range(1, 4):
            _deliver(base_url, tenant, email=f"m{n}@example.com", productid="Solar")
            _next_events(ws, 2)  # heard by the worker: the dashboards would ask now
            assert _total_leads(http) == n
            assert _total_leads(http) == n  # the shared reading, as another dashboard gets it
