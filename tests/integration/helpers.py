"""Reading what the service wrote, the way a user would look at the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, Table, Uuid, func, select

from leadpipe.storage.base import table_of
from leadpipe.storage.engine import Database
from leadpipe.storage.models import Contact, InboundRequest, Lead, LeadActivity, LeadStatusHistory

WRITTEN_BY_INTAKE = (Contact, Lead, LeadActivity, LeadStatusHistory)


def _where(table: Table, stmt: Select[Any], where: dict[str, Any]) -> Select[Any]:
    for column, value in where.items():
        if isinstance(table.c[column].type, Uuid) and isinstance(value, str):
            value = uuid.UUID(value)
        stmt = stmt.where(table.c[column] == value)
    return stmt


def count(db: Database, model: Any, **where: Any) -> int:
    table = table_of(model)
    with db.transaction(write=False) as conn:
        return int(
            conn.execute(_where(table, select(func.count()).select_from(table), where)).scalar_one()
        )


def counts(db: Database) -> dict[str, int]:
    """Rows of every table the intake writes customer data to."""
    return {m.__tablename__: count(db, m) for m in WRITTEN_BY_INTAKE}


def rows(db: Database, model: Any, **where: Any) -> list[dict[str, Any]]:
    table = table_of(model)
    stmt = _where(table, select(table).order_by(table.c.created_at, table.c.id), where)
    with db.transaction(write=False) as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def one(db: Database, model: Any, **where: Any) -> dict[str, Any]:
    found = rows(db, model, **where)
    assert len(found) == 1, f"expected one {model.__tablename__} row, found {len(found)}"
    return found[0]


def activities(db: Database, lead_id: str) -> list[dict[str, Any]]:
    return rows(db, LeadActivity, lead_id=lead_id)


def inbound_log(db: Database, webhook_id: str) -> list[dict[str, Any]]:
    return rows(db, InboundRequest, webhook_id=webhook_id)


def backdate(db: Database, model: Any, days: int = 0, *, minutes: int = 0, **where: Any) -> None:
    """Move rows' creation back in time, as if they had arrived that much earlier."""
    table = table_of(model)
    earlier = timedelta(days=days, minutes=minutes)
    with db.transaction() as conn:
        found = conn.execute(_where(table, select(table.c.id, table.c.created_at), where)).all()
        for row_id, created in found:
            conn.execute(
                table.update().where(table.c.id == row_id).values(created_at=created - earlier)
            )


def age_lead(db: Database, lead_id: str, days: int) -> None:
    backdate(db, Lead, days, id=lead_id)


@contextmanager
def refusing_inserts(
    db: Database, table: str, condition: str, *, as_conflict: bool = True
) -> Iterator[None]:
    """Inserts into ``table`` of rows meeting ``condition`` fail for a while: as constraint
    violations, or else as an error of the database's own."""
    with db.transaction() as conn:
        if db.dialect == "sqlite":
            failure = "RAISE(ABORT, 'storage down')" if as_conflict else "no_such_function()"
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_rows BEFORE INSERT ON {table} "
                f"WHEN {condition} BEGIN SELECT {failure}; END"
            )
        else:
            errcode = "unique_violation" if as_conflict else "internal_error"
            conn.exec_driver_sql(
                "CREATE OR REPLACE FUNCTION refuse_rows() RETURNS trigger LANGUAGE plpgsql "
                f"AS $$ BEGIN RAISE EXCEPTION 'storage down' USING ERRCODE = '{errcode}'; "
                "END $$"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_rows BEFORE INSERT ON {table} FOR EACH ROW "
                f"WHEN ({condition}) EXECUTE FUNCTION refuse_rows()"
            )
    try:
        yield
    finally:
        with db.transaction() as conn:
            on_table = "" if db.dialect == "sqlite" else f" ON {table}"
            conn.exec_driver_sql(f"DROP TRIGGER refuse_rows{on_table}")


# What a duplicate's answer has of its own; everything else is the first answer's.
DUPLICATE_FIELDS = ("message", "duplicate", "duplicate_of", "request_id")


def assert_answered_as_duplicate(again: dict[str, Any], first: dict[str, Any]) -> None:
    """``again`` is the answer to a repeat of the delivery answered ``first``: the first
    answer's ids and decision, flagged and worded as a duplicate of that delivery."""
    assert {k: v for k, v in again.items() if k not in DUPLICATE_FIELDS} == {
        k: v for k, v in first.items() if k not in DUPLICATE_FIELDS
    }
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    assert again["message"].startswith("Duplicate of an earlier delivery")
    assert again["duplicate_of"]["request_id"] == first["request_id"]
    assert again["duplicate_of"]["message"] == first["message"]
