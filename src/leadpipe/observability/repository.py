"""The SQL the metrics read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from leadpipe.storage.base import table_of
from leadpipe.storage.models import LeadCount

LEAD_COUNTS = table_of(LeadCount)


def active_pipeline(conn: Connection) -> list[tuple[str, str, Any]]:
    """The active leads' amounts per workspace and stage, from the counts kept per
    workspace (``lead_counts``): a few rows per workspace, however many leads."""
    c = LEAD_COUNTS.c
    rows = conn.execute(
        select(c.workspace_id, c.stage, func.sum(c.value_total))
        .where(c.is_active.is_(True))
        .group_by(c.workspace_id, c.stage)
        .order_by(c.workspace_id, c.stage)
    )
    return [(str(w), str(s), amount) for w, s, amount in rows]
