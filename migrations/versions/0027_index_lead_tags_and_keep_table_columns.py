"""Keep each lead's tags as rows (``lead_tags``) for the tag filter, and each member's
choice of the lead table's columns

``lead_tags`` holds one row per (workspace, tag, lead). Triggers on ``leads`` keep it in
the same transaction as every insert and every change of ``tags``, so no writer (intake,
the API, the dashboard's bulk actions, imports, the demo) can forget it; a lead's rows go
with it through the cascading reference (deletes, erasure, a workspace deleted). Only the
JSON array's strings are tags, as the filter read them before.

- SQLite: row triggers over ``json_each``.
- PostgreSQL: row triggers, whose WHEN clause skips the function for the leads that have
  no tags and the updates that leave them alone (most of intake's writes).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadpipe.storage.types import JSONType

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("lead_tags_on_insert", "lead_tags_on_update")
PG_FUNCTION = "lead_tags_apply"
# As in 0003 (migrations are frozen in time, so not imported from there).
RLS_CONDITION = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"

# -- SQLite -------------------------------------------------------------------------------


def _sqlite_tags_of(row: str, source: str) -> str:
    """Insert the tags of ``row`` (``NEW``, or each of the ``leads`` in ``source``)."""
    return (
        "INSERT OR IGNORE INTO lead_tags (workspace_id, tag, lead_id) "
        f"SELECT {row}.workspace_id, held.value, {row}.id FROM {source} "
        "WHERE held.type = 'text'"
    )


_SQLITE_NEW = _sqlite_tags_of("NEW", "json_each(NEW.tags) AS held")
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER lead_tags_on_insert AFTER INSERT ON leads "
    f"WHEN json_array_length(NEW.tags) > 0 BEGIN {_SQLITE_NEW}; END",
    "CREATE TRIGGER lead_tags_on_update AFTER UPDATE OF tags ON leads "
    "WHEN OLD.tags IS NOT NEW.tags "
    f"BEGIN DELETE FROM lead_tags WHERE lead_id = OLD.id; {_SQLITE_NEW}; END",
]
_SQLITE_BACKFILL = _sqlite_tags_of("leads", "leads, json_each(leads.tags) AS held")

# -- PostgreSQL ---------------------------------------------------------------------------


def _pg_tags_of(row: str, source: str) -> str:
    """Insert the tags of ``row`` (``NEW``, or each of the ``leads`` in ``source``); a
    ``tags`` that is not an array has none (rather than an error that fails the write)."""
    array = f"CASE WHEN jsonb_typeof({row}.tags) = 'array' THEN {row}.tags ELSE '[]' END"
    return (
        "INSERT INTO lead_tags (workspace_id, tag, lead_id) "
        f"SELECT DISTINCT {row}.workspace_id, held.value #>> '{{}}', {row}.id "
        f"FROM {source}jsonb_array_elements({array}) AS held "
        "WHERE jsonb_typeof(held.value) = 'string' "
        "ON CONFLICT DO NOTHING"
    )


_PG_STATEMENTS = [
    f"""
    CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' THEN
            DELETE FROM lead_tags WHERE lead_id = OLD.id;
        END IF;
        {_pg_tags_of("NEW", "")};
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER lead_tags_on_insert AFTER INSERT ON leads FOR EACH ROW "
    f"WHEN (NEW.tags <> '[]'::jsonb) EXECUTE FUNCTION {PG_FUNCTION}()",
    "CREATE TRIGGER lead_tags_on_update AFTER UPDATE OF tags ON leads FOR EACH ROW "
    f"WHEN (OLD.tags IS DISTINCT FROM NEW.tags) EXECUTE FUNCTION {PG_FUNCTION}()",
    # The same workspace isolation as every other workspace-scoped table (0003).
    "ALTER TABLE lead_tags ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE lead_tags FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY workspace_isolation ON lead_tags USING ({RLS_CONDITION}) "
    f"WITH CHECK ({RLS_CONDITION})",
]
_PG_BACKFILL = _pg_tags_of("leads", "leads CROSS JOIN LATERAL ")


def upgrade() -> None:
    op.add_column("workspace_members", sa.Column("table_columns", JSONType, nullable=True))
    op.create_table(
        "lead_tags",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("lead_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name="fk_lead_tags_lead_id_leads", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("workspace_id", "tag", "lead_id", name="pk_lead_tags"),
    )
    op.create_index("ix_lead_tags_lead_id", "lead_tags", ["lead_id"])
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(_PG_BACKFILL if postgresql else _SQLITE_BACKFILL)
    for statement in _PG_STATEMENTS if postgresql else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON leads" if postgresql else ""))
    if postgresql:
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    op.drop_table("lead_tags")
    with op.batch_alter_table("workspace_members") as batch:
        batch.drop_column("table_columns")
