"""A person's data through the API: ``GET /api/v3/contacts/{id}/export`` and
``DELETE /api/v3/contacts/{id}`` (``erase=true`` also redacts the intake log)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from leadpipe.accounts.auth import AdminAccess
from leadpipe.contact_api.service import contact
from leadpipe.deps import DatabaseDep
from leadpipe.kit.openapi import Envelope, not_found, public
from leadpipe.kit.responses import JSONResponse, ok
from leadpipe.privacy.schemas import ContactRemoved, PersonExport
from leadpipe.privacy.service import person

router = APIRouter(prefix="/api/v3", tags=["contacts"])
ONE_ERRORS = not_found("contact")


def api_key_actor(key_id: str) -> str:
    return f"api_key:{key_id}"


@router.get(
    "/contacts/{contact_id}/export", response_model=Envelope[PersonExport], responses=ONE_ERRORS
)
async def export_contact(
    contact_id: uuid.UUID, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Everything held about a person: contact, leads, activities, stage history and intake
    log entries (admin scope: it is all of one person's data at once)."""
    found = await db.read(lambda conn: person.export(conn, principal.workspace_id, contact_id))
    return ok(public(PersonExport, found))


@router.delete(
    "/contacts/{contact_id}", response_model=Envelope[ContactRemoved], responses=ONE_ERRORS
)
async def delete_contact(
    contact_id: uuid.UUID,
    principal: AdminAccess,
    db: DatabaseDep,
    erase: Annotated[
        bool,
        Query(description="Also redact the person from the intake log, with an audit entry"),
    ] = False,
) -> JSONResponse:
    """Delete a contact with its leads, their activities and stage history (admin scope);
    with ``erase=true`` also the person's values wherever the intake log kept them."""
    if erase:
        actor = api_key_actor(principal.key_id)
        removed = await db.write(
            lambda conn: person.erase(conn, principal.workspace_id, contact_id, actor)
        )
    else:
        removed = await db.write(
            lambda conn: contact.delete(conn, principal.workspace_id, contact_id)
        )
    return ok(public(ContactRemoved, removed))
