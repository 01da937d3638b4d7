"""Contact API: ``/api/v3/contacts`` (and ``/contacts``, seed 000's dual-write URL);
deleting and erasing a contact is ``leadpipe.privacy``'s."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.exc import IntegrityError

from leadpipe.accounts.auth import ReadAccess, WriteAccess
from leadpipe.contact_api.schemas import ContactCreate, ContactOut, ContactUpdate
from leadpipe.contact_api.service import contact
from leadpipe.deps import DatabaseDep
from leadpipe.errors import Conflict, field_error
from leadpipe.kit.bodies import Offset
from leadpipe.kit.openapi import (
    READ_ERRORS,
    Envelope,
    PageEnvelope,
    conflict,
    not_found,
    pagination,
    public,
    public_all,
)
from leadpipe.kit.responses import JSONResponse, ok
from leadpipe.leads.rules import Actor
from leadpipe.storage.engine import Database

router = APIRouter(prefix="/api/v3", tags=["contacts"])
ONE_ERRORS = not_found("contact")
WRITE_ERRORS = conflict("The phone, email or CRM id belongs to another contact", "contact")


# Each identity's column, as both databases name it in a unique violation (PostgreSQL by
# the constraint uq_contacts_workspace_id_identity_scope_<column>, SQLite by contacts.<column>),
# and the field the API calls it.
_IDENTITIES = {"phone_number": "phone", "email": "email", "crm_id": "crm_id"}


async def _write(db: Database, fn: Any) -> Any:
    try:
        return await db.write(fn)
    except IntegrityError as exc:
        taken = _identities_taken(str(exc.orig))
        if not taken:
            raise  # not an identity: a defect, answered 500 with its request id
        # Two requests claimed one identity at the same moment; the database kept one.
        raise Conflict(
            f"Another request just created a contact with this {' and '.join(taken)}",
            [field_error(field, "belongs to another contact") for field in taken],
        ) from None


def _identities_taken(message: str) -> list[str]:
    return [
        field
        for column, field in _IDENTITIES.items()
        if f"identity_scope_{column}" in message or f"contacts.{column}" in message
    ]


async def create_contact(
    body: ContactCreate, principal: WriteAccess, db: DatabaseDep
) -> JSONResponse:
    """Create a contact; with ``enable_lead_tracking`` and a product, also its first lead."""
    principal.check_workspace(body.workspace_id)
    created = await _write(
        db,
        lambda conn: contact.create(
            conn, principal.workspace_id, body, Actor.api_key(principal.key_id)
        ),
    )
    return ok(public(ContactOut, created), status_code=201)


router.add_api_route(
    "/contacts",
    create_contact,
    methods=["POST"],
    status_code=201,
    response_model=Envelope[ContactOut],
    responses=WRITE_ERRORS,
    summary="Create a contact",
)


@router.get("/contacts", response_model=PageEnvelope[ContactOut], responses=READ_ERRORS)
async def search_contacts(
    principal: ReadAccess,
    db: DatabaseDep,
    q: Annotated[
        str | None, Query(description="Email, phone in any format, CRM id or name")
    ] = None,
    phone: str | None = None,
    email: str | None = None,
    crm_id: str | None = None,
    name: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> JSONResponse:
    """Find contacts by phone (any format), email, CRM id or name (first, last or full)."""
    found, total = await db.read(
        lambda conn: contact.search(
            conn,
            principal.workspace_id,
            q=q,
            phone=phone,
            email=email,
            crm_id=crm_id,
            name=name,
            limit=limit,
            offset=offset,
        )
    )
    return ok(
        public_all(ContactOut, found), pagination=pagination(total, limit, offset, len(found))
    )


@router.get("/contacts/{contact_id}", response_model=Envelope[ContactOut], responses=ONE_ERRORS)
async def get_contact(
    contact_id: uuid.UUID, principal: ReadAccess, db: DatabaseDep
) -> JSONResponse:
    """A contact with all its leads, newest first."""
    found = await db.read(lambda conn: contact.get(conn, principal.workspace_id, contact_id))
    return ok(public(ContactOut, found))


@router.put("/contacts/{contact_id}", response_model=Envelope[ContactOut], responses=WRITE_ERRORS)
async def update_contact(
    contact_id: uuid.UUID, body: ContactUpdate, principal: WriteAccess, db: DatabaseDep
) -> JSONResponse:
    """Change some of a contact's fields (phone and email are normalised and kept unique)."""
    updated = await _write(
        db,
        lambda conn: contact.update(
            conn, principal.workspace_id, contact_id, body, Actor.api_key(principal.key_id)
        ),
    )
    return ok(public(ContactOut, updated))


# Seed 000 posts contacts to ``/contacts``: the same handler, not advertised twice.
legacy_router = APIRouter()
legacy_router.add_api_route(
    "/contacts", create_contact, methods=["POST"], status_code=201, include_in_schema=False
)
