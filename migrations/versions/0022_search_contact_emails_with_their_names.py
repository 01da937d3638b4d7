"""Search contact emails with their names

A text search (``q`` on the lead and contact lists) matched names and CRM ids only, so
``jane.smith`` did not find jane.smith@example.com. The name-search index of migration
0006 now holds the email after the full name: one expression, one index, one match, and
no second index for intake to keep up on every new contact.

- SQLite: (workspace, searched text, CRM id, id), as before.
- PostgreSQL: the trigram index on (workspace, searched text), where 0006 could create
  pg_trgm and btree_gin; without them the search stays unindexed, as it was.

Rebuilding the index reads every contact once (seconds for 700,000 contacts) and holds
writes to ``contacts`` meanwhile. The expression must stay identical to
``contacts.repository.SEARCHED_TEXT``.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import logging
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_contacts_name_search"
FULL_NAME = "coalesce(firstname, '') || ' ' || coalesce(lastname, '')"
SEARCHED_TEXT = f"{FULL_NAME} || ' ' || coalesce(email, '')"

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    _index(SEARCHED_TEXT)


def downgrade() -> None:
    _index(FULL_NAME)


def _index(expression: str) -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE INDEX {INDEX} ON contacts (workspace_id, ({expression}), crm_id, id)")
        return
    if _has_trigram_extensions():
        op.execute(
            f"CREATE INDEX {INDEX} ON contacts "
            f"USING gin (workspace_id, ({expression}) gin_trgm_ops)"
        )
    else:
        log.warning("pg_trgm and btree_gin are not there: text search stays unindexed")


def _has_trigram_extensions() -> bool:
    found = op.get_bind().execute(
        text("SELECT count(*) FROM pg_extension WHERE extname IN ('pg_trgm', 'btree_gin')")
    )
    return int(found.scalar_one()) == 2
