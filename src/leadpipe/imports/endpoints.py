"""Imports API: ``/api/v3/imports``. A CSV file of leads is posted, checked and kept, then
imported in the background; its progress and error report are read while it runs."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request
from fastapi.responses import JSONResponse, Response

from leadpipe.accounts.auth import ReadAccess, WriteAccess
from leadpipe.deps import DatabaseDep, SettingsDep
from leadpipe.errors import (
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    field_error,
)
from leadpipe.imports.rules import parse_column_map
from leadpipe.imports.runner import run_import
from leadpipe.imports.schemas import ImportOut
from leadpipe.imports.service import imports
from leadpipe.kit.clock import utcnow
from leadpipe.kit.openapi import READ_ERRORS, Envelope, error, not_found, public
from leadpipe.kit.responses import ok
from leadpipe.storage.engine import Database

router = APIRouter(prefix="/api/v3/imports", tags=["imports"])
ONE_ERRORS = not_found("import")
# Where a CSV file is posted: bodies up to max_import_bytes (``middleware.BodyLimit``).
IMPORT_UPLOADS = ("/api/v3/imports", "/app/imports")

CSV_BODY: dict[str, Any] = {
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
            }
        },
    },
    "required": True,
}


# What browsers and HTTP clients call a CSV file (Windows: Excel's type), or a form.
CSV_TYPES = frozenset(
    {
        "text/csv",
        "text/plain",
        "application/csv",
        "application/vnd.ms-excel",
        "application/octet-stream",
    }
)


async def read_upload(request: Request, filename: str | None, max_bytes: int) -> tuple[str, bytes]:
    """The posted file's name and content: the body itself (text/csv), or a form's
    ``file`` (the dashboard's); refused when the file itself is over ``max_bytes`` (a
    form's body also holds its headers and fields)."""
    name, content = await _file(request, filename)
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"The file is larger than {max_bytes} bytes")
    return name, content


async def _file(request: Request, filename: str | None) -> tuple[str, bytes]:
    """The posted file: the body itself (text/csv), or a form's ``file`` (the page's)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data" and kind not in CSV_TYPES:
        raise UnsupportedMediaType(
            "Post the CSV file as text/csv, or as the 'file' field of a multipart form"
        )
    if kind == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise ValidationFailed("No file", [field_error("file", "is required")])
        return filename or upload.filename or "upload.csv", await upload.read()
    body = await request.body()
    if not body.strip():
        raise ValidationFailed("No file", [field_error("file", "the body is empty")])
    return filename or "upload.csv", body


def run_in_background(db: Database, workspace_id: str, import_id: uuid.UUID) -> None:
    """The import run to its end, as a background task after the answer."""
    try:
        run_import(db, workspace_id, import_id)
    except Exception:  # kept on the import as its failure, and logged by the runner
        return


async def start_import(
    db: Database,
    background: BackgroundTasks,
    workspace_id: str,
    *,
    filename: str,
    content: bytes,
    column_map: dict[str, str],
    dry_run: bool,
    created_by: str,
) -> dict[str, Any]:
    """A new import of the file (or the unfinished one of the same file), run in the
    background after the answer unless it is running already: the API's and the
    dashboard's."""
    imp = await db.write(
        lambda conn: imports.start(
            conn,
            workspace_id,
            filename=filename,
            content=content,
            column_map=column_map,
            dry_run=dry_run,
            created_by=created_by,
            now=utcnow(),
        )
    )
    if imp["status"] != "running":
        background.add_task(run_in_background, db, workspace_id, imp["id"])
    return imp


async def error_report(db: Database, workspace_id: str, import_id: uuid.UUID) -> Response:
    """The error report as a CSV file to download: the API's and the dashboard's."""
    report = await db.read(lambda conn: imports.error_report(conn, workspace_id, import_id))
    out = io.StringIO()
    csv.writer(out).writerows(report)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"'},
    )


@router.post(
    "",
    status_code=202,
    response_model=Envelope[ImportOut],
    responses={
        **READ_ERRORS,
        413: error("The file is over max_import_bytes (PAYLOAD_TOO_LARGE)"),
        415: error("The body is neither a CSV file nor a multipart form (UNSUPPORTED_MEDIA_TYPE)"),
    },
    openapi_extra={"requestBody": CSV_BODY},
)
async def create_import(
    request: Request,
    principal: WriteAccess,
    db: DatabaseDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    filename: Annotated[str | None, Query(max_length=255)] = None,
    dry_run: Annotated[
        bool, Query(description="Only report what would be created, updated or refused")
    ] = False,
    column_map: Annotated[
        list[str] | None,
        Query(
            alias="map",
            description="COLUMN=FIELD (repeatable): read a column as a field its name does "
            "not say; other columns are read by the aliases webhooks use",
        ),
    ] = None,
) -> JSONResponse:
    """Import a CSV file of leads (its first row names the columns): every row through the
    same rules as a webhook delivery (deduplicated, updated or opened by the decision
    matrix). Answers at once with the import (202); it runs in the background: read its
    progress at `GET /api/v3/imports/{id}`. The same file posted again while its import
    is unfinished goes on with that import; after it finished, its rows are skipped as
    unchanged."""
    name, content = await read_upload(request, filename, settings.max_import_bytes)
    imp = await start_import(
        db,
        background,
        principal.workspace_id,
        filename=name,
        content=content,
        column_map=parse_column_map(column_map or []),
        dry_run=dry_run,
        created_by=f"api_key:{principal.key_id}",
    )
    return ok(public(ImportOut, imp), status_code=202)


@router.get("", response_model=Envelope[list[ImportOut]], responses=READ_ERRORS)
async def list_imports(principal: ReadAccess, db: DatabaseDep) -> JSONResponse:
    """The workspace's latest 50 imports, newest first."""
    found = await db.read(lambda conn: imports.recent(conn, principal.workspace_id))
    return ok([public(ImportOut, imp) for imp in found])


@router.get("/{import_id}", response_model=Envelope[ImportOut], responses=ONE_ERRORS)
async def get_import(import_id: uuid.UUID, principal: ReadAccess, db: DatabaseDep) -> JSONResponse:
    """One import and how far it got."""
    imp = await db.read(lambda conn: imports.get(conn, principal.workspace_id, import_id))
    return ok(public(ImportOut, imp))


@router.get(
    "/{import_id}/errors",
    response_class=Response,
    responses={
        **ONE_ERRORS,
        200: {
            "description": "The refused rows as CSV: row_number, reason, then the file's "
            "columns as they were",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
    },
)
async def import_errors(import_id: uuid.UUID, principal: ReadAccess, db: DatabaseDep) -> Response:
    """The error report: each refused row with why, to fix and import again."""
    return await error_report(db, principal.workspace_id, import_id)


@router.post(
    "/{import_id}/resume",
    status_code=202,
    response_model=Envelope[ImportOut],
    responses={**ONE_ERRORS, 409: error("The import is done already (CONFLICT)")},
)
async def resume_import(
    import_id: uuid.UUID, principal: WriteAccess, db: DatabaseDep, background: BackgroundTasks
) -> JSONResponse:
    """Go on with an import stopped by a crash or a failure, from its first row not in."""
    ws = principal.workspace_id
    imp = await db.read(lambda conn: imports.get(conn, ws, import_id))
    if imp["status"] == "done":
        raise Conflict("This import is done; post the file again to import it again")
    background.add_task(run_in_background, db, ws, import_id)
    return ok(public(ImportOut, imp), status_code=202)
