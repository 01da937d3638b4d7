"""A contact's page: all its leads with stages and values (seed 000's LeadsOverview),
creating a lead, and the activity history across its leads."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from leadpipe.activities.repository import ActivityQueries
from leadpipe.contact_api.service import contact
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.leads.schemas import LeadCreate
from leadpipe.leads.service import lead
from leadpipe.realtime import events
from leadpipe.web.auth import Agent, Viewer
from leadpipe.web.changes import actor_of, contact_change, write_and_announce
from leadpipe.web.forms import body_of, form_values
from leadpipe.web.render import page, redirect
from leadpipe.web.rules import ACTIVITY_TYPES, OUTCOMES, PRIORITIES, TEMPERATURES
from leadpipe.web.tables import load_workspace, memberships_of

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)


@router.get("/app/contacts/{contact_id}", response_class=HTMLResponse)
async def contact_page(
    contact_id: uuid.UUID, request: Request, who: Viewer, db: DatabaseDep
) -> Response:
    kind = request.query_params.get("type") or None
    outcome = request.query_params.get("outcome") or None

    def read(conn: Connection) -> dict[str, Any]:
        assert who.workspace_id is not None
        workspace = load_workspace(conn, who.workspace_id)
        person = contact.get(conn, workspace.id, contact_id)
        leads = person["leads"]
        history = ActivityQueries(conn).for_leads(
            [one["id"] for one in leads], activity_type=kind, outcome=outcome
        )
        products = {one["id"]: one["product_interest"] or "No product" for one in leads}
        return {
            "workspace": workspace,
            "person": person,
            "leads": leads,
            "open_value": sum(one["estimated_value"] or 0 for one in leads if one["is_active"]),
            "history": history,
            "products": products,
            "kind": kind or "",
            "outcome": outcome or "",
            "activity_types": sorted({*ACTIVITY_TYPES, "lead_created", "status_updated"}),
            "outcomes": OUTCOMES,
            "priorities": PRIORITIES,
            "temperatures": TEMPERATURES,
            "memberships": memberships_of(conn, who),
        }

    return page(request, "contact.html", await db.read(read))


@router.post("/app/contacts/{contact_id}/leads")
async def create_lead(
    contact_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep
) -> Response:
    values: dict[str, Any] = await form_values(request)
    body = body_of(LeadCreate, {**values, "contact_id": str(contact_id)}, "lead")

    def create(conn: Connection) -> list[events.Event]:
        assert who.workspace_id is not None
        created = lead.create(conn, who.workspace_id, body, actor_of(who))
        return [events.lead_as_changed(created, created=True)]

    await write_and_announce(request, db, create)
    return redirect(f"/app/contacts/{contact_id}", request)


@router.post("/app/contacts/{contact_id}/edit")
async def edit_contact(
    contact_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep
) -> Response:
    """The contact page's form: the Contact API's change, as the user (the same checks,
    the same refusal of another contact's phone or email)."""
    body = contact_change(await request.form())

    def change(conn: Connection) -> list[events.Event]:
        assert who.workspace_id is not None
        changed = contact.update(conn, who.workspace_id, contact_id, body, actor_of(who))
        return [events.lead_as_changed(one) for one in changed["leads"]]

    await write_and_announce(request, db, change)
    return redirect(f"/app/contacts/{contact_id}", request)
