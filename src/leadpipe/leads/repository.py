"""Every SQL statement about leads and their stage history."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from leadpipe.leads.rules import LeadSnapshot
from leadpipe.storage import fastexec
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import json_merge, per_dialect
from leadpipe.storage.models import Lead, LeadStatusHistory

LEADS = table_of(Lead)
STATUS_HISTORY = table_of(LeadStatusHistory)
_l = LEADS.c

_NEWEST_ACTIVE = (
    select(_l.id, _l.stage, _l.is_converted, _l.created_at)
    .where(
        _l.contact_id == bindparam("contact_id"),
        _l.product_key == bindparam("product_key"),
        _l.is_active,
    )
    .order_by(_l.created_at.desc())
    .limit(1)
)
_INSERT = insert(LEADS)
_UPDATE_MERGING_METADATA = per_dialect(
    lambda d: (
        update(LEADS)
        .where(_l.id == bindparam("_lead_id"))
        .values(metadata=json_merge(d, _l.metadata, "_metadata"))
    )
)
_INSERT_HISTORY = insert(STATUS_HISTORY)


class LeadRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def newest_active(self, contact_id: uuid.UUID, product_key: str) -> LeadSnapshot | None:
        rows = fastexec.execute(
            self.conn, _NEWEST_ACTIVE, {"contact_id": contact_id, "product_key": product_key}
        ).rows
        return LeadSnapshot(*rows[0]) if rows else None

    def insert(self, values: dict[str, Any]) -> None:
        fastexec.execute(self.conn, _INSERT, values)

    def update(
        self, lead_id: uuid.UUID, values: dict[str, Any], metadata_patch: dict[str, Any]
    ) -> None:
        """Set ``values`` and merge ``metadata_patch`` into the lead's metadata."""
        fastexec.execute(
            self.conn,
            _UPDATE_MERGING_METADATA(self.conn),
            {"_lead_id": lead_id, "_metadata": metadata_patch, **values},
        )

    def add_status_change(self, values: dict[str, Any]) -> None:
        fastexec.execute(self.conn, _INSERT_HISTORY, values)
