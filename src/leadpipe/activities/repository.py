"""Every SQL statement about lead activities (the timeline)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from leadpipe.storage import fastexec
from leadpipe.storage.base import table_of
from leadpipe.storage.models import LeadActivity

ACTIVITIES = table_of(LeadActivity)
_INSERT = insert(ACTIVITIES)


class ActivityRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        fastexec.execute_many(self.conn, _INSERT, rows)


_a = ACTIVITIES.c


class ActivityQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def for_leads(
        self,
        lead_ids: Sequence[uuid.UUID],
        *,
        activity_type: str | None = None,
        outcome: str | None = None,
    ) -> list[dict[str, Any]]:
        """Timeline entries of these leads, newest first."""
        if not lead_ids:
            return []
        stmt = select(ACTIVITIES).where(_a.lead_id.in_(lead_ids))
        if activity_type is not None:
            stmt = stmt.where(_a.activity_type == activity_type)
        if outcome is not None:
            stmt = stmt.where(_a.outcome == outcome)
        rows = self.conn.execute(stmt.order_by(_a.created_at.desc(), _a.id.desc())).mappings()
        return [dict(r) for r in rows]
