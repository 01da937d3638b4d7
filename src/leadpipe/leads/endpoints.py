"""Lead API v3 (seed 000): ``/api/v3/leads``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlalchemy import Connection

from leadpipe.accounts.auth import ReadAccess, WriteAccess
from leadpipe.activities.repository import ActivityQueries
from leadpipe.deps import DatabaseDep
from leadpipe.kit.bodies import Offset
from leadpipe.kit.openapi import (
    READ_ERRORS,
    Envelope,
    PageEnvelope,
    not_found,
    pagination,
    public,
    public_all,
)
from leadpipe.kit.responses import JSONResponse, ok
from leadpipe.leads.queries import LeadQueries
from leadpipe.leads.query_params import lead_selection
from leadpipe.leads.rules import Actor
from leadpipe.leads.schemas import (
    ActivityCreate,
    ActivityOut,
    LeadCreate,
    LeadOut,
    LeadSelection,
    LeadUpdate,
    SortField,
    StageChangeOut,
)
from leadpipe.leads.service import lead
from leadpipe.realtime import events
from leadpipe.realtime.hub import publish

router = APIRouter(prefix="/api/v3", tags=["leads"])


ONE_ERRORS = not_found("lead")
# The list shows open leads unless asked otherwise (an export, every lead).
_OPEN_BY_DEFAULT = lead_selection(
    is_active=True, is_active_doc="true (default): open leads; false: lost and inactive ones"
)


class LeadApiHealth(BaseModel):
    success: Literal[True]
    status: str
    service: str


@router.get("/leads/health", tags=["health"], response_model=LeadApiHealth)
async def health() -> dict[str, Any]:
    """LeadApiHealth check of the Lead API (no authentication)."""
    return {"success": True, "status": "ok", "service": "lead-api-v3"}


@dataclass(frozen=True, slots=True)
class _ListPage:
    """Which page of the lead list, in which order."""

    sort: str
    descending: bool
    limit: int
    offset: int
    include_activities: bool


def _list_page(
    sort: SortField = "created_at",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Offset = 0,
    include_activities: bool = False,
) -> _ListPage:
    """A dependency of its own, as the filters are, so that the docs list these after
    the filters (FastAPI lists a route's own parameters before its dependencies')."""
    return _ListPage(sort, order == "desc", limit, offset, include_activities)


@router.get("/leads", response_model=PageEnvelope[LeadOut], responses=READ_ERRORS)
async def list_leads(
    principal: ReadAccess,
    db: DatabaseDep,
    chosen: Annotated[LeadSelection, Depends(_OPEN_BY_DEFAULT)],
    page: Annotated[_ListPage, Depends(_list_page)],
    workspace_id: str | None = None,
) -> JSONResponse:
    """List a workspace's leads with filters, search, sorting and pagination."""
    principal.check_workspace(workspace_id)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], int]:
        return lead.page(
            conn,
            lead.filters(conn, principal.workspace_id, chosen),
            sort=page.sort,
            descending=page.descending,
            limit=page.limit,
            offset=page.offset,
            include_activities=page.include_activities,
            include_tasks=False,
        )

    leads, total = await db.read(read)
    counted = pagination(total, page.limit, page.offset, len(leads))
    return ok(public_all(LeadOut, leads), pagination=counted)


@router.post(
    "/leads", status_code=201, response_model=Envelope[LeadOut], responses=not_found("contact")
)
async def create_lead(
    body: LeadCreate, principal: WriteAccess, db: DatabaseDep, request: Request
) -> JSONResponse:
    """Create a lead for an existing contact; it starts in the workspace's default stage."""
    principal.check_workspace(body.workspace_id)
    created = await db.write(
        lambda conn: lead.create(
            conn, principal.workspace_id, body, Actor.api_key(principal.key_id)
        )
    )
    publish(request.app, [events.lead_as_changed(created, created=True)])
    return ok(public(LeadOut, created), status_code=201)


@router.get("/leads/{lead_id}", response_model=Envelope[LeadOut], responses=ONE_ERRORS)
async def get_lead(
    lead_id: uuid.UUID,
    principal: ReadAccess,
    db: DatabaseDep,
    workspace_id: str | None = None,
    include_activities: bool = False,
) -> JSONResponse:
    """One lead with its contact, and its timeline with `include_activities=true`."""
    principal.check_workspace(workspace_id)

    def read(conn: Connection) -> dict[str, Any]:
        found = lead.get(conn, principal.workspace_id, lead_id)
        if include_activities:
            found["activities"] = ActivityQueries(conn).for_leads([lead_id])
        return found

    return ok(public(LeadOut, await db.read(read)))


@router.get(
    "/leads/{lead_id}/history",
    response_model=Envelope[list[StageChangeOut]],
    responses=ONE_ERRORS,
)
async def stage_history(
    lead_id: uuid.UUID, principal: ReadAccess, db: DatabaseDep, workspace_id: str | None = None
) -> JSONResponse:
    """A lead's stage changes, newest first: from and to which stage, by whom, why, when."""
    principal.check_workspace(workspace_id)

    def read(conn: Connection) -> list[dict[str, Any]]:
        lead.get(conn, principal.workspace_id, lead_id)  # 404 for another workspace's
        return LeadQueries(conn).stage_history(principal.workspace_id, lead_id)

    return ok(public_all(StageChangeOut, await db.read(read)))


@router.put("/leads/{lead_id}", response_model=Envelope[LeadOut], responses=ONE_ERRORS)
async def update_lead(
    lead_id: uuid.UUID, body: LeadUpdate, principal: WriteAccess, db: DatabaseDep, request: Request
) -> JSONResponse:
    """Change some of a lead's fields; a stage change is checked and recorded."""
    updated = await db.write(
        lambda conn: lead.update(
            conn, principal.workspace_id, lead_id, body, Actor.api_key(principal.key_id)
        )
    )
    publish(request.app, [events.lead_as_changed(updated)])
    return ok(public(LeadOut, updated))


@router.get(
    "/leads/{lead_id}/activities", response_model=Envelope[list[ActivityOut]], responses=ONE_ERRORS
)
async def list_activities(
    lead_id: uuid.UUID,
    principal: ReadAccess,
    db: DatabaseDep,
    activity_type: Annotated[str | None, Query(alias="type")] = None,
    outcome: str | None = None,
) -> JSONResponse:
    """A lead's timeline, newest first, optionally by type and outcome."""
    found = await db.read(
        lambda conn: lead.activities(
            conn, principal.workspace_id, lead_id, activity_type=activity_type, outcome=outcome
        )
    )
    return ok(public_all(ActivityOut, found))


@router.post(
    "/leads/{lead_id}/activities",
    status_code=201,
    response_model=Envelope[ActivityOut],
    responses=ONE_ERRORS,
)
async def create_activity(
    lead_id: uuid.UUID,
    body: ActivityCreate,
    principal: WriteAccess,
    db: DatabaseDep,
    request: Request,
) -> JSONResponse:
    """Log a call, email, meeting, note or quote; it may move the lead's stage too."""
    created = await db.write(
        lambda conn: lead.add_activity(
            conn, principal.workspace_id, lead_id, body, Actor.api_key(principal.key_id)
        )
    )
    publish(request.app, [events.activity_created(principal.workspace_id, created)])
    return ok(public(ActivityOut, created), status_code=201)
