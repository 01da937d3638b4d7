"""Every SQL statement about lead activities (the timeline)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from leadpipe.activities.rules import ActivityDraft
from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import table_of
from leadpipe.storage.models import LeadActivity
from leadpipe.storage.work import Work

ACTIVITIES = table_of(LeadActivity)
_INSERT = insert(ACTIVITIES)


class ActivityRepository:
    """Writes wait for the end of the transaction when its work holds them."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        self.work.write_many(_INSERT, rows)

    def add_automated(
        self,
        lead_id: uuid.UUID,
        workspace_id: str,
        drafts: Sequence[ActivityDraft],
        meta: dict[str, Any],
        now: datetime,
    ) -> None:
        """The timeline entries the system writes itself, each carrying ``meta`` (who or what
        caused it) merged with its own metadata."""
        self.add_many(
            [
                {
                    "id": uuid7(),
                    "lead_id": lead_id,
                    "workspace_id": workspace_id,
                    "activity_type": d.activity_type,
                    "activity_category": "automated",
                    "title": d.title,
                    "description": d.description,
                    "outcome": d.outcome,
                    "activity_data": d.activity_data,
                    "is_automated": True,
                    "metadata": {**meta, **d.metadata},
                    "created_at": now,
                }
                for d in drafts
            ]
        )

    def add_many_automated(
        self,
        lead_ids: Sequence[uuid.UUID],
        workspace_id: str,
        drafts: Sequence[ActivityDraft],
        meta: dict[str, Any],
        now: datetime,
    ) -> None:
        """``add_automated`` on several leads at once (a change of the contact they share)."""
        for lead_id in lead_ids:
            self.add_automated(lead_id, workspace_id, drafts, meta, now)


_a = ACTIVITIES.c


class ActivityQueries:
    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

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
