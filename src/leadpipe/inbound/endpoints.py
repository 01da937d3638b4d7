"""Inbound leads API (seed 001): ``/api/inbound-leads``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from leadpipe.accounts.auth import ReadAccess
from leadpipe.deps import DatabaseDep
from leadpipe.inbound.schemas import InboundLead, InboundQueue
from leadpipe.inbound.service import inbound
from leadpipe.kit.bodies import Offset
from leadpipe.kit.openapi import READ_ERRORS, not_found, public
from leadpipe.kit.periods import END_DOC, START_DOC, PeriodBound, end_of, start_of
from leadpipe.kit.responses import JSONResponse

router = APIRouter(prefix="/api/inbound-leads", tags=["inbound leads"])


@router.get("", response_model=InboundQueue, responses=READ_ERRORS)
async def queue(
    principal: ReadAccess,
    db: DatabaseDep,
    workspace_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
    status: Annotated[str | None, Query(description="A stage slug, or `all`")] = None,
    source: str | None = None,
    product: str | None = None,
    created_from: Annotated[PeriodBound | None, Query(description=START_DOC)] = None,
    created_to: Annotated[PeriodBound | None, Query(description=END_DOC)] = None,
) -> JSONResponse:
    """The newest leads with their contacts, and the queue's metrics for the same filters."""
    principal.check_workspace(workspace_id)
    data = await db.read(
        lambda conn: inbound.queue(
            conn,
            principal.workspace_id,
            status=status,
            source=source,
            product=product,
            created_from=start_of(created_from),
            created_to=end_of(created_to),
            limit=limit,
            offset=offset,
        )
    )
    return JSONResponse(public(InboundQueue, data))


@router.get("/{lead_id}", response_model=InboundLead, responses=not_found("lead"))
async def one(
    lead_id: uuid.UUID, principal: ReadAccess, db: DatabaseDep, workspace_id: str | None = None
) -> JSONResponse:
    """One lead and its whole timeline."""
    principal.check_workspace(workspace_id)
    found = await db.read(lambda conn: inbound.one(conn, principal.workspace_id, lead_id))
    return JSONResponse(public(InboundLead, found))
