"""Aggregates over leads for the inbound queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from leadpipe.analytics.rules import StateCount
from leadpipe.leads.repository import (
    LEAD_COUNTS,
    LEADS,
    LeadFilters,
    filter_conditions,
    filter_values,
)

_l = LEADS.c
_k = LEAD_COUNTS.c


class InboundQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def states(self, kept_where: list[Any]) -> list[StateCount]:
        """The set's leads per stage and state, from the kept counts."""
        keys = (_k.stage, _k.is_active, _k.is_converted)
        total = func.sum(_k.lead_count)
        rows = self.conn.execute(
            select(*keys, total).where(*kept_where).group_by(*keys).having(total > 0)
        )
        return [StateCount(*row) for row in rows]

    def per_name(self, kept_where: list[Any], column: str) -> dict[str, int]:
        """The set's leads per ``lead_source`` or ``product_interest``, from the kept counts."""
        named = _k[column]
        rows = self.conn.execute(
            select(named, func.sum(_k.lead_count)).where(*kept_where).group_by(named)
        )
        return {name: int(n) for name, n in rows}

    def arrived_since(self, filters: LeadFilters, since: datetime) -> int:
        """Leads matching ``filters`` created at or after ``since`` (a day's worth at most)."""
        values = filter_values(filters)
        stmt = (
            select(func.count())
            .select_from(LEADS)
            .where(*filter_conditions(frozenset(values)), _l.created_at >= since)
        )
        return int(self.conn.execute(stmt, values).scalar_one())
