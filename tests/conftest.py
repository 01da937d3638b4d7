"""Test databases: SQLite always; PostgreSQL when reachable (and required when CI=true)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from leadpipe.accounts.service import account
from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.server import server_config
from leadpipe.storage import migrate
from leadpipe.storage.base import Base
from leadpipe.storage.connect import normalize_url
from leadpipe.storage.engine import Database
from leadpipe.webhooks.service import webhook

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_admin_url() -> str:
    return os.environ.get("LEADPIPE_TEST_POSTGRES_URL", DEFAULT_PG_URL)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database.from_settings(Settings(database_url=f"sqlite:///{path}"))
    migrate.upgrade(db.engine)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    admin_url = normalize_url(_pg_admin_url())
    name = f"leadpipe_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        message = f"PostgreSQL not reachable at {admin_url.render_as_string()}: {exc}"
        if _in_ci():
            pytest.fail(f"CI=true requires PostgreSQL. {message}")
        pytest.skip(f"{message} (set LEADPIPE_TEST_POSTGRES_URL to run these tests)")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    db = Database.from_settings(Settings(database_url=url))
    migrate.upgrade(db.engine)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        path = tmp_path / "leadpipe.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return Settings(database_url=f"sqlite:///{path}")
    url = request.getfixturevalue("postgres_url")
    _truncate_all(url)
    return Settings(database_url=url, database_pool_size=20)


def _truncate_all(url: str) -> None:
    engine = create_engine(make_url(url))
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    engine.dispose()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    yield database
    database.dispose()


@pytest.fixture
async def client(settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass(frozen=True)
class Tenant:
    workspace_id: str
    webhook_id: str
    api_key: str

    @property
    def url(self) -> str:
        return f"/webhooks/{self.webhook_id}"


def make_tenant(db: Database, workspace_id: str = "39135", **webhook_options: object) -> Tenant:
    with db.transaction() as conn:
        if workspace_id not in _existing_workspaces(conn):
            account.create_workspace(
                conn, name=f"Workspace {workspace_id}", workspace_id=workspace_id
            )
        hook = webhook.create(
            conn, workspace_id=workspace_id, name="Test webhook", **webhook_options
        )  # type: ignore[arg-type]
        key = account.create_api_key(conn, workspace_id=workspace_id, name="test")
    return Tenant(workspace_id, hook, key.key)


def _existing_workspaces(conn: object) -> set[str]:
    rows = conn.execute(text("SELECT id FROM workspaces"))  # type: ignore[attr-defined]
    return {r[0] for r in rows}


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis, for what several workers share (required when CI=true)."""
    url = os.environ.get("LEADPIPE_TEST_REDIS_URL", "redis://127.0.0.1:6379")
    host, port = url.removeprefix("redis://").split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        if _in_ci():
            pytest.fail(f"CI=true requires Redis at {url}")
        pytest.skip(f"Redis not reachable at {url}")
    return url


@pytest.fixture
def tenant(db: Database) -> Tenant:
    return make_tenant(db)


@contextmanager
def serving(settings: Settings, db: Database) -> Iterator[str]:
    """leadpipe served by uvicorn on a free local port, with its lifespan (live events),
    as in production; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = server_config(create_app(settings, db), settings, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def base_url(settings: Settings, db: Database) -> Iterator[str]:
    with serving(settings, db) as url:
        yield url
