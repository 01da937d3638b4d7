"""What starting the application does."""

from __future__ import annotations

import asyncio
import gc
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from tests.conftest import make_tenant


async def test_startup_keeps_its_objects_out_of_full_collections(
    settings: Settings, db: Database
) -> None:
    # A full collection walking the ~100k objects of a started app paused every request
    # for ~100 ms (bench/intake.py's p99); frozen, they are not walked.
    app = create_app(settings, db)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


async def test_the_database_file_itself_soon_holds_what_was_written(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    """On SQLite a running server copies the write-ahead log back into the database file
    on a thread of its own: a copy of the file alone (a naive backup) is current within
    moments, without waiting for 16 MB of log to pile up first."""
    if db.dialect != "sqlite":
        pytest.skip("PostgreSQL has no write-ahead log file beside the database")
    tenant = make_tenant(db)
    app = create_app(settings, db)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        response = await client.post(tenant.url, json={"phone": "5550990001"})
        assert response.status_code == 200
        for _ in range(40):
            await asyncio.sleep(0.05)
            if _contacts_in_file_alone(db, tmp_path) == 1:
                break
        assert _contacts_in_file_alone(db, tmp_path) == 1


def test_the_embedded_database_syncs_each_commit_by_default(tmp_path: Path) -> None:
    """A delivery answered 200 is on the disk, not only in the operating system's cache,
    so a power cut cannot take it back (SQLite's synchronous=FULL, 2)."""
    db = Database.from_settings(Settings(database_url=f"sqlite:///{tmp_path}/default.db"))
    try:
        with db.transaction(write=False) as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        db.dispose()


def _contacts_in_file_alone(db: Database, tmp_path: Path) -> int:
    copy = tmp_path / "copy.db"
    assert db.engine.url.database is not None
    shutil.copyfile(db.engine.url.database, copy)  # without its -wal file
    try:
        with closing(sqlite3.connect(copy)) as conn:
            return int(conn.execute("SELECT count(*) FROM contacts").fetchone()[0])
    except sqlite3.DatabaseError:  # copied while a checkpoint was writing: look again
        return -1
