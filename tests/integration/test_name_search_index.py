"""A search by name is answered through the name-search index of migration 0006.

The index serves only the exact expression it was built on, so a change to the query's
full name that the migration does not share would silently slow every name search down
to a read of all the workspace's contacts. Timing belongs to bench/queries.py; this
checks the plan.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Connection, insert, text

from leadpipe.contacts.repository import contacts_matching_text
from leadpipe.kit.clock import utcnow
from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact
from tests.conftest import make_tenant

FIRST = ["Maria", "James", "Wei", "Aisha", "Olga", "Tom", "Priya", "Diego"]
LAST = ["Garcia", "Smith", "Chen", "Khan", "Ivanova", "Brown", "Patel", "Lopez"]


def _fill(conn: Connection, workspace_id: str, n: int) -> None:
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "workspace_id": workspace_id,
            "identity_scope": "",
            "firstname": FIRST[i % len(FIRST)],
            "lastname": f"{LAST[(i // 8) % len(LAST)]}{i}",
            "phone_number": f"+1555{i:07d}",
            "custom_fields": {},
            "metadata": {},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    conn.execute(insert(table_of(Contact)), rows)


def _plan(conn: Connection, statement: Any, params: dict[str, Any]) -> str:
    compiled = statement.compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    if conn.dialect.name == "sqlite":
        positional = tuple(values[name] for name in compiled.positiontup)
        found = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", positional)
        return "\n".join(str(row[-1]) for row in found)
    return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", values))


@pytest.mark.parametrize("search", ["garcia", "Maria Gar", "ivanova1"])
def test_a_name_search_reads_the_name_index(db: Database, search: str) -> None:
    # As in a real database, most contacts belong to other workspaces.
    tenant, other = make_tenant(db), make_tenant(db, "other")
    with db.transaction() as conn:
        _fill(conn, tenant.workspace_id, 400)
        _fill(conn, other.workspace_id, 4000)
        conn.execute(text("ANALYZE"))
    statement = contacts_matching_text(
        tenant.workspace_id, text=search, pattern=f"%{search}%", short=False
    )
    with db.transaction() as conn:
        plan = _plan(conn, statement, {})
        assert len(conn.execute(statement).all()) > 0
        if db.dialect == "postgresql":
            # At a few thousand rows PostgreSQL rightly prefers reading the workspace's
            # contacts whole (at a hundred thousand it takes the index); what can be
            # checked here is that it compares the very expression the index holds.
            indexed = _indexed_full_name(conn)
            assert f"{indexed} ~~* " in plan, (indexed, plan)
        else:
            # The index is named in the query (INDEXED BY); it helps only if the query's
            # full name is the expression it holds, which SQLite compares as written.
            assert "USING INDEX ix_contacts_name_search" in plan, plan
            query = str(statement.compile(dialect=conn.dialect)).replace("contacts.", "")
            assert f"{_sqlite_indexed_full_name(conn)} LIKE ?" in query, query


def _sqlite_indexed_full_name(conn: Connection) -> str:
    definition = conn.execute(
        text("SELECT sql FROM sqlite_master WHERE name = 'ix_contacts_name_search'")
    ).scalar_one()
    element = str(definition).split("(workspace_id, ", 1)[1].rsplit(", crm_id", 1)[0]
    return element[1:-1]


def _indexed_full_name(conn: Connection) -> str:
    definition = conn.execute(
        text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_contacts_name_search'")
    ).scalar_one()
    element = str(definition).split("(workspace_id, ", 1)[1].rsplit(" gin_trgm_ops", 1)[0]
    return element[1:-1]  # an index element's expression comes in parentheses
