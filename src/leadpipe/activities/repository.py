"""Every SQL statement about lead activities (the timeline)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert

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
