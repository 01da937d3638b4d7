"""The lead table's reads: a ``TableQuery`` as ``LeadFilters``, and what the page shows
around the rows (stages, members, the names to filter by)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import UserRepository, WorkspaceRepository
from leadpipe.accounts.rules import time_zone_of
from leadpipe.accounts.sessions import SignedIn
from leadpipe.contacts.rules import search_terms
from leadpipe.inbound.repository import InboundQueries
from leadpipe.leads.queries import LeadFilters
from leadpipe.leads.rules import product_key
from leadpipe.leads.service import lead
from leadpipe.pipeline.repository import StageRepository
from leadpipe.web.rules import ASSIGNED_TO_ME, UNASSIGNED, TableQuery, day_end, day_start, zone


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
        stage=query.stage or None,
        source=query.source or None,
        product_key=product_key(query.product) if query.product else None,
        priority=query.priority or None,
        temperature=query.temperature or None,
        is_active={"open": True, "closed": False, "all": None}[query.status],
        created_from=day_start(query.created_from, tz) if query.created_from else None,
        created_to=day_end(query.created_to, tz) if query.created_to else None,
        active_from=day_start(query.active_from, tz) if query.active_from else None,
        active_to=day_end(query.active_to, tz) if query.active_to else None,
        idle_since=now - timedelta(days=query.idle_days) if query.idle_days else None,
        **assignee,
        **(search_terms(query.q, workspace.region) if query.q else {}),
    )


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


def names_to_filter_by(conn: Connection, workspace_id: str) -> dict[str, list[str]]:
    """The sources and products the workspace's leads have, most used first."""
    counted = InboundQueries(conn)
    return {
        "sources": counted.names_used(workspace_id, "lead_source"),
        "products": counted.names_used(workspace_id, "product_interest"),
    }
