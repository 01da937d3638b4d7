"""Exports API: ``/api/v3/exports/{leads,contacts,activities}``, streamed as CSV or JSON
lines."""

from __future__ import annotations

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
    activities_export,
    contacts_export,
    leads_export,
)
from leadpipe.exports.streaming import ExportResponse, start_export
from leadpipe.kit.clock import utcnow
from leadpipe.kit.openapi import READ_ERRORS, error
from leadpipe.leads.query_params import lead_selection
from leadpipe.leads.schemas import LeadSelection
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


# An export selects every lead, open or not, unless asked otherwise.
_ALL_BY_DEFAULT = lead_selection(
    is_active=None, is_active_doc="true: open leads; false: lost and inactive ones; unset: all"
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
    chosen: Annotated[LeadSelection, Depends(_ALL_BY_DEFAULT)],
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
    leads: Annotated[LeadSelection, Depends(_ALL_BY_DEFAULT)],
    activity_type: Annotated[str | None, Query(alias="type")] = None,
    outcome: str | None = None,
    fmt: FormatQuery = "csv",
) -> Response:
    """The timeline entries of the leads matching the lead list's filters, by type and
    outcome; a lead's entries together, newest first."""
    ws = principal.workspace_id
    chosen = ActivitySelection(leads=leads, activity_type=activity_type, outcome=outcome)
    return await _answer(request, db, ws, fmt, partial(activities_export, db, ws, chosen))
