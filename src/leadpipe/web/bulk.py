"""Bulk actions on the selected leads, or on every lead matching the table's filter:
change stage, assign, add tags, delete; and the CSV export, streamed page by page."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncGenerator, Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from leadpipe.accounts.rules import may
from leadpipe.accounts.sessions import SignedIn
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.errors import Forbidden, ValidationFailed, field_error
from leadpipe.exports.rules import csv_line
from leadpipe.exports.streaming import pages
from leadpipe.kit.clock import utcnow
from leadpipe.kit.slots import Slots
from leadpipe.leads.queries import LeadQueries
from leadpipe.leads.schemas import LeadUpdate
from leadpipe.leads.service import lead
from leadpipe.realtime import events
from leadpipe.web.auth import Agent, Viewer
from leadpipe.web.changes import actor_of, stage_change, write_and_announce
from leadpipe.web.exports import ExportResponse, start_export
from leadpipe.web.forms import body_of, form_lists, form_values
from leadpipe.web.render import redirect
from leadpipe.web.rules import parse_table_query
from leadpipe.web.tables import Workspace, lead_filters, load_workspace

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

# Leads changed per transaction: a bulk action on 100,000 leads never holds the
# database (SQLite's one writer) for long, and intake goes on between its chunks.
CHUNK = 250
EXPORT_HEADER = (
    "lead_id",
    "created_at",
    "first_name",
    "last_name",
    "email",
    "phone",
    "product",
    "source",
    "sub_source",
    "stage",
    "priority",
    "temperature",
    "estimated_value",
    "lead_score",
    "assignee",
    "tags",
    "utm_source",
    "utm_campaign",
    "is_converted",
    "last_activity_at",
    "consent_value",
    "consent_text",
    "consent_at",
    "consent_ip",
    "consent_page_url",
    "trustedform_cert_url",
    "jornaya_lead_id",
)


def _export_row(found: dict[str, Any], workspace: Workspace) -> list[Any]:
    """One lead as a CSV row, in ``EXPORT_HEADER``'s order."""
    person = found["contact"]
    assignee = workspace.member_names.get(found["assigned_user_id"]) or found["assigned_to"]
    last = found["last_activity_at"]
    consent = found.get("consent_proof") or {}
    return [
        found["id"],
        found["created_at"].isoformat(),
        person["firstname"],
        person["lastname"],
        person["email"],
        person["phone"],
        found["product_interest"],
        found["lead_source"],
        found["sub_source"],
        workspace.stage_names.get(found["stage"], found["stage"]),
        found["priority"],
        found["temperature"],
        found["estimated_value"],
        found["lead_score"],
        assignee,
        ", ".join(found["tags"] or []),
        found["utm_source"],
        found["utm_campaign"],
        found["is_converted"],
        last.isoformat() if last else None,
        *(
            consent.get(key)
            for key in (
                "value",
                "text",
                "at",
                "ip_address",
                "page_url",
                "trustedform_cert_url",
                "jornaya_lead_id",
            )
        ),
    ]


ACTIONS = {"stage": "work_leads", "assign": "work_leads", "tag": "work_leads"}
ACTIONS["delete"] = "manage_workspace"


async def _chosen_ids(request: Request, who: SignedIn, db: DatabaseDep) -> list[uuid.UUID]:
    """The checked leads; or, with ``all_matching``, every lead of the table's filter."""
    values = await form_values(request)
    if values.get("all_matching"):
        query, _ = parse_table_query(dict(parse_qsl(values.get("filter", ""))))

        def every(conn: Connection) -> list[uuid.UUID]:
            assert who.workspace_id is not None
            workspace = load_workspace(conn, who.workspace_id)
            filters = lead.as_stored(conn, lead_filters(query, who, workspace, utcnow()))
            return LeadQueries(conn).ids(filters)

        return await db.read(every)
    chosen = (await form_lists(request, "lead_ids"))["lead_ids"]
    try:
        return [uuid.UUID(i) for i in chosen]
    except ValueError:
        raise ValidationFailed(
            "Invalid selection", [field_error("lead_ids", "not leads")]
        ) from None


