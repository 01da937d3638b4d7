"""Aggregates over leads for the inbound queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, func, select

from leadpipe.inbound.rules import Breakdown
from leadpipe.leads.queries import LeadFilters, LeadQueries, filter_conditions, filter_values
from leadpipe.leads.repository import LEAD_COUNTS, LEADS
from leadpipe.storage.work import Work

_l = LEADS.c
_k = LEAD_COUNTS.c


class InboundQueries:
    """The queue's counts come from the kept counts (``lead_counts``) when they can tell,
    as for a stage, source or product; from the leads themselves otherwise (dates)."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def _counted(self, filters: LeadFilters) -> tuple[Table, list[Any], Any, dict[str, Any]]:
        """Where to count the set's leads: the table, its conditions, the count, the values."""
        kept_where = LeadQueries(self.conn).kept_conditions(filters)
        if kept_where is not None:
            return LEAD_COUNTS, kept_where, func.sum(_k.lead_count), {}
        values = filter_values(filters)
        return LEADS, list(filter_conditions(frozenset(values))), func.count(), values

    def arrived_since(self, filters: LeadFilters, since: datetime) -> int:
        """Leads matching ``filters`` created at or after ``since`` (a day's worth at most)."""
        values = filter_values(filters)
        stmt = (
            select(func.count())
            .select_from(LEADS)
            .where(*filter_conditions(frozenset(values)), _l.created_at >= since)
        )
        return int(self.conn.execute(stmt, values).scalar_one())

    def breakdown(self, filters: LeadFilters) -> list[Breakdown]:
        """The set's leads per stage, state, source and product, in one pass: everything
        the metrics grid and the heat map show ('' for no source or product)."""
        table, where, total, values = self._counted(filters)
        keys = (
            table.c.stage,
            table.c.is_active,
            table.c.is_converted,
            func.coalesce(table.c.lead_source, ""),
            func.coalesce(table.c.product_interest, ""),
        )
        rows = self.conn.execute(
            select(*keys, total).where(*where).group_by(*keys).having(total > 0), values
        )
        return [Breakdown(*row) for row in rows]

    def names_used(self, workspace_id: str, column: str, limit: int = 100) -> list[str]:
        """The ``lead_source`` or ``product_interest`` values of the workspace's leads, most
        leads first (from the kept counts: one row per name, not per lead)."""
        named = LEAD_COUNTS.c[column]
        rows = self.conn.execute(
            select(named)
            .where(_k.workspace_id == workspace_id, named != "", named.is_not(None))
            .group_by(named)
            .having(func.sum(_k.lead_count) > 0)
            .order_by(func.sum(_k.lead_count).desc(), named)
            .limit(limit)
        )
        return [str(name) for (name,) in rows]
