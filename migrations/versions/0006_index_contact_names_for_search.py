"""Index contact names for search

A search by name (``q`` on the lead and contact lists) matches ``%text%`` against a
contact's full name. Without an index it read every contact of the workspace: 85-130 ms
on a workspace of 70,000 leads.

- SQLite: an index on (workspace, full name, CRM id, id). The match still visits each of
  the workspace's names, but in the index alone, without reading the contact rows; with
  the id in it, SQLite prefers it to the other indexes that start with the workspace.
- PostgreSQL: a trigram index (pg_trgm) on (workspace, full name), with btree_gin for the
  workspace column, which finds the matching names directly. Both extensions are trusted
  since PostgreSQL 13: a database owner may create them. Where they cannot be created,
  the search works as before, unindexed, and the migration says so.

The full-name expression must stay identical to ``contacts.repository.FULL_NAME``: each
database uses the index only for the very expression it was built on. The index is not
in the models, because it differs per backend.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_contacts_name_search"
FULL_NAME = "(coalesce(firstname, '') || ' ' || coalesce(lastname, ''))"

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE INDEX {INDEX} ON contacts (workspace_id, {FULL_NAME}, crm_id, id)")
        return
    if _extensions_created("pg_trgm", "btree_gin"):
        op.execute(
            f"CREATE INDEX {INDEX} ON contacts USING gin (workspace_id, {FULL_NAME} gin_trgm_ops)"
        )


def _extensions_created(*names: str) -> bool:
    savepoint = op.get_bind().begin_nested()
    try:
        for name in names:
            op.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
    except DBAPIError as exc:
        savepoint.rollback()
        log.warning(
            "Could not create the PostgreSQL extensions %s (%s); name search stays "
            "unindexed. Ask a database owner to run CREATE EXTENSION for them, then "
            "CREATE INDEX %s as in this migration.",
            ", ".join(names),
            exc.orig,
            INDEX,
        )
        return False
    savepoint.commit()
    return True


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