def _chunks(ids: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


@router.post("/app/bulk")
async def bulk(request: Request, who: Agent, db: DatabaseDep) -> Response:
    values = await form_values(request)
    action = values.get("action", "")
    if action not in ACTIONS:
        raise ValidationFailed("Invalid bulk action", [field_error("action", "unknown action")])
    assert who.role is not None
    assert who.workspace_id is not None
    if not may(who.role, ACTIONS[action]):
        raise Forbidden(f"Your role ({who.role}) may not {action} leads in bulk")
    ids = await _chosen_ids(request, who, db)
    if not ids:
        raise ValidationFailed("Nothing selected", [field_error("lead_ids", "select leads")])
    workspace_id = who.workspace_id
    change = _change_for(action, values, who)
    done = 0
    for chunk in _chunks(ids):
        await write_and_announce(
            request, db, functools.partial(change, workspace_id=workspace_id, ids=chunk)
        )
        done += len(chunk)
    query = dict(parse_qsl(values.get("filter", "")))
    response = redirect("/app" + (f"?{values['filter']}" if query else ""), request)
    response.headers["HX-Trigger"] = "bulkDone"
    response.headers["X-Leads-Changed"] = str(done)
    return response


def _change_for(action: str, values: dict[str, str], who: SignedIn) -> Any:
    """What the action does to one chunk of leads, in one transaction; its news."""
    actor = actor_of(who)
    if action == "delete":

        def delete(conn: Connection, *, workspace_id: str, ids: Sequence[uuid.UUID]) -> list[Any]:
            lead.delete_many(conn, workspace_id, ids)
            return []

        return delete
    if action == "stage":
        body = stage_change(values)
    elif action == "assign":
        target = values.get("assigned_user_id") or None
        if who.role == "agent" and target not in (None, str(who.user_id)):
            raise Forbidden("Agents may assign leads to themselves only")
        body = body_of(LeadUpdate, {"assigned_user_id": target}, "assignee")
    else:
        tags = [t.strip() for t in values.get("tags", "").split(",") if t.strip()]
        if not tags:
            raise ValidationFailed("Invalid tags", [field_error("tags", "give at least one tag")])
        body = body_of(LeadUpdate, {"tags": tags}, "tags")

    def update(conn: Connection, workspace_id: str, ids: Sequence[uuid.UUID]) -> list[events.Event]:
        news = []
        for lead_id in ids:
            this = body
            if action == "tag":  # added to the lead's own
                current = lead.get(conn, workspace_id, lead_id)["tags"] or []
                merged = current + [t for t in body.tags if t not in current]
                this = LeadUpdate(tags=merged)
            news.append(
                events.lead_as_changed(lead.update(conn, workspace_id, lead_id, this, actor))
            )
        return news

    return update


# -- the CSV export --------------------------------------------------------------------


def _export_page(workspace_id: str, ids: list[uuid.UUID], conn: Connection) -> list[dict[str, Any]]:
    return LeadQueries(conn).by_ids(workspace_id, ids)


def _chosen(raw: dict[str, str]) -> list[uuid.UUID]:
    try:
        return [uuid.UUID(i) for i in raw.get("lead_ids", "").split(",") if i]
    except ValueError:
        raise ValidationFailed(
            "Invalid selection", [field_error("lead_ids", "not leads")]
        ) from None


async def _export(
    request: Request, who: SignedIn, db: DatabaseDep, raw: dict[str, str]
) -> Response:
    assert who.workspace_id is not None
    workspace_id = who.workspace_id
    running = start_export(request, workspace_id)
    try:
        return await _streamed_export(who, db, raw, running)
    except BaseException:
        running.give_back(workspace_id)  # refused before it started to stream
        raise


async def _streamed_export(
    who: SignedIn, db: DatabaseDep, raw: dict[str, str], running: Slots
) -> Response:
    query, _ = parse_table_query(raw)
    chosen = _chosen(raw)

    def workspace_and_ids(conn: Connection) -> tuple[Workspace, list[uuid.UUID]]:
        """The ids of the leads to export, in the table's order, in one pass: pages by
        offset would each pass over every lead before theirs again (and could repeat or
        skip a lead that arrives or leaves meanwhile)."""
        assert who.workspace_id is not None
        workspace = load_workspace(conn, who.workspace_id)
        if chosen:
            return workspace, chosen
        filters = lead.as_stored(conn, lead_filters(query, who, workspace, utcnow()))
        ids = LeadQueries(conn).ids(filters, sort=query.sort, descending=query.order == "desc")
        return workspace, ids

    workspace, ids = await db.read_walking(workspace_and_ids)

    async def lines() -> AsyncGenerator[str, None]:
        yield csv_line(EXPORT_HEADER)
        async for rows in pages(db, ids, functools.partial(_export_page, workspace.id)):
            yield "".join(csv_line(_export_row(r, workspace)) for r in rows)

    name = f"leads-{workspace.id}-{utcnow():%Y%m%d-%H%M}.csv"
    return ExportResponse(
        lines(),
        running=running,
        workspace_id=workspace.id,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/app/export.csv")
async def export_filtered(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    """Every lead of the table's filter (the query string)."""
    return await _export(request, who, db, dict(request.query_params))


@router.post("/app/export.csv")
async def export_chosen(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    """The checked leads, or every lead of the filter with ``all_matching``."""
    values = await form_values(request)
    raw = dict(parse_qsl(values.get("filter", "")))
    if not values.get("all_matching"):
        raw["lead_ids"] = ",".join((await form_lists(request, "lead_ids"))["lead_ids"])
    return await _export(request, who, db, raw)
