"""A database that cannot be reached, or is busy, answers 503 with ``Retry-After`` in the
error envelope: a caller can retry, and the log gets a warning, not a traceback per
request. A connection dropped under a delivery costs the delivery nothing."""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.dialect import is_unavailable
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead, Webhook
from tests.conftest import make_tenant
from tests.integration.helpers import count, one, rows
from tests.integration.netfaults import Cut, CuttingProxy


def _port_nobody_listens_on() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def unreachable() -> AsyncIterator[httpx.AsyncClient]:
    """The app, with its PostgreSQL server gone."""
    port = _port_nobody_listens_on()
    settings = Settings(database_url=f"postgresql://postgres@127.0.0.1:{port}/leadpipe")
    db = Database.from_settings(settings)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client
    db.dispose()


async def test_every_request_answers_503_while_the_database_is_gone(
    unreachable: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    responses = [
        await unreachable.post("/webhooks/wh_any", json={"phone": "5551234567"}),
        await unreachable.post("/webhooks/wh_any", json={"phone": "5551234568"}),
        await unreachable.get("/api/v3/leads", headers={"X-API-Key": "lp_whatever"}),
        await unreachable.get("/health"),
    ]

    for response in responses:
        assert response.status_code == 503, response.text
        body = response.json()
        assert (body["success"], body["code"]) == (False, "SERVICE_UNAVAILABLE")
        assert body["request_id"] == response.headers["x-request-id"]
        assert response.headers["retry-after"] == "5"
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    # One line for the outage, not one per request, and no tracebacks.
    assert [r.getMessage().split(",")[0] for r in warnings] == [
        "database unavailable: 1 failed since the last warning"
    ]


def _error_of(engine: Engine, sql: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text(sql))
    return caught.value


def test_which_sqlite_errors_mean_not_now(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # another process writing, past the busy timeout
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        assert is_unavailable(_error_of(engine, "INSERT INTO t VALUES (1)"))
        assert not is_unavailable(_error_of(engine, "SELECT * FROM no_such_table"))
    finally:
        holder.close()
        engine.dispose()


def test_which_postgresql_errors_mean_not_now(postgres_url: str) -> None:
    engine = create_engine(make_url(postgres_url))
    gone = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_port_nobody_listens_on()}/x")
    try:
        assert is_unavailable(_error_of(gone, "SELECT 1"))
        assert is_unavailable(_error_of(engine, "SELECT pg_terminate_backend(pg_backend_pid())"))
        assert not is_unavailable(_error_of(engine, "SELECT * FROM no_such_table"))
        assert not is_unavailable(_error_of(engine, "SELECT 1 / 0"))
    finally:
        engine.dispose()
        gone.dispose()


async def test_a_connection_dropped_under_a_delivery_costs_it_nothing(
    postgres_url: str,
) -> None:
    """What a PostgreSQL restart does to the pool: the batch on the dead connection fails,
    and its deliveries are done again on a new one."""
    settings = Settings(database_url=postgres_url, database_pool_size=1, database_max_overflow=0)
    db = Database.from_settings(settings)
    tenant = make_tenant(db, workspace_id="restart")
    transport = httpx.ASGITransport(app=create_app(settings, db))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await client.post(tenant.url, json={"phone": "5550500001"})
            with db.engine.connect() as conn:  # the pool's one connection, checked out
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            admin = create_engine(make_url(postgres_url), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.dispose()
            second = await client.post(tenant.url, json={"phone": "5550500002"})

        assert (first.status_code, second.status_code) == (200, 200), second.text
        assert count(db, Contact, workspace_id="restart") == 2
    finally:
        db.dispose()


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[CuttingProxy]:
    cutting = CuttingProxy(postgres_url)
    yield cutting
    cutting.close()


async def _deliveries_cut(
    proxy: CuttingProxy, postgres_url: str, cut: Cut, workspace_id: str
) -> tuple[list[httpx.Response], Database]:
    """Three deliveries of new people posted together through a connection that ``cut``
    cuts at the first COMMIT; their answers, and the database seen directly."""
    settings = Settings(database_url=proxy.url)
    db = Database.from_settings(settings)
    tenant = make_tenant(db, workspace_id=workspace_id)
    transport = httpx.ASGITransport(app=create_app(settings, db))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            proxy.cut = cut
            responses = await asyncio.gather(
                *[
                    client.post(tenant.url, json={"phone": f"555051000{i}", "product": "Solar"})
                    for i in range(3)
                ]
            )
    finally:
        db.dispose()
    assert proxy.cuts == 1
    return list(responses), Database.from_settings(Settings(database_url=postgres_url))


class TestCommitCutOff:
    """The connection is lost with a COMMIT on the way. Done again, a batch that had
    committed would store every lead twice; one that had not must be done again. An API
    create told to retry after it had committed would be created twice."""

    async def test_a_batch_that_committed_is_answered_and_not_done_again(
        self, proxy: CuttingProxy, postgres_url: str
    ) -> None:
        responses, db = await _deliveries_cut(proxy, postgres_url, "commit_answer_lost", "cut1")

        assert [r.status_code for r in responses] == [200] * 3, [r.text for r in responses]
        assert len({r.json()["lead_id"] for r in responses}) == 3
        assert count(db, Lead, workspace_id="cut1") == 3
        assert count(db, Contact, workspace_id="cut1") == 3
        assert one(db, Webhook, workspace_id="cut1")["total_leads"] == 3
        db.dispose()

    async def test_a_batch_that_did_not_commit_is_done_again(
        self, proxy: CuttingProxy, postgres_url: str
    ) -> None:
        responses, db = await _deliveries_cut(proxy, postgres_url, "commit_lost_on_the_way", "cut2")

        assert [r.status_code for r in responses] == [200] * 3, [r.text for r in responses]
        leads = rows(db, Lead, workspace_id="cut2")
        assert sorted(str(lead["id"]) for lead in leads) == sorted(
            r.json()["lead_id"] for r in responses
        )
        db.dispose()

    async def test_when_nobody_can_say_the_batch_is_refused_not_done_again(
        self, proxy: CuttingProxy, postgres_url: str
    ) -> None:
        proxy.refuse_after_cut = True  # PostgreSQL is gone with the COMMIT's answer
        responses, db = await _deliveries_cut(proxy, postgres_url, "commit_answer_lost", "cut3")

        assert {r.status_code for r in responses} == {503}
        assert {r.json()["code"] for r in responses} == {"SERVICE_UNAVAILABLE"}
        # The cut batch had committed, and was not done again: one lead per person. (A
        # provider's retry without an idempotency key would add a second.)
        leads = rows(db, Lead, workspace_id="cut3")
        assert len(leads) >= 1
        assert len({lead["contact_id"] for lead in leads}) == len(leads)
        db.dispose()

    async def test_an_api_create_that_committed_is_answered_and_not_repeated(
        self, proxy: CuttingProxy, postgres_url: str
    ) -> None:
        settings = Settings(database_url=proxy.url)
        db = Database.from_settings(settings)
        tenant = make_tenant(db, workspace_id="cut4")
        transport = httpx.ASGITransport(app=create_app(settings, db))
        contact = {"firstname": "Ann", "phone": "5550520001", "product": "Solar"}
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                proxy.cut = "commit_answer_lost"
                created = await client.post(
                    "/api/v3/contacts",
                    json={**contact, "enable_lead_tracking": True},
                    headers={"X-API-Key": tenant.api_key},
                )
        finally:
            db.dispose()

        assert proxy.cuts == 1
        assert created.status_code == 201, created.text
        direct = Database.from_settings(Settings(database_url=postgres_url))
        assert count(direct, Contact, workspace_id="cut4") == 1
        assert count(direct, Lead, workspace_id="cut4") == 1
        direct.dispose()
