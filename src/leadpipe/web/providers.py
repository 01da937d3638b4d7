"""The providers page: who sends the workspace's leads, their credentials (shown once),
what each may deliver to, and how its deliveries and leads fare."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.sessions import SignedIn
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.providers.schemas import ProviderCreate, ProviderPatch
from leadpipe.providers.service import provider
from leadpipe.storage.engine import Database
from leadpipe.web.auth import Admin, Viewer
from leadpipe.web.forms import body_of, form_lists, form_values
from leadpipe.web.render import page, redirect
from leadpipe.web.tables import memberships_of, time_zone_of_workspace
from leadpipe.webhooks.service import webhook

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)


@router.get("/app/providers", response_class=HTMLResponse)
async def providers_page(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    return await _providers_page(request, who, db)


async def _providers_page(
    request: Request, who: SignedIn, db: Database, shown: dict[str, Any] | None = None
) -> Response:
    """The page; ``shown``: a credential to show this once, and whose it is."""

    def read(conn: Connection) -> dict[str, Any]:
        assert who.workspace_id is not None
        listed = provider.for_workspace(conn, who.workspace_id)
        return {
            "providers": [{**p, "stats": provider.usage(conn, p["id"])} for p in listed],
            "webhooks": webhook.for_workspace(conn, who.workspace_id),
            "memberships": memberships_of(conn, who),
            "time_zone": time_zone_of_workspace(conn, who.workspace_id),
        }

    return page(request, "providers.html", {**await db.read(read), **(shown or {})})


@router.post("/app/providers", response_class=HTMLResponse)
async def create_provider(request: Request, who: Admin, db: DatabaseDep) -> Response:
    values: dict[str, Any] = await form_values(request)
    values["allowed_webhooks"] = (await form_lists(request, "allowed_webhooks"))[
        "allowed_webhooks"
    ] or None
    body = body_of(ProviderCreate, values, "provider")

    def create(conn: Connection) -> tuple[dict[str, Any], str]:
        assert who.workspace_id is not None
        return provider.create(conn, who.workspace_id, **body.model_dump(exclude={"id"}))

    made, key = await db.write(create)
    return await _providers_page(request, who, db, {"new_key": key, "new_key_of": made["name"]})


@router.post("/app/providers/{provider_id}")
async def update_provider(
    provider_id: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    """Its limit, its allowed webhooks, or whether it is active."""
    values: dict[str, Any] = await form_values(request)
    if "is_active" in values:
        values["is_active"] = values["is_active"] == "true"
    else:
        listed = await form_lists(request, "allowed_webhooks")
        values["allowed_webhooks"] = listed["allowed_webhooks"] or None
    changes = body_of(ProviderPatch, values, "provider").model_dump(exclude_unset=True)

    def change(conn: Connection) -> None:
        assert who.workspace_id is not None
        provider.update(conn, who.workspace_id, provider_id, changes)

    await db.write(change)
    return redirect("/app/providers", request)


@router.post("/app/providers/{provider_id}/rotate", response_class=HTMLResponse)
async def rotate_provider_key(
    provider_id: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    def rotate(conn: Connection) -> tuple[dict[str, Any], str]:
        assert who.workspace_id is not None
        return provider.rotate(conn, who.workspace_id, provider_id)

    updated, key = await db.write(rotate)
    shown = {"new_key": key, "new_key_of": updated["name"]}
    return await _providers_page(request, who, db, shown)
