"""Running Alembic from code: ``leadpipe db upgrade``, first start and tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from leadpipe.storage.dialect import alters_tables_by_copying, needs_statistics_gathered

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def alembic_config(engine: Engine | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (SQLite and PostgreSQL alike)."""
    config = alembic_config()
    with engine.connect() as conn:
        copying = alters_tables_by_copying(conn)
        if copying:
            # SQLite alters a table by copying it and dropping the original; with foreign
            # keys on, that drop would cascade into every referencing row. The pragma only
            # takes effect outside a transaction, hence on the raw connection, first.
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        with conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
            if copying:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left dangling references: {broken[:5]}")
            if needs_statistics_gathered(conn):
                _analyze(conn)
        if copying:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def refresh_statistics(engine: Engine) -> None:
    """Let the query planner see the rows just written in bulk (``leadpipe demo``), rather
    than wait for autovacuum, which looks once a minute at best and may be switched off."""
    with engine.connect() as conn:
        _analyze(conn)
        conn.commit()


def _analyze(conn: Connection) -> None:
    if needs_statistics_gathered(conn):
        # Sampled: it stays quick on millions of rows.
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    conn.exec_driver_sql("ANALYZE")


def autovacuum_is_off(engine: Engine) -> bool:
    """PostgreSQL's autovacuum keeps the planner's statistics; without them a busy
    workspace's contact lookups read every contact of the workspace."""
    if needs_statistics_gathered(engine.dialect.name):
        return False
    with engine.connect() as conn:
        return bool(conn.execute(text("SELECT current_setting('autovacuum') = 'off'")).scalar_one())
