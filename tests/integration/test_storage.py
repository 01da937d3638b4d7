"""PostgreSQL housekeeping: the connection pool replaces connections dropped while idle,
and the planner's statistics are refreshed when autovacuum would be too late."""

from __future__ import annotations

import logging
import os
import socket
import time

import pytest
from sqlalchemy import Connection, create_engine, make_url, text

from leadpipe.bootstrap import prepare
from leadpipe.config import Settings
from leadpipe.intake.schemas import Delivery
from leadpipe.intake.service import IntakeService
from leadpipe.storage import connect, migrate
from leadpipe.storage.engine import Database, sent_together
from tests.conftest import make_tenant


def _backend_pid(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    """What a database restart, a proxy or a firewall does to an idle connection."""
    admin = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


@pytest.fixture
def db(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    # Every checkout counts as after a long idle spell.
    monkeypatch.setattr(connect, "PING_AFTER_IDLE_SECONDS", 0.0)
    return Database.from_settings(Settings(database_url=postgres_url, database_pool_size=1))


async def test_a_connection_dropped_while_idle_is_replaced_unnoticed(
    db: Database, postgres_url: str
) -> None:
    try:
        with db.transaction() as conn:
            first = _backend_pid(conn)
        _terminate(postgres_url, first)

        with db.transaction() as conn:
            assert _backend_pid(conn) != first
        # The ping leaves no transaction open: autocommit lookups can use the connection.
        assert await db.lookup(_backend_pid) != first
    finally:
        db.dispose()


def test_a_live_idle_connection_is_kept(db: Database) -> None:
    try:
        with db.transaction() as conn:
            first = _backend_pid(conn)
        with db.transaction() as conn:
            assert _backend_pid(conn) == first
    finally:
        db.dispose()


def test_statistics_refresh_on_demand(db: Database) -> None:
    """``leadpipe demo`` writes thousands of rows faster than autovacuum looks."""
    try:
        with db.transaction() as conn:
            before = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        migrate.refresh_statistics(db.engine)
        with db.transaction() as conn:
            analyzed = conn.execute(
                text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'contacts'")
            ).scalar_one()
        assert analyzed is not None
        assert analyzed >= before
    finally:
        db.dispose()


def test_starting_on_a_server_without_autovacuum_says_so(
    db: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        with caplog.at_level(logging.WARNING, logger="leadpipe"):
            prepare(db, settings)
        warned = any("autovacuum is off" in r.getMessage() for r in caplog.records)
        assert warned == migrate.autovacuum_is_off(db.engine)
    finally:
        db.dispose()


def _corked(conn: Connection) -> bool:
    fd = conn.connection.driver_connection.pgconn.socket  # type: ignore[union-attr]
    with socket.socket(fileno=os.dup(fd)) as sock:
        return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK))


def test_writes_sent_together_leave_when_the_block_ends_even_on_failure(db: Database) -> None:
    """Held back by the kernel inside the block, so that PostgreSQL reads them at once; a
    connection left corked would hold every later statement back for 200 ms."""
    try:
        with db.transaction(pipelined=True) as conn:
            assert not _corked(conn)
            with sent_together(conn):
                assert _corked(conn)
            assert not _corked(conn)
            with pytest.raises(RuntimeError), sent_together(conn):
                raise RuntimeError("a write failed")
            assert not _corked(conn)
        with db.transaction() as conn, sent_together(conn):  # outside a pipeline: as it is
            assert not _corked(conn)
    finally:
        db.dispose()


def test_intake_plans_its_statements_once_from_their_first_run(db: Database) -> None:
    """A statement run unprepared is planned for its values, and with statistics taken
    before a workspace grew, such a plan reads the whole workspace for one phone number.
    Prepared from the first run, it gets the generic plan (plan_cache_mode)."""
    try:
        tenant = make_tenant(db, "prepared")
        delivery = Delivery(
            webhook_id=tenant.webhook_id,
            payload={"phone": "5550610001", "product": "Solar"},
            problem=None,
            workspace_header=None,
            delivery_key=None,
            content_type="application/json",
            ip_address=None,
            user_agent=None,
            request_id="req",
            started=time.perf_counter(),
        )
        assert IntakeService().ingest(db, delivery).status_code == 200
        with db.transaction() as conn:  # the pool's only connection: the one intake used
            prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).all()
        assert any("FROM contacts" in statement for (statement,) in prepared)
    finally:
        db.dispose()
