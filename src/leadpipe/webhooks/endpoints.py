"""Webhook administration: ``/api/v3/webhooks``, its settings and its delivery log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from leadpipe.accounts.auth import AdminAccess, ReadAccess
from leadpipe.deps import DatabaseDep
from leadpipe.kit.openapi import (
    READ_ERRORS,
    Envelope,
    conflict,
    not_found,
    public,
)
from leadpipe.kit.responses import JSONResponse, ok
from leadpipe.webhooks.presets import PRESETS
from leadpipe.webhooks.schemas import (
    PresetOut,
    SecretRotated,
    SecretRotation,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookPatch,
    WebhookStatus,
)
from leadpipe.webhooks.service import webhook

router = APIRouter(prefix="/api/v3/webhooks", tags=["webhooks"])

WEBHOOK_ERRORS = not_found("webhook")
DELIVERY_ERRORS = not_found("webhook or delivery")


def _webhook_out(row: dict[str, Any]) -> dict[str, Any]:
    return public(WebhookOut, {**row, "url_path": f"/webhooks/{row['id']}"})


@router.get("", response_model=Envelope[list[WebhookOut]], responses=not_found("provider"))
async def list_webhooks(
    principal: ReadAccess,
    db: DatabaseDep,
    include_deleted: Annotated[
        bool, Query(description="Also the deleted ones that can still be restored")
    ] = False,
    provider_id: Annotated[
        str | None, Query(description="Only the webhooks this provider may deliver to")
    ] = None,
) -> JSONResponse:
    """The workspace's webhooks, oldest first."""
    found = await db.read(
        lambda conn: webhook.for_workspace(
            conn, principal.workspace_id, include_deleted=include_deleted, provider_id=provider_id
        )
    )
    return ok([_webhook_out(row) for row in found])


@router.get("/presets", response_model=Envelope[list[PresetOut]], responses=READ_ERRORS)
async def list_presets(_principal: ReadAccess) -> JSONResponse:
    """The senders a webhook can be set up for, with the mapping and settings each uses."""
    return ok([public(PresetOut, asdict(p)) for p in PRESETS.values()])


@router.post(
    "",
    status_code=201,
    response_model=Envelope[WebhookCreated],
    responses=conflict("A webhook with this id exists", "workspace"),
)
async def create_webhook(
    body: WebhookCreate, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Create a webhook; providers post to ``/webhooks/{id}``. The answer holds its first
    signing secret, shown this once: ``signature_mode`` says whether it is checked."""
    settings = body.model_dump(exclude={"id"})

    def create(conn: Connection) -> dict[str, Any]:
        created = webhook.create(
            conn, workspace_id=principal.workspace_id, webhook_id=body.id, **settings
        )
        secret = webhook.first_secret(conn, principal.workspace_id, created)
        return {**webhook.get(conn, principal.workspace_id, created), "secret": secret}

    created = await db.write(create)
    return ok(
        public(WebhookCreated, {**created, "url_path": f"/webhooks/{created['id']}"}),
        status_code=201,
    )


@router.post(
    "/{webhook_id}/secrets",
    response_model=Envelope[SecretRotated],
    responses=WEBHOOK_ERRORS,
)
async def rotate_secret(
    webhook_id: str, body: SecretRotation, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Add a signing secret, shown this once. The current ones keep verifying until
    ``keep_old_until`` (24 hours by default), so that senders can switch without a gap."""
    secret, updated = await db.write(
        lambda conn: webhook.rotate_secret(
            conn,
            principal.workspace_id,
            webhook_id,
            secret=body.secret,
            keep_old_until=body.keep_old_until,
        )
    )
    return ok(public(SecretRotated, {"secret": secret, "secrets": updated["secrets"]}))


@router.get("/{webhook_id}", response_model=Envelope[WebhookOut], responses=WEBHOOK_ERRORS)
async def get_webhook(webhook_id: str, principal: ReadAccess, db: DatabaseDep) -> JSONResponse:
    """A webhook's settings and counters."""
    found = await db.read(lambda conn: webhook.get(conn, principal.workspace_id, webhook_id))
    return ok(_webhook_out(found))


@router.patch("/{webhook_id}", response_model=Envelope[WebhookOut], responses=WEBHOOK_ERRORS)
async def update_webhook(
    webhook_id: str, body: WebhookPatch, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Change some of a webhook's settings, such as its field mapping before a replay.
    Deliveries that arrive after the answer use the new settings."""
    changes = body.model_dump(exclude_unset=True)
    updated = await db.write(
        lambda conn: webhook.update(conn, principal.workspace_id, webhook_id, changes)
    )
    return ok(_webhook_out(updated))


@router.patch(
    "/{webhook_id}/status",
    response_model=Envelope[WebhookOut],
    responses=conflict("The webhook is deleted: restore it first", "webhook"),
)
async def set_webhook_status(
    webhook_id: str, body: WebhookStatus, principal: AdminAccess, db: DatabaseDep
) -> JSONResponse:
    """Enable or disable a webhook: a disabled one answers its deliveries with 404."""
    updated = await db.write(
        lambda conn: webhook.update(
            conn, principal.workspace_id, webhook_id, {"is_active": body.enabled}
        )
    )
    return ok(_webhook_out(updated))


@router.delete(
    "/{webhook_id}",
    response_model=Envelope[WebhookOut | None],
    responses=conflict("Deleted already (delete with force=true)", "webhook"),
)
async def delete_webhook(
    webhook_id: str,
    principal: AdminAccess,
    db: DatabaseDep,
    force: Annotated[
        bool, Query(description="Delete at once, with its delivery log; not restorable")
    ] = False,
) -> JSONResponse:
    """Delete a webhook: it stops taking deliveries and can be restored for 24 hours, then
    it is purged; ``force=true`` deletes it at once. Its leads stay either way."""
    deleted = await db.write(
        lambda conn: webhook.delete(conn, principal.workspace_id, webhook_id, force=force)
    )
    return ok(_webhook_out(deleted) if deleted is not None else None)


@router.post(
    "/{webhook_id}/restore",
    response_model=Envelope[WebhookOut],
    responses=conflict("Not deleted, or deleted over 24 hours ago", "webhook"),
)
async def restore_webhook(webhook_id: str, principal: AdminAccess, db: DatabaseDep) -> JSONResponse:
    """Undo a delete within 24 hours: the webhook is enabled again."""
    restored = await db.write(
        lambda conn: webhook.restore(conn, principal.workspace_id, webhook_id)
    )
    return ok(_webhook_out(restored))
