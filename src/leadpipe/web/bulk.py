"""Bulk actions on the selected leads, or on every lead matching the table's filter:
change stage, assign, add tags, delete; and the CSV export, streamed page by page."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncGenerator, Iterable, Sequence
from dataclasses import dataclass, field
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
from leadpipe.web.render import page, redirect
from leadpipe.web.rules import bulk_result, parse_table_query, single_group
from leadpipe.web.tables import Workspace, lead_filters, lead_table, load_workspace

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
ACTIONS["untag"] = "work_leads"
ACTIONS["delete"] = "manage_workspace"


async def _chosen_ids(request: Request, who: SignedIn, db: DatabaseDep) -> list[uuid.UUID]:
    """The checked leads; or, with ``all_matching``, every lead of the table's filter."""
    values = await form_values(request)
    if values.get("all_matching"):
        query, _ = parse_table_query(parse_qsl(values.get("filter", "")))

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
    before = Before()
    for chunk in _chunks(ids):
        await write_and_announce(
            request,
            db,
            functools.partial(change, workspace_id=workspace_id, ids=chunk, before=before),
        )
    # Tags count the leads that lacked them (or had them): the others did not change.
    done = before.count() if action in ("tag", "untag") else len(ids)
    if request.headers.get("hx-target") == "lead-table":
        return await _table_with_result(request, who, db, values, action, done, before)
    query = dict(parse_qsl(values.get("filter", "")))
    response = redirect("/app" + (f"?{values['filter']}" if query else ""), request)
    response.headers["HX-Trigger"] = "bulkDone"
    response.headers["X-Leads-Changed"] = str(done)
    return response


# Leads an undo names, at most: its form carries their ids.
UNDO_LIMIT = 1000


@dataclass
class Before:
    """How the leads a bulk action changed were before it, grouped: the tags each lacked
    (or had, for a removal), the assignee each had. Leads it left as they were are not
    in it."""

    groups: dict[Any, list[uuid.UUID]] = field(default_factory=dict)

    def add(self, key: Any, lead_id: uuid.UUID) -> None:
        self.groups.setdefault(key, []).append(lead_id)

    def count(self) -> int:
        return sum(len(ids) for ids in self.groups.values())


async def _table_with_result(
    request: Request,
    who: SignedIn,
    db: DatabaseDep,
    values: dict[str, str],
    action: str,
    done: int,
    before: Before,
) -> Response:
    """The table redrawn after a bulk action, with a line that says what it did and, where
    going back is safe (tags, assignees), a way to undo it."""
    query, _ = parse_table_query(parse_qsl(values.get("filter", "")))

    def read(conn: Connection) -> dict[str, Any]:
        data = lead_table(conn, who, query)
        workspace: Workspace = data["workspace"]
        return {**data, "result": _result(action, done, values, before, workspace, who)}

    data = await db.read(read)
    return page(
        request,
        "_lead_table.html",
        data,
        headers={"HX-Trigger": "refreshMetrics", "X-Leads-Changed": str(done)},
    )


def _result(
    action: str,
    done: int,
    values: dict[str, str],
    before: Before,
    workspace: Workspace,
    who: SignedIn,
) -> dict[str, Any]:
    tags = _tags_of(values) if action in ("tag", "untag") else []
    target = ""
    if action == "stage":
        target = workspace.stage_names.get(values.get("stage", ""), values.get("stage", ""))
    elif action == "assign" and values.get("assigned_user_id"):
        target = workspace.member_names.get(uuid.UUID(values["assigned_user_id"]), "a member")
    undone = values.get("undo") == "1"
    text = bulk_result(action, done, target=target, tags=tags)
    return {
        "text": f"Undone: {text}" if undone else text,
        "undo": None if undone else _undo(action, before, who),
    }


def _undo(action: str, before: Before, who: SignedIn) -> dict[str, Any] | None:
    """The bulk action that puts the leads back, when one can: tags added are removed from
    the leads that lacked them (and back), an assignee goes back when the leads had the
    same one. A stage move has none: moving back does not take back a win's conversion
    or the timeline's entries."""
    previous, ids = single_group(before.groups, UNDO_LIMIT)
    if not ids:
        return None
    if action in ("tag", "untag"):
        back = "untag" if action == "tag" else "tag"
        return {"action": back, "fields": {"tags": ", ".join(previous)}, "lead_ids": ids}
    if action == "assign":
        if who.role == "agent" and previous not in (None, who.user_id):
            return None  # an agent may not give leads to someone else, even back
        return {
            "action": "assign",
            "fields": {"assigned_user_id": str(previous) if previous else ""},
            "lead_ids": ids,
        }
    return None


def _tags_of(values: dict[str, str]) -> list[str]:
    tags = [t.strip() for t in values.get("tags", "").split(",") if t.strip()]
    if not tags:
        raise ValidationFailed("Invalid tags", [field_error("tags", "give at least one tag")])
    return list(dict.fromkeys(tags))


def _change_for(action: str, values: dict[str, str], who: SignedIn) -> Any:
    """What the action does to one chunk of leads, in one transaction; its news. It notes
    in ``before`` how the leads it changed were."""
    actor = actor_of(who)
    if action == "delete":

        def delete(
            conn: Connection, *, workspace_id: str, ids: Sequence[uuid.UUID], before: Before
        ) -> list[Any]:
            del before  # nothing to note: a deletion has no undo
            lead.delete_many(conn, workspace_id, ids)
            return []

        return delete
    tags: list[str] = []
    if action == "stage":
        body = stage_change(values)
    elif action == "assign":
        target = values.get("assigned_user_id") or None
        if who.role == "agent" and target not in (None, str(who.user_id)):
            raise Forbidden("Agents may assign leads to themselves only")
        body = body_of(LeadUpdate, {"assigned_user_id": target}, "assignee")
    else:
        tags = _tags_of(values)
        body = body_of(LeadUpdate, {"tags": tags}, "tags")

    def update(
        conn: Connection, workspace_id: str, ids: Sequence[uuid.UUID], before: Before
    ) -> list[events.Event]:
        news = []
        for lead_id in ids:
            this = body
            if action in ("tag", "untag"):  # added to, or taken from, the lead's own
                current = lead.get(conn, workspace_id, lead_id)["tags"] or []
                changed = tuple(t for t in tags if (t in current) == (action == "untag"))
                if not changed:
                    continue  # nothing to add or take away: the lead stays as it is
                before.add(changed, lead_id)
                kept = [t for t in current if t not in changed]
                this = LeadUpdate(tags=current + list(changed) if action == "tag" else kept)
            elif action == "assign":
                before.add(lead.get(conn, workspace_id, lead_id)["assigned_user_id"], lead_id)
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
    request: Request, who: SignedIn, db: DatabaseDep, raw: list[tuple[str, str]]
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
    who: SignedIn, db: DatabaseDep, raw: list[tuple[str, str]], running: Slots
) -> Response:
    query, _ = parse_table_query(raw)
    chosen = _chosen(dict(raw))

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
    return await _export(request, who, db, request.query_params.multi_items())


@router.post("/app/export.csv")
async def export_chosen(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    """The checked leads, or every lead of the filter with ``all_matching``."""
    values = await form_values(request)
    raw = parse_qsl(values.get("filter", ""))  # a filter's name repeats for several values
    if not values.get("all_matching"):
        raw.append(("lead_ids", ",".join((await form_lists(request, "lead_ids"))["lead_ids"])))
    return await _export(request, who, db, raw)
