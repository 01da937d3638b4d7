"""Every SQL statement about the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select

from leadpipe.storage.base import table_of
from leadpipe.storage.models import AuditEntry

AUDIT_LOG = table_of(AuditEntry)
_a = AUDIT_LOG.c


class AuditRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(AUDIT_LOG), values)

    def for_subject(self, workspace_id: str, subject_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(AUDIT_LOG)
            .where(_a.workspace_id == workspace_id, _a.subject_id == subject_id)
            .order_by(_a.at, _a.id)
        ).mappings()
        return [dict(r) for r in rows]
