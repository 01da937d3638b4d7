"""The only place that branches on SQLite vs PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import JSON, BindParameter, Connection, bindparam, cast, func, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB

T = TypeVar("T")


def insert(dialect: str, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing/do_update`` on both backends."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def per_dialect(build: Callable[[str], T]) -> Callable[[Connection], T]:
    """A statement built once per dialect and reused: building Core statements per call
    costs more than running them."""
    built: dict[str, T] = {}

    def get(conn: Connection) -> T:
        name = conn.dialect.name
        if name not in built:
            built[name] = build(name)
        return built[name]

    return get


def json_array(dialect: str, *values: Any) -> Any:
    """A JSON array built from column values in SQL."""
    if dialect == "postgresql":
        return func.json_build_array(*values)
    return func.json_array(*values)


def json_array_agg(dialect: str, value: Any) -> Any:
    """The values of a group as one JSON array (``[]`` when there are none), typed JSON so
    that it reads back as a Python list on both backends."""
    if dialect == "postgresql":
        agg = func.coalesce(func.json_agg(value), cast("[]", JSON))
    else:
        agg = func.coalesce(func.json_group_array(value), "[]")
    return type_coerce(agg, JSON)


def json_param(dialect: str, name: str) -> BindParameter[Any]:
    return bindparam(name, type_=JSONB if dialect == "postgresql" else JSON)


def json_merge(dialect: str, column: Any, patch_param: str) -> Any:
    """``column`` with the keys of the JSON object bound as ``patch_param`` written over it,
    computed by the database so that concurrent merges into one row keep each other's keys."""
    patch = json_param(dialect, patch_param)
    if dialect == "postgresql":
        return func.coalesce(column, cast({}, JSONB)).op("||")(patch)
    return func.json_patch(func.coalesce(column, "{}"), func.json(patch))
