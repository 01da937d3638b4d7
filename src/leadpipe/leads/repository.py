"""Every SQL statement about leads and their stage history."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, insert, select, update

from leadpipe.leads.rules import LeadSnapshot
from leadpipe.storage.base import table_of
from leadpipe.storage.models import Lead, LeadStatusHistory

LEADS = table_of(Lead)
STATUS_HISTORY = table_of(LeadStatusHistory)
_l = LEADS.c


class LeadRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def newest_active(self, contact_id: uuid.UUID, product_key: str) -> LeadSnapshot | None:
        row = self.conn.execute(
            select(_l.id, _l.stage, _l.is_converted, _l.created_at)
            .where(_l.contact_id == contact_id, _l.product_key == product_key, _l.is_active)
            .order_by(_l.created_at.desc())
            .limit(1)
        ).first()
        return LeadSnapshot(row.id, row.stage, row.is_converted, row.created_at) if row else None

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(LEADS).values(**values))

    def update(self, lead_id: uuid.UUID, values: dict[str, Any]) -> None:
        self.conn.execute(update(LEADS).where(_l.id == lead_id).values(**values))

    def add_status_change(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(STATUS_HISTORY).values(**values))
