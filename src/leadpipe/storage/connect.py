"""Engines: how leadpipe connects to each backend (SQLite pragmas and WAL, PostgreSQL
pooling and pings), and the database URL as given."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import NullPool

from leadpipe.config import Settings
from leadpipe.kit.serialization import json_text

log = logging.getLogger("leadpipe.storage")


class _SQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, plus table hints, which SQLAlchemy leaves out for SQLite:
    ``with_hint(table, "INDEXED BY ix_name", "sqlite")`` names the index a query must use."""

    def get_from_hint_text(self, table: Any, text: str | None) -> str | None:  # noqa: ARG002
        return text


# SQLite copies its write-ahead log back into the database file (a checkpoint) on a thread
# of the server's own (``Database.checkpoint``, every ``CHECKPOINT_EVERY_SECONDS``), not
# in the connection that commits: that one runs on the event loop, where every request
# waited for the copy and its sync. A connection still checkpoints once the log passes
# this many pages (16 MB), should that thread fall behind or not run (the CLI).
WAL_AUTOCHECKPOINT_PAGES = 4000
CHECKPOINT_EVERY_SECONDS = 0.05

# Pages each SQLite connection keeps in memory (KiB): a pooled connection keeps what it
# read for as long as it lives, which keeps the dashboard's lists and counts in memory.
# A read that walks a whole workspace (a CSV export's pages) would fill that much on every
# connection it passes through; it runs on a connection of its own with a small cache,
# closed after each page (``make_walking_engine``).
CACHE_KIB = 65536
WALKING_CACHE_KIB = 8192


def _configure_sqlite(engine: Engine, synchronous: str, cache_kib: int = CACHE_KIB) -> None:
    engine.dialect.statement_compiler = _SQLiteCompiler

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so BEGIN is ours (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
        # another writer committed in between; IMMEDIATE takes the write lock up front and
        # waits (busy_timeout) instead.
        write = conn.get_execution_options().get("leadpipe_write", True)
        conn.connection.driver_connection.execute(  # type: ignore[union-attr]
            "BEGIN IMMEDIATE" if write else "BEGIN"
        )


def normalize_url(raw: str) -> URL:
    """``postgresql://`` means psycopg 3 here, the driver leadpipe ships with."""
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


# A pooled connection is pinged before use only when it sat idle long enough for a
# restart, a proxy or a firewall to have dropped it. pool_pre_ping would ping on every
# checkout: one more round trip for every transaction, a sixth of a delivery's.
PING_AFTER_IDLE_SECONDS = 2.0


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle_long(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # leave no transaction open for the next user
        except engine.dialect.loaded_dbapi.Error as err:
            # The pool drops this connection and checks out another (or a new one).
            raise DisconnectionError("pooled connection was dropped while idle") from err

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # psycopg prepares a statement after a few executions; PostgreSQL would still plan it
        # again for each of its first runs, and planning costs more than running these
        # lookups by unique key. A generic plan is right for them from the start.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_generic_plan")
        dbapi_connection.commit()


def make_engine(settings: Settings) -> Engine:
    url = normalize_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            json_serializer=json_text,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False},
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
        )
        _configure_sqlite(engine, settings.sqlite_synchronous)
        return engine
    engine = create_engine(
        url,
        json_serializer=json_text,
        json_deserializer=orjson.loads,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_recycle=1800,
    )
    _configure_postgresql(engine)
    return engine


def make_walking_engine(engine: Engine) -> Engine:
    """SQLite: an engine for reads that walk a whole workspace, beside ``engine``: no pool,
    so each connection closes after its transaction and gives its pages back, and a small
    page cache (``WALKING_CACHE_KIB``) while it is open. mmap stays off (SQLite's default),
    as on ``engine``: mapped pages of the file would count as the worker's memory too.
    ``engine`` itself for an in-memory database, which only its own connections see."""
    if engine.url.database in (None, "", ":memory:"):
        return engine
    walking = create_engine(
        engine.url,
        json_serializer=json_text,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False},
        poolclass=NullPool,
    )
    _configure_sqlite(walking, "NORMAL", WALKING_CACHE_KIB)  # it never writes
    return walking
