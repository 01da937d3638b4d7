"""The lead table's reads: a ``TableQuery`` as ``LeadFilters``, and what the page shows
around the rows (stages, members, the names to filter by)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from leadpipe.accounts.repository import (
    SavedViewRepository,
    UserRepository,
    WorkspaceRepository,
)
from leadpipe.accounts.rules import lost_reasons_of, time_zone_of
from leadpipe.accounts.sessions import SignedIn
from leadpipe.contacts.rules import search_terms
from leadpipe.customfields.repository import FieldDefinitionRepository
from leadpipe.inbound.repository import InboundQueries
from leadpipe.kit.clock import utcnow
from leadpipe.leads.queries import LeadFilters
from leadpipe.leads.rules import product_key
from leadpipe.leads.service import lead
from leadpipe.pipeline.repository import StageRepository
from leadpipe.tasks.repository import TaskRepository
from leadpipe.web.rules import (
    ASSIGNED_TO_ME,
    SORTS,
    UNASSIGNED,
    Column,
    TableQuery,
    available_columns,
    day_end,
    day_start,
    page_count,
    period_bounds,
    quick_filters,
    shown_columns,
    zone,
)


@dataclass(frozen=True, slots=True)
class Workspace:
    """The workspace as the dashboard shows it: its settings, stages and members."""

    id: str
    name: str
    region: str
    time_zone: str
    lead_window_days: int
    stages: list[dict[str, Any]]
    members: list[dict[str, Any]]
    lost_reasons: tuple[str, ...] = ()

    @property
    def stage_names(self) -> dict[str, str]:
        return {s["stage_slug"]: s["stage_name"] for s in self.stages}

    @property
    def active_stages(self) -> list[dict[str, Any]]:
        return [s for s in self.stages if s["is_active"]]

    @property
    def member_names(self) -> dict[uuid.UUID, str]:
        return {m["id"]: m["name"] or m["email"] for m in self.members}


def load_workspace(conn: Connection, workspace_id: str) -> Workspace:
    found = WorkspaceRepository(conn).get(workspace_id)
    settings = found.settings or {}
    return Workspace(
        id=found.id,
        name=found.name,
        region=found.default_region,
        time_zone=time_zone_of(settings),
        lead_window_days=found.lead_window_days,
        stages=StageRepository(conn).all(workspace_id),
        members=UserRepository(conn).members(workspace_id),
        lost_reasons=tuple(lost_reasons_of(settings)),
    )


def time_zone_of_workspace(conn: Connection, workspace_id: str) -> str:
    """The workspace's time zone, for a page that shows dates but not the workspace."""
    return time_zone_of(WorkspaceRepository(conn).get(workspace_id).settings)


def memberships_of(conn: Connection, who: SignedIn) -> list[dict[str, Any]]:
    """The signed-in user's workspaces, for every page's workspace switcher."""
    return UserRepository(conn).memberships(who.user_id)


def lead_filters(
    query: TableQuery, who: SignedIn, workspace: Workspace, now: datetime
) -> LeadFilters:
    tz = zone(workspace.time_zone)
    assignee: dict[str, Any] = {}
    if query.assignee == ASSIGNED_TO_ME:
        assignee["assigned_user_id"] = who.user_id
    elif query.assignee == UNASSIGNED:
        assignee["unassigned"] = True
    elif query.assignee:
        assignee["assigned_user_id"] = uuid.UUID(query.assignee)
    return LeadFilters(
        workspace_id=workspace.id,
        **_any_of("stage", query.stage),
        **_any_of("source", query.source),
        tags=query.tag or None,
        product_key=product_key(query.product) if query.product else None,
        priority=query.priority or None,
        temperature=query.temperature or None,
        # Open leads are active ones but for the won: the index of active leads leads.
        is_active=True if query.status == "open" else None,
        open={"open": True, "closed": False, "all": None}[query.status],
        created_from=_created_from(query, tz, now),
        created_to=day_end(query.created_to, tz) if query.created_to else None,
        active_from=day_start(query.active_from, tz) if query.active_from else None,
        active_to=day_end(query.active_to, tz) if query.active_to else None,
        idle_since=now - timedelta(days=query.idle_days) if query.idle_days else None,
        **assignee,
        **(search_terms(query.q, workspace.region) if query.q else {}),
    )


def _any_of(name: str, chosen: tuple[str, ...]) -> dict[str, Any]:
    """One value as an equality filter (``stage``), which the kept counts and the
    indexes answer as before; several as a filter of their own (``stages``)."""
    if not chosen:
        return {}
    if len(chosen) == 1:
        return {name: chosen[0]}
    return {f"{name}s": chosen}


def _created_from(query: TableQuery, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The later of the day the user chose and "created in the last N days" (a heat map
    cell's period, counted from now like the metrics)."""
    starts = [day_start(query.created_from, tz)] if query.created_from else []
    if query.within:
        starts.append(period_bounds(query.within, now)[0])
    return max(starts, default=None)


def lead_page(
    conn: Connection, filters: LeadFilters, query: TableQuery
) -> tuple[list[dict[str, Any]], int]:
    return lead.page(
        conn,
        filters,
        sort=query.sort,
        descending=query.order == "desc",
        limit=query.size,
        offset=(query.page - 1) * query.size,
        include_activities=False,
    )


@dataclass(frozen=True, slots=True)
class TableColumns:
    """The columns the signed-in user's table shows, among those it could."""

    shown: tuple[Column, ...]
    available: tuple[Column, ...]

    def shows(self, key: str) -> bool:
        return any(c.key == key for c in self.shown)


def table_columns(conn: Connection, who: SignedIn, workspace_id: str) -> TableColumns:
    available = available_columns(FieldDefinitionRepository(conn).active(workspace_id))
    stored = UserRepository(conn).table_columns(workspace_id, who.user_id)
    return TableColumns(shown_columns(stored, available), available)


def with_column_values(
    conn: Connection, workspace_id: str, leads: list[dict[str, Any]], columns: TableColumns
) -> list[dict[str, Any]]:
    """The leads with what their shown columns need beyond the lead's own row: the next
    task (read only when its column is shown)."""
    if columns.shows("next_task"):
        found = TaskRepository(conn).next_per_lead(workspace_id, [one["id"] for one in leads])
        for one in leads:
            one["next_task"] = found.get(one["id"])
    return leads


def lead_table(
    conn: Connection, who: SignedIn, query: TableQuery, workspace: Workspace | None = None
) -> dict[str, Any]:
    """What ``_lead_table.html`` draws: a page of leads and the controls around it."""
    assert who.workspace_id is not None
    workspace = workspace or load_workspace(conn, who.workspace_id)
    filters = lead_filters(query, who, workspace, utcnow())
    leads, total = lead_page(conn, filters, query)
    columns = table_columns(conn, who, workspace.id)
    return {
        "workspace": workspace,
        "query": query,
        "columns": columns,
        "leads": with_column_values(conn, workspace.id, leads, columns),
        "total": total,
        "pages": page_count(total, query.size),
        "sorts": SORTS,
        # Drawn with the table, so that they follow its query: a saved view stores the
        # filters shown, a quick filter keeps the period and sort.
        "views": SavedViewRepository(conn).for_user(workspace.id, who.user_id),
        "quick": quick_filters(str(who.user_id)),
    }


def names_to_filter_by(conn: Connection, workspace_id: str) -> dict[str, list[str]]:
    """The sources and products the workspace's leads have, most used first."""
    counted = InboundQueries(conn)
    return {
        "sources": counted.names_used(workspace_id, "lead_source"),
        "products": counted.names_used(workspace_id, "product_interest"),
    }
