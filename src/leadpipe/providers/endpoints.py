"""Lead providers: ``/api/v3/providers``, their credentials and their usage."""

from __future__ import annotations

from fastapi import APIRouter

from leadpipe.accounts.auth import AdminAccess, ReadAccess
from leadpipe.deps import DatabaseDep
from leadpipe.kit.openapi import READ_ERRORS, Envelope, conflict, not_found, public
from leadpipe.kit.responses import JSONResponse, ok
from leadpipe.providers.schemas import (
    ProviderCreate,
    ProviderCreated,
    ProviderKey,
    ProviderOut,
    ProviderPatch,
    ProviderStats,
)
from leadpipe.providers.service import provider

router = APIRouter(prefix="/api/v3/providers", tags=["providers"])

PROVIDER_ERRORS = not_found("provider")


@router.get("", response_model=Envelope[list[ProviderOut]], responses=READ_ERRORS)
async def list_providers(principal: ReadAccess, db: DatabaseDep) -> JSONResponse:
    """The workspace's providers, oldest first."""
    found = await db.read(lambda conn: provider.for_workspace(conn, principal.workspace_id))
    return ok([public(ProviderOut, row) for row in found])


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ProviderCreated],
    responses=conflict("A provider with this id exists", "webhook to allow"),
)
async def create_provider(
    body: ProviderCreate, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Add a provider. The answer holds its credential, shown this once: the provider
    sends it as ``Authorization: Bearer <key>`` (or ``X-Provider-Key``)."""
    values = body.model_dump(exclude={"id"})
    created, key = await db.write(
        lambda conn: provider.create(conn, principal.workspace_id, provider_id=body.id, **values)
    )
    return ok(public(ProviderCreated, {**created, "key": key}), status_code=201)


@router.get("/{provider_id}", response_model=Envelope[ProviderOut], responses=PROVIDER_ERRORS)
async def get_provider(provider_id: str, principal: ReadAccess, db: DatabaseDep) -> JSONResponse:
    found = await db.read(lambda conn: provider.get(conn, principal.workspace_id, provider_id))
    return ok(public(ProviderOut, found))


@router.patch("/{provider_id}", response_model=Envelope[ProviderOut], responses=PROVIDER_ERRORS)
async def update_provider(
    provider_id: str, body: ProviderPatch, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Change some of its settings: deactivate it, limit it to some webhooks, its limit."""
    changes = body.model_dump(exclude_unset=True)
    updated = await db.write(
        lambda conn: provider.update(conn, principal.workspace_id, provider_id, changes)
    )
    return ok(public(ProviderOut, updated))


@router.post(
    "/{provider_id}/rotate", response_model=Envelope[ProviderKey], responses=PROVIDER_ERRORS
)
async def rotate_provider_key(
    provider_id: str, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """A new credential, shown this once; the old one stops working at once."""
    updated, key = await db.write(
        lambda conn: provider.rotate(conn, principal.workspace_id, provider_id)
    )
    return ok({"key": key, "provider": public(ProviderOut, updated)})


@router.get(
    "/{provider_id}/stats", response_model=Envelope[ProviderStats], responses=PROVIDER_ERRORS
)
async def provider_stats(provider_id: str, principal: ReadAccess, db: DatabaseDep) -> JSONResponse:
    """Its deliveries over the last 30 days: accepted, refused and duplicates, per webhook
    and day; and the conversion of the leads it brought."""
    found = await db.read(lambda conn: provider.stats(conn, principal.workspace_id, provider_id))
    return ok(public(ProviderStats, found))
