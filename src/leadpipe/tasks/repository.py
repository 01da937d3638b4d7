"""Every SQL statement about tasks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, insert, select, update

from leadpipe.storage.base import table_of
from leadpipe.storage.models import Lead, LeadTask

TASKS = table_of(LeadTask)
_t = TASKS.c
_LEADS = table_of(Lead)


class TaskRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def lead_assignee(self, workspace_id: str, lead_id: uuid.UUID) -> tuple[bool, Any]:
        """Whether the lead is the workspace's, and who it is assigned to."""
        row = self.conn.execute(
            select(_LEADS.c.assigned_user_id).where(
                _LEADS.c.id == lead_id, _LEADS.c.workspace_id == workspace_id
            )
        ).first()
        return (row is not None, row[0] if row is not None else None)

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(TASKS), values)

    def get(self, workspace_id: str, task_id: uuid.UUID) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(TASKS).where(_t.id == task_id, _t.workspace_id == workspace_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def change(self, task_id: uuid.UUID, values: dict[str, Any]) -> None:
        self.conn.execute(update(TASKS).where(_t.id == task_id).values(**values))

    def listed(
        self,
        workspace_id: str,
        *,
        lead_id: uuid.UUID | None = None,
        assignee_id: uuid.UUID | None = None,
        done: bool | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Tasks by due time, soonest first; open ones only with ``done=False``."""
        stmt = select(TASKS).where(_t.workspace_id == workspace_id)
        if lead_id is not None:
            stmt = stmt.where(_t.lead_id == lead_id)
        if assignee_id is not None:
            stmt = stmt.where(_t.assignee_id == assignee_id)
        if done is not None:
            stmt = stmt.where(_t.done_at.is_not(None) if done else _t.done_at.is_(None))
        rows = self.conn.execute(stmt.order_by(_t.due_at, _t.id).limit(limit)).mappings()
        return [dict(r) for r in rows]

    def due_count(self, workspace_id: str, assignee_id: uuid.UUID, until: datetime) -> int:
        """A user's open tasks falling due by ``until``."""
        return int(
            self.conn.execute(
                select(func.count()).where(
                    _t.workspace_id == workspace_id,
                    _t.assignee_id == assignee_id,
                    _t.done_at.is_(None),
                    _t.due_at <= until,
                )
            ).scalar_one()
        )

    def open_per_lead(
        self, workspace_id: str, lead_ids: Sequence[uuid.UUID], now: datetime
    ) -> dict[uuid.UUID, tuple[int, int]]:
        """Each lead's open tasks, and how many of them are due (``due_at <= now``)."""
        if not lead_ids:
            return {}
        rows = self.conn.execute(
            select(_t.lead_id, func.count(), func.sum(case((_t.due_at <= now, 1), else_=0)))
            .where(
                _t.workspace_id == workspace_id,
                _t.lead_id.in_(lead_ids),
                _t.done_at.is_(None),
            )
            .group_by(_t.lead_id)
        )
        return {r[0]: (int(r[1]), int(r[2] or 0)) for r in rows}

    def next_per_lead(
        self, workspace_id: str, lead_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[str, Any]]:
        """Each lead's earliest open task (by due time), for the lead table's column."""
        if not lead_ids:
            return {}
        rows = self.conn.execute(
            select(_t.lead_id, _t.title, _t.due_at)
            .where(
                _t.workspace_id == workspace_id,
                _t.lead_id.in_(lead_ids),
                _t.done_at.is_(None),
            )
            .order_by(_t.lead_id, _t.due_at, _t.id)
        ).mappings()
        found: dict[uuid.UUID, dict[str, Any]] = {}
        for row in rows:
            found.setdefault(row["lead_id"], dict(row))
        return found
