"""The SQL a person's export needs beyond what the contact and lead queries read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from leadpipe.storage.base import table_of
from leadpipe.storage.models import LeadStatusHistory

_HISTORY = table_of(LeadStatusHistory)
_h = _HISTORY.c


class PersonQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def stage_history(
        self, workspace_id: str, lead_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[dict[str, Any]]]:
        """Each lead's stage changes, oldest first, every column."""
        found: dict[uuid.UUID, list[dict[str, Any]]] = {i: [] for i in lead_ids}
        if not lead_ids:
            return found
        rows = self.conn.execute(
            select(_HISTORY)
            .where(_h.workspace_id == workspace_id, _h.lead_id.in_(list(lead_ids)))
            .order_by(_h.created_at, _h.id)
        ).mappings()
        for row in rows:
            found[row["lead_id"]].append(dict(row))
        return found
