"""Isolate workspaces with row-level security on PostgreSQL

Every workspace-scoped table gets a policy comparing its ``workspace_id`` with the
transaction's ``app.workspace_id`` setting, which authenticated API transactions set
(``leadpipe.storage.engine.workspace_scope``). When the setting is empty (webhook
intake, the CLI, migrations) every row is visible: those act across workspaces by design.

FORCE applies the policies to the tables' owner too, which is the role leadpipe normally
connects as. Superusers and BYPASSRLS roles are never subject to row-level security:
connect as an ordinary role in production. SQLite has no row-level security; there the
queries' WHERE clauses are the only line.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "api_keys",
    "webhooks",
    "contacts",
    "leads",
    "lead_activities",
    "lead_status_history",
    "lead_pipeline_stages",
    "lead_field_definitions",
    "inbound_requests",
)
POLICY = "workspace_isolation"
CONDITION = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {POLICY} ON {table} USING ({CONDITION}) WITH CHECK ({CONDITION})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
