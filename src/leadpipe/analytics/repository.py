"""Aggregates over leads for the inbound queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, case, func, select

from leadpipe.analytics.rules import OPEN_STAGES_EXCLUDED
from leadpipe.leads.repository import LEADS

_l = LEADS.c


@dataclass(frozen=True, slots=True)
class QueueCounts:
    total: int
    new: int
    pending: int
    today: int
    converted: int


def _count_if(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class InboundQueries:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def counts(self, where: list[Any], today: datetime) -> QueueCounts:
        row = self.conn.execute(
            select(
                func.count(),
                _count_if(_l.stage == "new"),
                _count_if(_l.is_active & _l.stage.not_in(OPEN_STAGES_EXCLUDED)),
                _count_if(_l.created_at >= today),
                _count_if(_l.is_converted),
            ).where(*where)
        ).one()
        return QueueCounts(*(int(v) for v in row))

    def most_common(self, column_name: str, where: list[Any]) -> str | None:
        column = _l[column_name]
        row = self.conn.execute(
            select(column, func.count().label("n"))
            .where(*where, column.is_not(None))
            .group_by(column)
            .order_by(func.count().desc(), column)
            .limit(1)
        ).first()
        return row[0] if row else None
