"""The migration stream builds the schema the models describe, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, inspect, text

from leadpipe.accounts.service import account
from leadpipe.config import Settings
from leadpipe.contacts.repository import ContactQueries
from leadpipe.storage import migrate
from leadpipe.storage.base import Base
from leadpipe.storage.connect import normalize_url
from leadpipe.storage.engine import Database
from leadpipe.storage.models.contacts import INDEXES_OUTSIDE_THE_MODELS as CONTACT_INDEXES
from leadpipe.storage.models.leads import INDEXES_OUTSIDE_THE_MODELS as LEAD_INDEXES
from leadpipe.webhooks.service import webhook
from tests.conftest import BACKENDS, _pg_admin_url
from tests.integration.test_lead_counts import assert_counts_kept, kept

CONTACT = uuid.UUID("0199b5a4-3c1e-7e4b-9a51-3f0c2a6b1d22")


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(database_url=f"sqlite:///{tmp_path}/empty.db")
        return
    request.getfixturevalue("postgres_url")  # skips or fails when PostgreSQL is missing
    admin_url = normalize_url(_pg_admin_url())
    name = f"leadpipe_migrations_{uuid.uuid4().hex[:10]}"  # test processes may run side by side
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield Settings(database_url=admin_url.set(database=name).render_as_string(False))
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _index_names(conn: Connection, table: str) -> set[str]:
    """Every index of ``table``, expression indexes too (SQLAlchemy skips those on SQLite)."""
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE tablename = :t"
    return set(conn.execute(text(query), {"t": table}).scalars())


def _in_the_models(name: str | None, type_: str, _parent: object) -> bool:
    return not (type_ == "index" and name in CONTACT_INDEXES | LEAD_INDEXES)


def _without_inline_sqlite_reference(conn: Connection, diff: list[Any]) -> list[Any]:
    """SQLite's ALTER TABLE adds a reference only inline, which SQLAlchemy reflects with
    neither its name nor its ON DELETE (migration 0012, ``leads.assigned_user_id``): the
    pair of differences that makes is dropped, and the reference checked by PRAGMA."""
    if conn.dialect.name != "sqlite":
        return diff
    pragma = conn.execute(text("PRAGMA foreign_key_list(leads)")).mappings()
    found = [(r["table"], r["on_delete"]) for r in pragma if r["from"] == "assigned_user_id"]
    assert found == [("users", "SET NULL")]
    return [
        d
        for d in diff
        if not (
            d[0] in ("add_fk", "remove_fk")
            and [c.name for c in d[1].columns] == ["assigned_user_id"]
        )
    ]


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_upgrade_from_empty_matches_the_models(empty_database: Settings) -> None:
    db = Database.from_settings(empty_database)
    try:
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            indexes = _index_names(conn, "contacts") | _index_names(conn, "leads")
            opts = {"compare_type": True, "include_name": _in_the_models}
            context = MigrationContext.configure(conn, opts=opts)
            diff = _without_inline_sqlite_reference(conn, compare_metadata(context, Base.metadata))
    finally:
        db.dispose()
    assert set(Base.metadata.tables) <= tables
    assert diff == []
    assert indexes >= CONTACT_INDEXES | LEAD_INDEXES


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


def test_upgrading_counts_the_leads_already_there(empty_database: Settings) -> None:
    db = Database.from_settings(empty_database)
    try:
        migrate.upgrade(db.engine, "0004")
        _old_schema_leads(db)
        migrate.upgrade(db.engine)
        assert kept(db) == {
            ("w1", "new", "Google Ads", "Solar", "solar", True, False): (2, Decimal("300.00")),
            ("w1", "lost", "", "", "", False, False): (1, Decimal("0.00")),
        }
        assert_counts_kept(db)
    finally:
        db.dispose()


def _old_schema_leads(db: Database) -> None:
    """Three leads written before lead_counts existed."""
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO workspaces (id, name, default_region, lead_window_days, settings, "
                "created_at, updated_at) VALUES ('w1', 'W', 'US', 30, '{}', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO contacts (id, workspace_id, identity_scope, phone_number, "
                "custom_fields, metadata, created_at, updated_at) VALUES "
                "(:id, 'w1', '', '+15550000000', '{}', '{}', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"id": str(CONTACT)},
        )
        for stage, source, product, value, active in (
            ("new", "Google Ads", "Solar", 100, True),
            ("new", "Google Ads", "Solar", 200, True),
            ("lost", None, None, None, False),
        ):
            conn.execute(
                text(
                    "INSERT INTO leads (id, contact_id, workspace_id, lead_source, "
                    "product_interest, product_key, estimated_value, stage, is_active, "
                    "metadata, tags, custom_fields, created_at, updated_at) VALUES "
                    "(:id, :contact, 'w1', :source, :product, :key, :value, :stage, :active, "
                    "'{}', '[]', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": str(uuid.uuid4()),
                    "contact": str(CONTACT),
                    "source": source,
                    "product": product,
                    "key": (product or "").lower(),
                    "value": value,
                    "stage": stage,
                    "active": active,
                },
            )


def test_upgrading_keeps_existing_phones_searchable_by_their_ends_and_recounts_leads(
    empty_database: Settings,
) -> None:
    """Contacts written before 0025 get their reversed digits; a webhook that counted its
    accepted deliveries counts the leads that name it."""
    db = Database.from_settings(empty_database)
    try:
        migrate.upgrade(db.engine, "0024")
        with db.engine.begin() as conn:
            account.create_workspace(conn, name="W", workspace_id="w1")
            hook = webhook.create(conn, workspace_id="w1", name="Forms")
            conn.execute(text("UPDATE webhooks SET total_leads = 7"))  # 7 deliveries, 1 lead
            _contact_with_a_lead(conn, CONTACT, "+16267372686", hook)
            _contact_with_a_lead(conn, uuid.uuid4(), None, None)
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT phone_number, phone_reversed FROM contacts")).all()
            counted = conn.execute(text("SELECT total_leads FROM webhooks")).scalar_one()
            found = ContactQueries(conn).ids("w1", text="2686", phone_ending="6862")
    finally:
        db.dispose()
    assert sorted(stored, key=str) == sorted(
        [("+16267372686", "68627376261"), (None, None)], key=str
    )
    assert counted == 1
    assert found == [CONTACT]


def _contact_with_a_lead(
    conn: Connection, contact_id: uuid.UUID, phone: str | None, hook: str | None
) -> None:
    conn.execute(
        text(
            "INSERT INTO contacts (id, workspace_id, identity_scope, phone_number, email, "
            "custom_fields, metadata, created_at, updated_at) VALUES "
            "(:id, 'w1', '', :phone, :email, '{}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"id": contact_id.hex, "phone": phone, "email": f"{contact_id.hex}@example.com"},
    )
    conn.execute(
        text(
            "INSERT INTO leads (id, contact_id, workspace_id, webhook_id, product_key, stage, "
            "is_active, metadata, tags, custom_fields, created_at, updated_at, "
            "last_activity_at) VALUES (:id, :contact, 'w1', :hook, '', 'new', true, '{}', "
            "'[]', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"id": uuid.uuid4().hex, "contact": contact_id.hex, "hook": hook},
    )
