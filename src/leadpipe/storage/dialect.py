"""The only place that branches on SQLite vs PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, cast, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB


def insert(conn: Connection, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing/do_update`` on both backends."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def json_merge(conn: Connection, column: Any, patch: dict[str, Any]) -> Any:
    """``column`` with ``patch``'s keys written over it, computed by the database so that
    concurrent merges into one row do not lose each other's keys."""
    if conn.dialect.name == "postgresql":
        return func.coalesce(column, cast({}, JSONB)).op("||")(cast(patch, JSONB))
    return func.json_patch(func.coalesce(column, "{}"), func.json(json.dumps(patch, default=str)))
