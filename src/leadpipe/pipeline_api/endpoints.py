"""Pipeline overview and stages: ``/api/v3/leads/pipeline/{workspace_id}``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from leadpipe.accounts.auth import AdminAccess, ReadAccess
from leadpipe.deps import DatabaseDep
from leadpipe.errors import ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.kit.openapi import READ_ERRORS, Envelope, conflict, public, public_all
from leadpipe.kit.periods import END_DOC, START_DOC, PeriodBound, end_of, start_of
from leadpipe.kit.responses import JSONResponse, ok
from leadpipe.leads.rules import Actor
from leadpipe.pipeline.rules import DATE_RANGES, date_range
from leadpipe.pipeline_api.schemas import (
    PipelineOverview,
    StageCreate,
    StageDeleted,
    StageOut,
    StageReorder,
    StageUpdate,
)
from leadpipe.pipeline_api.service import pipeline

router = APIRouter(prefix="/api/v3/leads/pipeline", tags=["pipeline"])
STAGE_ERRORS = conflict("Slug taken, or the stage holds leads", "stage")


def _period(
    name: str | None, start: datetime | None, end: datetime | None
) -> tuple[datetime | None, datetime | None]:
    if name is None:
        return start, end
    try:
        return date_range(name, utcnow())
    except ValueError as exc:
        raise ValidationFailed(
            "Invalid date range", [field_error("date_range", str(exc))]
        ) from None


@router.get("/{workspace_id}", response_model=Envelope[PipelineOverview], responses=READ_ERRORS)
async def overview(
    workspace_id: str,
    principal: ReadAccess,
    db: DatabaseDep,
    include_counts: bool = True,
    date_range_name: Annotated[
        str | None, Query(alias="date_range", description=f"One of {', '.join(DATE_RANGES)}")
    ] = None,
    created_from: Annotated[PeriodBound | None, Query(alias="from", description=START_DOC)] = None,
    created_to: Annotated[PeriodBound | None, Query(alias="to", description=END_DOC)] = None,
) -> JSONResponse:
    """Leads, value and probability-weighted value per stage, in pipeline order."""
    principal.check_workspace(workspace_id)
    start, end = _period(date_range_name, start_of(created_from), end_of(created_to))
    data = await db.read(
        lambda conn: pipeline.overview(
            conn, workspace_id, include_counts=include_counts, created_from=start, created_to=end
        )
    )
    return ok(public(PipelineOverview, data))


@router.get(
    "/{workspace_id}/stages", response_model=Envelope[list[StageOut]], responses=READ_ERRORS
)
async def list_stages(
    workspace_id: str, principal: ReadAccess, db: DatabaseDep, include_inactive: bool = False
) -> JSONResponse:
    """The workspace's stages in order, with how many leads each holds."""
    principal.check_workspace(workspace_id)
    data = await db.write(
        lambda conn: pipeline.stages(conn, workspace_id, include_inactive=include_inactive)
    )
    return ok(public_all(StageOut, data))


@router.post(
    "/{workspace_id}/stages",
    status_code=201,
    response_model=Envelope[StageOut],
    responses=STAGE_ERRORS,
)
async def create_stage(
    workspace_id: str, body: StageCreate, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Add a stage (last unless ``stage_order`` places it)."""
    principal.check_workspace(workspace_id)
    data = await db.write(lambda conn: pipeline.create(conn, workspace_id, body))
    return ok(public(StageOut, data), status_code=201)


@router.put(
    "/{workspace_id}/stages/{stage_slug}",
    response_model=Envelope[StageOut],
    responses=STAGE_ERRORS,
)
async def update_stage(
    workspace_id: str, stage_slug: str, body: StageUpdate, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Rename, recolour, reweight, move or (de)activate a stage."""
    principal.check_workspace(workspace_id)
    data = await db.write(lambda conn: pipeline.update(conn, workspace_id, stage_slug, body))
    return ok(public(StageOut, data))


@router.post(
    "/{workspace_id}/stages/reorder",
    response_model=Envelope[list[StageOut]],
    responses=STAGE_ERRORS,
)
async def reorder_stages(
    workspace_id: str, body: StageReorder, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Put every stage in a new order."""
    principal.check_workspace(workspace_id)
    data = await db.write(lambda conn: pipeline.reorder(conn, workspace_id, body))
    return ok(public_all(StageOut, data))


@router.delete(
    "/{workspace_id}/stages/{stage_slug}",
    response_model=Envelope[StageDeleted],
    responses=STAGE_ERRORS,
)
async def delete_stage(
    workspace_id: str,
    stage_slug: str,
    principal: AdminAccess,
    db: DatabaseDep,
    move_to: str | None = None,
) -> JSONResponse:
    """Delete a stage; one that holds leads needs ``move_to`` (or deactivate it instead)."""
    principal.check_workspace(workspace_id)
    who = Actor.api_key(principal.key_id)
    moved = await db.write(
        lambda conn: pipeline.delete(conn, workspace_id, stage_slug, move_to, actor=who)
    )
    return ok({"deleted": stage_slug, "leads_moved": moved})
