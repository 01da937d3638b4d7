"""The inbound lead queue (seed 001): newest leads of a workspace with its headline numbers."""

from __future__ import annotations

import uuid
import weakref
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Engine

from leadpipe.activities.repository import ActivityQueries
from leadpipe.inbound.repository import InboundQueries
from leadpipe.inbound.rules import (
    Breakdown,
    heat_map,
    metric_changes,
    metrics_of,
    queue_metrics,
    start_of_day,
    states_and_names,
)
from leadpipe.kit.clock import utcnow
from leadpipe.kit.memo import Remembered
from leadpipe.leads.queries import LeadFilters, LeadQueries
from leadpipe.leads.rules import product_key
from leadpipe.leads.service import lead

# Per database (an engine), so that no reading outlives the database it was read from.
_BASELINES: weakref.WeakKeyDictionary[Engine, Remembered[list[Breakdown]]] = (
    weakref.WeakKeyDictionary()
)


def _baselines(conn: Connection) -> Remembered[list[Breakdown]]:
    found = _BASELINES.get(conn.engine)
    if found is None:
        found = _BASELINES[conn.engine] = Remembered(seconds=60)
    return found


class InboundService:
    def queue(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        status: str | None,
        source: str | None,
        product: str | None,
        created_from: datetime | None,
        created_to: datetime | None,
        limit: int,
        offset: int,
    ) -> dict[str, Any]:
        filters = LeadFilters(
            workspace_id=workspace_id,
            stage=None if status in (None, "", "all") else status,
            source=source or None,  # an empty filter filters nothing
            product_key=product_key(product) if product else None,
            is_active=None,  # the queue shows every lead that came in, open or closed
            created_from=created_from,
            created_to=created_to,
        )
        filters = lead.as_stored(conn, filters)
        queries, inbound = LeadQueries(conn), InboundQueries(conn)
        states, products, sources = states_and_names(inbound.breakdown(filters))
        metrics = queue_metrics(
            states,
            products=products,
            sources=sources,
            today=inbound.arrived_since(filters, start_of_day(utcnow())),
        )
        leads = (
            queries.page(filters, sort="created_at", descending=True, limit=limit, offset=offset)
            if offset < metrics["totalLeads"]
            else []
        )
        # The metrics already counted the set: no second count for ``total``.
        return {"success": True, "leads": leads, "metrics": metrics, "total": metrics["totalLeads"]}

    def metrics(
        self,
        conn: Connection,
        workspace_id: str,
        since: datetime,
        until: datetime,
        tz: tzinfo | None = None,
    ) -> dict[str, Any]:
        """Seed 001's metrics over the leads created in [since, until), the change of each
        against the period of the same length just before, and the period's heat map;
        "today" from midnight in ``tz`` (the workspace's zone), UTC without one."""
        counted, queries = InboundQueries(conn), LeadQueries(conn)
        today = start_of_day(until, tz)
        cells = counted.breakdown(_created_between(workspace_id, since, until))
        current = metrics_of(
            cells, today=queries.count(_created_between(workspace_id, today, until))
        )
        # "Today" compares with yesterday up to the same time of day.
        yesterday = _created_between(
            workspace_id, today - timedelta(days=1), until - timedelta(days=1)
        )
        # The period before is only the baseline of the changes: a minute-old reading of it
        # is as good, and saves the larger half of the work.
        before = _created_between(workspace_id, since - (until - since), since)
        earlier = _baselines(conn).get(
            (workspace_id, until - since, since.replace(second=0, microsecond=0)),
            lambda: counted.breakdown(before),
        )
        previous = metrics_of(earlier, today=queries.count(yesterday))
        return {
            "current": current,
            "changes": metric_changes(current, previous),
            "heat": heat_map((c.source, c.product, c.count) for c in cells),
        }

    def one(self, conn: Connection, workspace_id: str, lead_id: uuid.UUID) -> dict[str, Any]:
        found = lead.get(conn, workspace_id, lead_id)
        return {
            "success": True,
            "lead": found,
            "activities": ActivityQueries(conn).for_leads([lead_id]),
        }


def _created_between(workspace_id: str, since: datetime, until: datetime) -> LeadFilters:
    return LeadFilters(
        workspace_id=workspace_id, is_active=None, created_from=since, created_to=until
    )


inbound = InboundService()
