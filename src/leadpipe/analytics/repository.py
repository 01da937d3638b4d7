"""Aggregates over leads for the inbound queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from leadpipe.analytics.rules import QueueGroup
from leadpipe.leads.repository import LEADS

_l = LEADS.c


class InboundQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def groups(self, where: list[Any], today: datetime) -> list[QueueGroup]:
        """Lead counts by stage, source, product and state, in one pass over one covering
        index; every queue metric is a sum over these few hundred rows."""
        keys = (_l.stage, _l.lead_source, _l.product_interest, _l.is_active, _l.is_converted)
        rows = self.conn.execute(
            select(
                *keys,
                func.count(),
                func.coalesce(func.sum(case((_l.created_at >= today, 1), else_=0)), 0),
            )
            .where(*where)
            .group_by(*keys)
        )
        return [QueueGroup(*row) for row in rows]
