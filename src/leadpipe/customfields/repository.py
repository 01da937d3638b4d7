"""Every SQL statement about custom field definitions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select, update

from leadpipe.customfields.rules import FieldDefinition
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert
from leadpipe.storage.models import LeadFieldDefinition
from leadpipe.storage.work import Work

DEFINITIONS = table_of(LeadFieldDefinition)
_d = DEFINITIONS.c
_VIEW = [c for c in DEFINITIONS.c if c.key != "workspace_id"]


class FieldDefinitionRepository:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def all(self, workspace_id: str, *, include_inactive: bool = False) -> list[dict[str, Any]]:
        stmt = select(*_VIEW).where(_d.workspace_id == workspace_id)
        if not include_inactive:
            stmt = stmt.where(_d.is_active)
        rows = self.conn.execute(stmt.order_by(_d.sort_order, _d.field_key)).mappings()
        return [dict(r) for r in rows]

    def active(self, workspace_id: str) -> list[FieldDefinition]:
        return [
            FieldDefinition(
                r["field_key"],
                r["label"],
                r["field_type"],
                tuple(r["options"] or ()),
                r["required"],
            )
            for r in self.all(workspace_id)
        ]

    def get(self, workspace_id: str, key: str) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(*_VIEW).where(_d.workspace_id == workspace_id, _d.field_key == key)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def insert(self, values: dict[str, Any]) -> bool:
        """False when the workspace already defines this key."""
        stmt = insert(self.conn.dialect.name, DEFINITIONS).values(**values)
        return self.conn.execute(stmt.on_conflict_do_nothing().returning(_d.id)).first() is not None

    def update(self, workspace_id: str, key: str, values: dict[str, Any]) -> None:
        self.conn.execute(
            update(DEFINITIONS)
            .where(_d.workspace_id == workspace_id, _d.field_key == key)
            .values(**values)
        )

    def delete(self, workspace_id: str, key: str) -> None:
        self.conn.execute(
            delete(DEFINITIONS).where(_d.workspace_id == workspace_id, _d.field_key == key)
        )
