"""PostgreSQL row-level security: a transaction bound to one workspace cannot read or
write another's rows, even with no WHERE clause at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError

from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from tests.conftest import Tenant, make_tenant
from tests.integration.test_lead_api import auth, deliver

# Only PostgreSQL has row-level security: run these against it alone.
pytestmark = pytest.mark.parametrize(
    "settings", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)

TABLES = (
    "contacts",
    "leads",
    "lead_activities",
    "lead_status_history",
    "lead_tags",
    "lead_pipeline_stages",
    "webhooks",
    "api_keys",
    "inbound_requests",
)


@pytest.fixture
def as_app_role(settings: Settings) -> Iterator[str]:
    """An ordinary role (no superuser, no BYPASSRLS), like a production connection."""
    role = f"leadpipe_app_{uuid.uuid4().hex[:8]}"
    engine = create_engine(settings.database_url)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS"))
        conn.execute(
            text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        )
    yield role
    with engine.begin() as conn:
        conn.execute(text(f"DROP OWNED BY {role}"))
        conn.execute(text(f"DROP ROLE {role}"))
    engine.dispose()


@pytest.fixture
async def two_workspaces(client: httpx.AsyncClient, tenant: Tenant, db: Database) -> str:
    other = make_tenant(db, workspace_id="other")
    await deliver(client, tenant, phone="5556000001", product="Solar", tags=["vip"])
    await deliver(client, other, phone="5556000002", product="Solar", tags=["vip"])
    return other.workspace_id


def _count(settings: Settings, role: str, workspace: str | None, table: str) -> int:
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"SET LOCAL ROLE {role}"))
            if workspace is not None:
                conn.execute(
                    text("SELECT set_config('app.workspace_id', :w, true)"), {"w": workspace}
                )
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("table", TABLES)
async def test_a_bound_transaction_sees_only_its_workspace(
    settings: Settings, as_app_role: str, two_workspaces: str, table: str
) -> None:
    everything = _count(settings, as_app_role, None, table)
    mine = _count(settings, as_app_role, "39135", table)
    theirs = _count(settings, as_app_role, two_workspaces, table)
    assert mine > 0
    assert theirs > 0
    assert mine + theirs == everything


def _bound(conn: Connection, role: str, workspace: str) -> None:
    conn.execute(text(f"SET LOCAL ROLE {role}"))
    conn.execute(text("SELECT set_config('app.workspace_id', :w, true)"), {"w": workspace})


def _insert_contact_into_other(settings: Settings, role: str) -> None:
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            _bound(conn, role, "39135")
            conn.execute(
                text(
                    "INSERT INTO contacts (id, workspace_id, identity_scope, email, custom_fields,"
                    " metadata, created_at, updated_at) VALUES (:id, 'other', '', 'x@example.com',"
                    " '{}', '{}', now(), now())"
                ),
                {"id": uuid.uuid4()},
            )
    finally:
        engine.dispose()


async def test_a_bound_transaction_cannot_write_into_another_workspace(
    settings: Settings, as_app_role: str, two_workspaces: str
) -> None:
    with pytest.raises(DBAPIError, match="row-level security"):
        _insert_contact_into_other(settings, as_app_role)
    engine = create_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            _bound(conn, as_app_role, "39135")
            changed = conn.execute(text("UPDATE leads SET priority = 'urgent'")).rowcount
    finally:
        engine.dispose()
    assert changed == 1  # only its own lead, though the statement named none


async def test_api_requests_bind_their_transactions(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings, two_workspaces: str
) -> None:
    """The API sets app.workspace_id in each transaction: visible through a lead's list."""
    response = await client.get("/api/v3/leads", headers=auth(tenant))
    assert [lead["workspace_id"] for lead in response.json()["data"]] == ["39135"]


async def test_transactions_begun_for_a_workspace_carry_it(db: Database) -> None:
    """What authentication sets reaches the transaction, on the worker thread too."""
    from leadpipe.storage.engine import workspace_scope

    def setting(conn: Connection) -> str:
        return str(
            conn.execute(text("SELECT current_setting('app.workspace_id', true)")).scalar_one()
            or ""
        )

    assert await db.read(setting) == ""
    token = workspace_scope.set("39135")
    try:
        assert await db.read(setting) == "39135"
        assert await db.write(setting) == "39135"
    finally:
        workspace_scope.reset(token)
    assert await db.read(setting) == ""
