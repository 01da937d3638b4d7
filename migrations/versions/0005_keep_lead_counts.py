"""Keep lead counts per workspace, stage, source, product and state

``lead_counts`` holds, for each combination a workspace has, how many leads and how much
estimated value. Triggers on ``leads`` keep it in the same transaction as every insert,
update and delete, so totals, the pipeline overview and the inbound metrics read a few
hundred rows instead of counting every lead, and no writer can forget to update it.

- SQLite: row triggers; SQLite has one writer at a time, so their order cannot deadlock.
- PostgreSQL: statement triggers over transition tables. Each statement applies its net
  change per key in one upsert, in key order: concurrent writers lock counter rows in the
  same order, so they wait for each other but never deadlock, and an update that changes
  no counted column writes nothing.

The 8-column covering index that the counts made unnecessary becomes a narrow one that
serves a stage's newest leads in order.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = (
    "workspace_id",
    "stage",
    "lead_source",
    "product_interest",
    "product_key",
    "is_active",
    "is_converted",
)
KEY_LIST = ", ".join(KEYS)
NULLABLE = ("lead_source", "product_interest")
TRIGGERS = ("lead_counts_on_insert", "lead_counts_on_update", "lead_counts_on_delete")
PG_FUNCTION = "lead_counts_apply"
# As in 0003 (migrations are frozen in time, so not imported from there).
RLS_CONDITION = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"


def _key_values(row: str, *, named: bool = False) -> str:
    """The counted key of a ``leads`` row (``NEW``, ``OLD`` or a table), as values or, when
    ``named``, as select-list columns named as in ``lead_counts``."""
    values = []
    for key in KEYS:
        value = f"coalesce({row}.{key}, '')" if key in NULLABLE else f"{row}.{key}"
        values.append(f"{value} AS {key}" if named else value)
    return ", ".join(values)


def _deltas(table: str, sign: str) -> str:
    return (
        f"SELECT {_key_values(table, named=True)}, {sign}1 AS n, "
        f"{sign}coalesce({table}.estimated_value, 0) AS v FROM {table}"
    )


def _backfill() -> str:
    return (
        f"INSERT INTO lead_counts ({KEY_LIST}, lead_count, value_total) "
        f"SELECT {KEY_LIST}, count(*), coalesce(sum(v), 0) "
        f"FROM ({_deltas('leads', '')}) AS d GROUP BY {KEY_LIST}"
    )


# -- SQLite -------------------------------------------------------------------------------

_SQLITE_ADD = f"""
    INSERT INTO lead_counts ({KEY_LIST}, lead_count, value_total)
    VALUES ({_key_values("NEW")}, 1, coalesce(NEW.estimated_value, 0))
    ON CONFLICT ({KEY_LIST}) DO UPDATE SET
        lead_count = lead_count + 1, value_total = value_total + excluded.value_total;
"""
_SQLITE_REMOVE = f"""
    UPDATE lead_counts SET
        lead_count = lead_count - 1,
        value_total = value_total - coalesce(OLD.estimated_value, 0)
    WHERE ({KEY_LIST}) = ({_key_values("OLD")});
"""
_COUNTED_CHANGED = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in (*KEYS, "estimated_value"))


def _sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER lead_counts_on_insert AFTER INSERT ON leads BEGIN {_SQLITE_ADD} END",
        "CREATE TRIGGER lead_counts_on_update AFTER UPDATE ON leads "
        f"WHEN {_COUNTED_CHANGED} "
        f"BEGIN {_SQLITE_REMOVE} {_SQLITE_ADD} END",
        f"CREATE TRIGGER lead_counts_on_delete AFTER DELETE ON leads BEGIN {_SQLITE_REMOVE} END",
    ]


# -- PostgreSQL ---------------------------------------------------------------------------


def _pg_apply(deltas: str) -> str:
    # A workspace being deleted takes its leads with it: nothing to count there (and a
    # counter row for it would break the foreign key).
    return f"""
        INSERT INTO lead_counts AS c ({KEY_LIST}, lead_count, value_total)
        SELECT {KEY_LIST}, sum(n), sum(v) FROM ({deltas}) AS d
        WHERE EXISTS (SELECT 1 FROM workspaces w WHERE w.id = d.workspace_id)
        GROUP BY {KEY_LIST}
        HAVING sum(n) <> 0 OR sum(v) <> 0
        ORDER BY {KEY_LIST}
        ON CONFLICT ({KEY_LIST}) DO UPDATE SET
            lead_count = c.lead_count + excluded.lead_count,
            value_total = c.value_total + excluded.value_total;
    """


_PG_FUNCTION_BODY = f"""
CREATE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_pg_apply(_deltas("new_rows", ""))}
    ELSIF TG_OP = 'UPDATE' THEN
        {_pg_apply(_deltas("new_rows", "") + " UNION ALL " + _deltas("old_rows", "-"))}
    ELSE
        {_pg_apply(_deltas("old_rows", "-"))}
    END IF;
    RETURN NULL;
END
$$
"""


def _pg_triggers() -> list[str]:
    def trigger(name: str, event: str, tables: str) -> str:
        return (
            f"CREATE TRIGGER {name} AFTER {event} ON leads REFERENCING {tables} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()"
        )

    return [
        _PG_FUNCTION_BODY,
        trigger("lead_counts_on_insert", "INSERT", "NEW TABLE AS new_rows"),
        trigger("lead_counts_on_update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        trigger("lead_counts_on_delete", "DELETE", "OLD TABLE AS old_rows"),
        # The same workspace isolation as every other workspace-scoped table (0003).
        "ALTER TABLE lead_counts ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE lead_counts FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY workspace_isolation ON lead_counts USING ({RLS_CONDITION}) "
        f"WITH CHECK ({RLS_CONDITION})",
    ]


def upgrade() -> None:
    op.create_table(
        "lead_counts",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=100), nullable=False),
        sa.Column("lead_source", sa.String(length=255), nullable=False),
        sa.Column("product_interest", sa.String(length=255), nullable=False),
        sa.Column("product_key", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_converted", sa.Boolean(), nullable=False),
        sa.Column("lead_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "value_total",
            sa.Numeric(precision=15, scale=2),
            server_default=sa.text("0"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_counts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*KEYS, name=op.f("pk_lead_counts")),
    )
    # Plain index operations: a batch (copy-and-move) of ``leads`` on SQLite would drop
    # its triggers, so any later migration that rebuilds ``leads`` must recreate them.
    op.drop_index("ix_leads_workspace_stage", table_name="leads")
    op.create_index("ix_leads_workspace_stage", "leads", ["workspace_id", "stage", "created_at"])
    op.execute(_backfill())
    dialect = op.get_bind().dialect.name
    for statement in _pg_triggers() if dialect == "postgresql" else _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON leads" if postgresql else ""))
    if postgresql:
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
    op.drop_table("lead_counts")
    op.drop_index("ix_leads_workspace_stage", table_name="leads")
    op.create_index(
        "ix_leads_workspace_stage",
        "leads",
        [
            "workspace_id",
            "stage",
            "lead_source",
            "product_interest",
            "is_active",
            "is_converted",
            "created_at",
            "estimated_value",
        ],
    )
