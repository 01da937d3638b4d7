"""Import leads from CSV files: the imports with their files and progress, the rows they
refused, and the digests of the rows they wrote

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from leadpipe.storage.types import JSONType, UTCDateTime

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("lead_imports", "lead_import_refusals", "imported_rows")


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_id"],
        ["workspaces.id"],
        name=f"fk_{table}_workspace_id_workspaces",
        ondelete="CASCADE",
    )


def _import_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["import_id"],
        ["lead_imports.id"],
        name=f"fk_{table}_import_id_lead_imports",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "lead_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("column_map", JSONType, nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("failure", sa.String(500), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        _workspace_fk("lead_imports"),
        sa.PrimaryKeyConstraint("id", name="pk_lead_imports"),
    )
    op.create_index(
        "ix_lead_imports_workspace_created", "lead_imports", ["workspace_id", "created_at"]
    )
    op.create_table(
        "lead_import_refusals",
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("row", JSONType, nullable=False),
        _import_fk("lead_import_refusals"),
        _workspace_fk("lead_import_refusals"),
        sa.PrimaryKeyConstraint("import_id", "row_number", name="pk_lead_import_refusals"),
    )
    op.create_table(
        "imported_rows",
        sa.Column("workspace_id", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        _import_fk("imported_rows"),
        _workspace_fk("imported_rows"),
        sa.PrimaryKeyConstraint("workspace_id", "digest", name="pk_imported_rows"),
    )
    if op.get_bind().dialect.name == "postgresql":  # as migration 0003 for the others
        condition = "coalesce(current_setting('app.workspace_id', true), '') IN ('', workspace_id)"
        for table in _TABLES:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY workspace_isolation ON {table} "
                f"USING ({condition}) WITH CHECK ({condition})"
            )


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_table(table)
