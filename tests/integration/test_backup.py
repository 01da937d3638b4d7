"""``leadpipe backup`` while webhooks keep arriving through a real server, and ``leadpipe
restore`` into a new database: every lead answered before the backup began is there."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text
from typer.testing import CliRunner

from leadpipe.cli import app
from leadpipe.config import Settings, get_settings
from leadpipe.storage.base import table_of
from leadpipe.storage.connect import normalize_url
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, Lead
from tests.conftest import Tenant, _in_ci, _pg_admin_url, serving


def _leadpipe(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str) -> tuple[int, str]:
    """The ``leadpipe`` command on ``database_url``: its exit status and what it printed."""
    monkeypatch.setenv("LEADPIPE_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, list(args), catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    return done.exit_code, " ".join(done.output.split())


class Deliveries(threading.Thread):
    """Posts leads to the webhook one after another until stopped; the emails of those
    answered 2xx, in the order of their answers."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.answered: list[str] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            i = 0
            while not self.stopped.is_set():
                email = f"p{i}@example.com"
                payload = {"firstname": f"P{i}", "email": email, "productid": "Solar"}
                if client.post(self.url, json=payload).is_success:
                    self.answered.append(email)
                i += 1

    def until(self, n: int) -> None:
        deadline = time.monotonic() + 30
        while len(self.answered) < n:
            assert self.is_alive(), "the deliveries stopped"
            assert time.monotonic() < deadline, "the deliveries stalled"
            time.sleep(0.01)


@contextmanager
def _new_database(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database of the same kind, which does not exist yet (SQLite)."""
    if normalize_url(settings.database_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored' / 'leadpipe.db'}"
        return
    admin_url = normalize_url(_pg_admin_url())
    name = f"leadpipe_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _emails_with_leads(database_url: str) -> set[str]:
    db = Database.from_settings(Settings(database_url=database_url))
    contacts, leads = table_of(Contact), table_of(Lead)
    try:
        with db.transaction(write=False) as conn:
            stmt = select(contacts.c.email).join(leads, leads.c.contact_id == contacts.c.id)
            return {r[0] for r in conn.execute(stmt)}
    finally:
        db.dispose()


def _needs_pg_dump(settings: Settings) -> None:
    if normalize_url(settings.database_url).get_backend_name() == "sqlite":
        return
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if _in_ci():
            pytest.fail("CI=true requires pg_dump and pg_restore on PATH")
        pytest.skip("pg_dump or pg_restore is not on PATH")


def test_a_backup_under_write_load_restores_every_lead_answered_before_it(
    settings: Settings,
    db: Database,
    tenant: Tenant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _needs_pg_dump(settings)
    backup = tmp_path / "leadpipe.backup"
    with serving(settings, db) as base:
        deliveries = Deliveries(base + tenant.url)
        deliveries.start()
        try:
            deliveries.until(40)
            before = list(deliveries.answered)
            status, printed = _leadpipe(monkeypatch, settings.database_url, "backup", str(backup))
            assert status == 0, printed
            deliveries.until(len(before) + 10)  # intake went on through the backup
        finally:
            deliveries.stopped.set()
            deliveries.join(timeout=30)
    assert "Backed up" in printed
    with _new_database(settings, tmp_path) as restored:
        status, printed = _leadpipe(monkeypatch, restored, "restore", str(backup))
        assert status == 0, printed
        found = _emails_with_leads(restored)
    assert set(before) <= found
    assert found <= set(deliveries.answered) | {f"p{len(deliveries.answered)}@example.com"}


def test_a_backup_does_not_replace_a_file_unless_forced(
    settings: Settings,
    db: Database,
    tenant: Tenant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _needs_pg_dump(settings)
    backup = tmp_path / "leadpipe.backup"
    backup.write_text("an earlier backup")
    status, printed = _leadpipe(monkeypatch, settings.database_url, "backup", str(backup))
    assert (status, backup.read_text()) == (1, "an earlier backup")
    assert "exists; pass --force" in printed
    status, printed = _leadpipe(
        monkeypatch, settings.database_url, "backup", str(backup), "--force"
    )
    assert status == 0, printed
    assert backup.read_bytes() != b"an earlier backup"


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_a_sqlite_restore_is_refused_while_the_database_is_in_use_or_exists(
    settings: Settings,
    db: Database,
    tenant: Tenant,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backup = tmp_path / "leadpipe.backup"
    assert _leadpipe(monkeypatch, settings.database_url, "backup", str(backup))[0] == 0
    target = normalize_url(settings.database_url).database
    assert target is not None
    # Another process has the file open, as a running leadpipe does.
    holder = sqlite3.connect(target)
    holder.execute("SELECT count(*) FROM leads").fetchone()
    with holder:
        status, printed = _leadpipe(
            monkeypatch, settings.database_url, "restore", str(backup), "--force"
        )
    assert status == 1
    assert "is in use" in printed
    holder.close()
    db.dispose()
    status, printed = _leadpipe(monkeypatch, settings.database_url, "restore", str(backup))
    assert status == 1
    assert "exists; pass --force" in printed
    status, printed = _leadpipe(
        monkeypatch, settings.database_url, "restore", str(backup), "--force"
    )
    assert status == 0, printed


def test_a_backup_on_postgresql_without_pg_dump_says_so(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if normalize_url(settings.database_url).get_backend_name() == "sqlite":
        pytest.skip("SQLite needs no tool")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing there
    status, printed = _leadpipe(
        monkeypatch, settings.database_url, "backup", str(tmp_path / "x.dump")
    )
    assert status == 1
    assert "pg_dump is not on PATH" in printed
    assert not (tmp_path / "x.dump").exists()
