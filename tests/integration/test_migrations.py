"""The migration stream builds the schema the models describe, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from leadpipe.config import Settings
from leadpipe.storage import migrate
from leadpipe.storage.base import Base
from leadpipe.storage.engine import Database, normalize_url
from tests.conftest import BACKENDS, _pg_admin_url


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path}/empty.db")
        return
    request.getfixturevalue("postgres_url")  # skips or fails when PostgreSQL is missing
    admin_url = normalize_url(_pg_admin_url())
    name = "leadpipe_migrations_check"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield Settings(database_url=admin_url.set(database=name).render_as_string(False))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_matches_the_models(empty_database: Settings) -> None:
    db = Database.from_settings(empty_database)
    try:
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        db.dispose()
    assert set(Base.metadata.tables) <= tables
    assert diff == []


def test_upgrade_is_idempotent(empty_database: Settings) -> None:
    db = Database.from_settings(empty_database)
    try:
        migrate.upgrade(db.engine)
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        db.dispose()
    head = ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    assert version == head
