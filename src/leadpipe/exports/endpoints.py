"""Exports API: ``/api/v3/exports/{leads,contacts,activities}``, streamed as CSV or JSON
lines."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from leadpipe.accounts.auth import ReadAccess
from leadpipe.deps import DatabaseDep
from leadpipe.exports.rules import MEDIA_TYPES, Format, file_name
from leadpipe.exports.service import (
    ActivitySelection,
    ContactSelection,
    Export,
    LeadSelection,
    activities_export,
    contacts_export,
    leads_export,
)
from leadpipe.exports.streaming import ExportResponse, start_export
from leadpipe.kit.clock import utcnow
from leadpipe.kit.openapi import READ_ERRORS, error
from leadpipe.kit.periods import END_DOC, START_DOC, PeriodBound, end_of, start_of
from leadpipe.leads.schemas import PriorityFilter, TemperatureFilter
from leadpipe.storage.engine import Database

router = APIRouter(prefix="/api/v3/exports", tags=["exports"])


def _streamed(description: str) -> dict[int | str, dict[str, Any]]:
    """The responses of an export: its text in either format, or a refusal."""
    text = {"schema": {"type": "string"}}
    return {
        **READ_ERRORS,
        200: {
            "description": f"{description}, streamed: CSV (a header row first; cells a "
            "spreadsheet would run as a formula start with ') or JSON lines (one record "
            "per line, as the lists show it). Content-Disposition names the file.",
            "content": {"text/csv": text, "application/x-ndjson": text},
        },
        429: error(
            "The workspace runs max_concurrent_exports exports already; Retry-After "
            "says when to try again (RATE_LIMITED)"
        ),
    }


FormatQuery = Annotated[
    Format, Query(alias="format", description="csv (default) or jsonl (JSON lines)")
]


def lead_selection(
    stage: str | None = None,
    source: str | None = None,
    product: str | None = None,
    priority: PriorityFilter | None = None,
    temperature: TemperatureFilter | None = None,
    assigned_to: str | None = None,
    assigned_user_id: Annotated[
        uuid.UUID | None, Query(description="The user of the workspace the leads are assigned to")
    ] = None,
    is_active: Annotated[
        bool | None,
        Query(description="true: open leads; false: lost and inactive ones; unset: all"),
    ] = None,
    q: Annotated[str | None, Query(description="Name, email or phone in any format")] = None,
    created_from: Annotated[PeriodBound | None, Query(description=START_DOC)] = None,
    created_to: Annotated[PeriodBound | None, Query(description=END_DOC)] = None,
) -> LeadSelection:
    """The filters of the lead list."""
    return LeadSelection(
        stage=stage,
        source=source,
        product=product,
        priority=priority,
        temperature=temperature,
        assigned_to=assigned_to,
        assigned_user_id=assigned_user_id,
        is_active=is_active,
        q=q,
        created_from=start_of(created_from),
        created_to=end_of(created_to),
    )


async def _answer(
    request: Request,
    db: Database,
    workspace_id: str,
    fmt: Format,
    export: Callable[[], Awaitable[Export]],
) -> Response:
    """The ``export`` planned and streamed, counted as running until it ends."""
    running = start_export(request, workspace_id)
    try:
        found = await export()
    except BaseException:
        running.give_back(workspace_id)  # refused before it started to stream
        raise
    name = file_name(found.kind, workspace_id, fmt, f"{utcnow():%Y%m%d-%H%M}")
    return ExportResponse(
        found.lines(db, fmt),
        running=running,
        workspace_id=workspace_id,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/leads", response_class=Response, responses=_streamed("Every lead selected"))
async def export_leads(
    request: Request,
    principal: ReadAccess,
    db: DatabaseDep,
    chosen: Annotated[LeadSelection, Depends(lead_selection)],
    fmt: FormatQuery = "csv",
) -> Response:
    """Every lead of the workspace matching the lead list's filters (all leads, open or
    not, unless ``is_active`` says), newest first, with its contact."""
    ws = principal.workspace_id
    return await _answer(request, db, ws, fmt, partial(leads_export, db, ws, chosen))


@router.get("/contacts", response_class=Response, responses=_streamed("Every contact selected"))
async def export_contacts(
    request: Request,
    principal: ReadAccess,
    db: DatabaseDep,
    q: Annotated[
        str | None, Query(description="Email, phone in any format, CRM id or name")
    ] = None,
    phone: str | None = None,
    email: str | None = None,
    crm_id: str | None = None,
    name: str | None = None,
    fmt: FormatQuery = "csv",
) -> Response:
    """Every contact of the workspace matching the contact search's filters, newest
    first."""
    ws = principal.workspace_id
    chosen = ContactSelection(q=q, phone=phone, email=email, crm_id=crm_id, name=name)
    return await _answer(request, db, ws, fmt, partial(contacts_export, db, ws, chosen))


@router.get(
    "/activities", response_class=Response, responses=_streamed("Every timeline entry selected")
)
async def export_activities(
    request: Request,
    principal: ReadAccess,
    db: DatabaseDep,
    leads: Annotated[LeadSelection, Depends(lead_selection)],
    activity_type: Annotated[str | None, Query(alias="type")] = None,
    outcome: str | None = None,
    fmt: FormatQuery = "csv",
) -> Response:
    """The timeline entries of the leads matching the lead list's filters, by type and
    outcome; a lead's entries together, newest first."""
    ws = principal.workspace_id
    chosen = ActivitySelection(leads=leads, activity_type=activity_type, outcome=outcome)
    return await _answer(request, db, ws, fmt, partial(activities_export, db, ws, chosen))
