"""The imports page: upload a CSV file of leads (with a dry run and column mappings), watch
its progress, download its error report, resume it; and the workspace's recent imports.
The same import service and background run as ``/api/v3/imports``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.sessions import SignedIn
from leadpipe.config import Settings
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep, SettingsDep
from leadpipe.errors import Conflict, LeadpipeError
from leadpipe.imports.endpoints import (
    error_report,
    read_upload,
    run_in_background,
    start_import,
)
from leadpipe.imports.rules import (
    CUSTOM_FIELD,
    FIELDS,
    columns_read_as,
    header_and_rows,
    parse_column_map,
    resumable,
)
from leadpipe.imports.schemas import ImportOut
from leadpipe.imports.service import imports
from leadpipe.kit.clock import utcnow
from leadpipe.kit.openapi import public
from leadpipe.kit.responses import ok
from leadpipe.storage.engine import Database
from leadpipe.web.auth import Agent, Viewer
from leadpipe.web.forms import form_lists, form_values
from leadpipe.web.render import page, redirect
from leadpipe.web.rules import imported_by
from leadpipe.web.tables import load_workspace, memberships_of

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

# How much of the file the page sends to learn its columns: the header row, and the
# sample the server reads its delimiter from (``rules.header_and_rows``).
COLUMNS_SAMPLE_BYTES = 256 * 1024


@router.get("/app/imports", response_class=HTMLResponse)
async def imports_page(
    request: Request, who: Viewer, db: DatabaseDep, settings: SettingsDep
) -> Response:
    return await _imports_page(request, who, db, settings)


@router.get("/app/imports/{import_id}", response_class=HTMLResponse)
async def import_page(
    import_id: uuid.UUID, request: Request, who: Viewer, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """The imports page with one import's progress on top, refreshed while it runs."""
    return await _imports_page(request, who, db, settings, import_id=import_id)


async def _imports_page(
    request: Request,
    who: SignedIn,
    db: Database,
    settings: Settings,
    *,
    import_id: uuid.UUID | None = None,
    upload_error: LeadpipeError | None = None,
) -> Response:
    def read(conn: Connection) -> dict[str, Any]:
        assert who.workspace_id is not None
        workspace = load_workspace(conn, who.workspace_id)
        names = {str(user_id): name for user_id, name in workspace.member_names.items()}
        now = utcnow()
        recent = imports.recent(conn, workspace.id)
        for imp in recent:
            imp["by"] = imported_by(imp["created_by"], names)
            imp["resumable"] = resumable(imp, now)
        current = imports.get(conn, workspace.id, import_id) if import_id else None
        if current is not None:
            current["resumable"] = resumable(current, now)
        return {
            "imports": recent,
            "current": current,
            "time_zone": workspace.time_zone,
            "memberships": memberships_of(conn, who),
        }

    data = await db.read(read)
    context = {
        **data,
        "upload_error": upload_error,
        "max_import_bytes": settings.max_import_bytes,
        "columns_sample_bytes": COLUMNS_SAMPLE_BYTES,
    }
    status = upload_error.status_code if upload_error else 200
    return page(request, "imports.html", context, status_code=status)


@router.post("/app/imports", response_class=HTMLResponse)
async def upload(
    request: Request,
    who: Agent,
    db: DatabaseDep,
    settings: SettingsDep,
    background: BackgroundTasks,
) -> Response:
    """Start importing the form's file in the background, then show its progress; a file
    that cannot be imported is shown on the form with why, and nothing is written."""
    assert who.workspace_id is not None
    try:
        name, content = await read_upload(request, None, settings.max_import_bytes)
        imp = await start_import(
            db,
            background,
            who.workspace_id,
            filename=name,
            content=content,
            column_map=parse_column_map((await form_lists(request, "map"))["map"]),
            dry_run=(await form_values(request)).get("dry_run") == "on",
            created_by=f"user:{who.user_id}",
        )
    except LeadpipeError as exc:
        return await _imports_page(request, who, db, settings, upload_error=exc)
    return redirect(f"/app/imports/{imp['id']}", request)


@router.post("/app/imports/columns")
async def columns(request: Request, _who: Agent) -> JSONResponse:
    """What the columns of a file (its first bytes, sent by the page when a file is
    chosen) would be read as, and the fields a column can be mapped to; a header that
    cannot be imported is refused with why, as the upload would be."""
    header, _ = header_and_rows(await request.body())
    read_as = columns_read_as(header, {})
    return ok(
        {
            "columns": [{"name": name, "read_as": read_as[name]} for name in header],
            "fields": FIELDS,
            "custom_field": CUSTOM_FIELD,
        }
    )


@router.get("/app/imports/{import_id}/progress")
async def progress(import_id: uuid.UUID, who: Viewer, db: DatabaseDep) -> JSONResponse:
    """How far the import got, polled by its page while it runs."""
    assert who.workspace_id is not None
    ws = who.workspace_id
    imp = await db.read(lambda conn: imports.get(conn, ws, import_id))
    return ok({**public(ImportOut, imp), "resumable": resumable(imp, utcnow())})


@router.get("/app/imports/{import_id}/errors.csv")
async def errors_csv(import_id: uuid.UUID, who: Viewer, db: DatabaseDep) -> Response:
    """The refused rows with why, as the API's error report."""
    assert who.workspace_id is not None
    return await error_report(db, who.workspace_id, import_id)


@router.post("/app/imports/{import_id}/resume")
async def resume(
    import_id: uuid.UUID,
    request: Request,
    who: Agent,
    db: DatabaseDep,
    background: BackgroundTasks,
) -> Response:
    """Go on with a failed or stopped import from its first row not in."""
    assert who.workspace_id is not None
    ws = who.workspace_id
    imp = await db.read(lambda conn: imports.get(conn, ws, import_id))
    if not resumable(imp, utcnow()):
        raise Conflict(
            "This import is done"
            if imp["status"] == "done"
            else "This import is still running; it can be resumed if it stops"
        )
    background.add_task(run_in_background, db, ws, import_id)
    return redirect(f"/app/imports/{import_id}", request)
