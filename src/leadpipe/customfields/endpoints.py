"""Custom field definitions: ``/api/v3/custom-fields``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from leadpipe.accounts.auth import AdminAccess, ReadAccess, require
from leadpipe.customfields.rules import TEMPLATES
from leadpipe.customfields.schemas import (
    FieldDefinitionCreate,
    FieldDefinitionOut,
    FieldDefinitionUpdate,
    FieldDeleted,
    TemplateField,
)
from leadpipe.customfields.service import custom_fields
from leadpipe.deps import DatabaseDep
from leadpipe.kit.openapi import READ_ERRORS, Envelope, conflict, public, public_all
from leadpipe.kit.responses import JSONResponse, ok

router = APIRouter(prefix="/api/v3/custom-fields", tags=["custom fields"])
ONE_ERRORS = conflict("The key is taken", "field")


@router.get("", response_model=Envelope[list[FieldDefinitionOut]], responses=READ_ERRORS)
async def list_fields(
    principal: ReadAccess, db: DatabaseDep, include_inactive: bool = False
) -> JSONResponse:
    """The workspace's custom lead fields."""
    found = await db.read(
        lambda conn: custom_fields.definitions(
            conn, principal.workspace_id, include_inactive=include_inactive
        )
    )
    return ok(public_all(FieldDefinitionOut, found))


@router.post("", status_code=201, response_model=Envelope[FieldDefinitionOut], responses=ONE_ERRORS)
async def create_field(
    body: FieldDefinitionCreate, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Define a custom field (text, number, date, boolean, select, multiselect, url, email,
    phone)."""
    created = await db.write(lambda conn: custom_fields.create(conn, principal.workspace_id, body))
    return ok(public(FieldDefinitionOut, created), status_code=201)


@router.get(
    "/templates",
    response_model=Envelope[dict[str, list[TemplateField]]],
    responses=READ_ERRORS,
    dependencies=[Depends(require("read"))],
)
async def list_templates() -> JSONResponse:
    """The vertical templates (seed 002): solar, hvac, insurance."""
    return ok(
        {
            name: [
                {
                    "field_key": d.key,
                    "label": d.label,
                    "field_type": d.field_type,
                    "options": list(d.options),
                }
                for d in fields
            ]
            for name, fields in TEMPLATES.items()
        }
    )


@router.post(
    "/templates/{vertical}",
    status_code=201,
    response_model=Envelope[list[FieldDefinitionOut]],
    responses=ONE_ERRORS,
)
async def apply_template(vertical: str, principal: AdminAccess, db: DatabaseDep) -> JSONResponse:
    """Add a vertical's fields in one call; fields the workspace has already are kept."""
    applied = await db.write(
        lambda conn: custom_fields.apply_template(conn, principal.workspace_id, vertical)
    )
    return ok(public_all(FieldDefinitionOut, applied), status_code=201)


@router.put("/{field_key}", response_model=Envelope[FieldDefinitionOut], responses=ONE_ERRORS)
async def update_field(
    field_key: str, body: FieldDefinitionUpdate, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Relabel a field, change its options or whether it is required, or switch it off."""
    updated = await db.write(
        lambda conn: custom_fields.update(conn, principal.workspace_id, field_key, body)
    )
    return ok(public(FieldDefinitionOut, updated))


@router.delete("/{field_key}", response_model=Envelope[FieldDeleted], responses=ONE_ERRORS)
async def delete_field(field_key: str, principal: AdminAccess, db: DatabaseDep) -> JSONResponse:
    """Delete a definition; values already stored on leads are kept."""
    await db.write(lambda conn: custom_fields.delete(conn, principal.workspace_id, field_key))
    return ok({"deleted": field_key})
