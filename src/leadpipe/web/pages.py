"""The inbound lead page: metrics, heat map, the lead table and the lead's sidebar with
its actions; saved views; the stages' colours."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.repository import SavedViewRepository, UserRepository, WorkspaceRepository
from leadpipe.accounts.rules import time_zone_of
from leadpipe.accounts.sessions import SignedIn
from leadpipe.activities.repository import ActivityQueries
from leadpipe.contact_api.service import contact
from leadpipe.customfields.repository import FieldDefinitionRepository
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.errors import Forbidden, NotFound, ValidationFailed, field_error
from leadpipe.inbound.service import inbound
from leadpipe.kit.clock import utcnow
from leadpipe.kit.coerce import ascii_int
from leadpipe.kit.memo import Remembered
from leadpipe.leads.queries import LeadQueries
from leadpipe.leads.schemas import ActivityCreate, LeadUpdate
from leadpipe.leads.service import lead
from leadpipe.pipeline.repository import StageRepository
from leadpipe.realtime import events
from leadpipe.tasks.service import task
from leadpipe.web.auth import (
    Agent,
    Viewer,
)
from leadpipe.web.changes import (
    actor_of,
    contact_change,
    edited_lead_fields,
    next_step_task,
    refuse_empty_activity,
    stage_change,
    update_lead,
    write_and_announce,
)
from leadpipe.web.forms import body_of, form_lists, form_values
from leadpipe.web.live import hub_of
from leadpipe.web.render import color_of, page, redirect
from leadpipe.web.rules import (
    ACTIVITY_TYPES,
    OUTCOMES,
    PERIODS,
    PRIORITIES,
    TEMPERATURES,
    TableQuery,
    badge_ink,
    parse_table_query,
    period_bounds,
    read_column_choice,
    zone,
)
from leadpipe.web.tables import (
    Workspace,
    lead_filters,
    lead_table,
    load_workspace,
    memberships_of,
    names_to_filter_by,
    table_columns,
    with_column_values,
)

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


# -- the inbound page ------------------------------------------------------------------


@router.get("/app", response_class=HTMLResponse)
async def inbound_page(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    query, ignored = parse_table_query(request.query_params)
    if request.headers.get("hx-target") == "lead-table":
        data = await db.read(lambda conn: _table(conn, who, query))
        # The address bar shows the query as read, not the form's every empty field: the
        # URL is the view's state, to reload, share and save.
        return page(
            request,
            "_lead_table.html",
            {**data, "ignored": ignored},
            headers={"HX-Push-Url": query.url("/app")},
        )
    # The metrics and the heat map follow in a request of their own (``/app/metrics``):
    # the table shows first.
    data = await db.read(lambda conn: _inbound(conn, who, query))
    return page(request, "inbound.html", {**data, "ignored": ignored, "period": query.period})


@router.get("/app/metrics", response_class=HTMLResponse)
async def metrics_partial(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    period = _period(request)
    data = await _shared_metrics(request, db, who, period)
    return page(request, "_metrics.html", {**data, "period": period})


# Every dashboard open on a workspace asks for its metrics after each live event: one
# reading serves them all until the worker hears the workspace's next change (or, for the
# ages and "today", a few seconds pass). Without live events nothing says when it is stale.
METRICS_KEPT_SECONDS = 5


async def _shared_metrics(
    request: Request, db: DatabaseDep, who: SignedIn, period: int
) -> dict[str, Any]:
    hub = hub_of(request.app)
    if hub is None or who.workspace_id is None:
        return await db.read(lambda conn: _metrics(conn, who, period))
    state = request.app.state
    kept: Remembered[dict[str, Any]] | None = getattr(state, "dashboard_metrics", None)
    if kept is None:
        kept = state.dashboard_metrics = Remembered(seconds=METRICS_KEPT_SECONDS)
    key = (who.workspace_id, period, hub.changes_heard(who.workspace_id))  # before reading
    found = kept.found(key)
    if found is None:
        found = await db.read(lambda conn: _metrics(conn, who, period))
        kept.keep(key, found)
    return found


def _period(request: Request) -> int:
    days = ascii_int(request.query_params.get("period", ""))
    return days if days in PERIODS else 30


def _metrics(conn: Connection, who: SignedIn, period: int) -> dict[str, Any]:
    assert who.workspace_id is not None
    since, until = period_bounds(period, utcnow())
    found = WorkspaceRepository(conn).get(who.workspace_id)
    time_zone = time_zone_of(found.settings)
    metrics = inbound.metrics(conn, who.workspace_id, since, until, zone(time_zone))
    return {"metrics": metrics, "time_zone": time_zone}


def _table(
    conn: Connection, who: SignedIn, query: TableQuery, workspace: Workspace | None = None
) -> dict[str, Any]:
    return lead_table(conn, who, query, workspace)


def _inbound(conn: Connection, who: SignedIn, query: TableQuery) -> dict[str, Any]:
    assert who.workspace_id is not None
    workspace = load_workspace(conn, who.workspace_id)
    table = _table(conn, who, query, workspace)
    return {
        **table,
        **names_to_filter_by(conn, workspace.id),
        "memberships": memberships_of(conn, who),
        "priorities": PRIORITIES,
        "temperatures": TEMPERATURES,
        "periods": PERIODS,
    }


def _matching(
    conn: Connection, who: SignedIn, query: TableQuery, lead_ids: list[uuid.UUID]
) -> dict[str, Any]:
    """Those of the leads that match the table's filters, newest first, as rows of the
    user's table (its columns)."""
    assert who.workspace_id is not None
    workspace = load_workspace(conn, who.workspace_id)
    filters = lead_filters(query, who, workspace, utcnow())
    found: list[dict[str, Any]] = []
    for lead_id in lead_ids:  # a few at a time (a burst): one indexed look-up each
        one, _total = lead.page(
            conn,
            replace(filters, lead_id=lead_id),
            sort="created_at",
            descending=True,
            limit=1,
            offset=0,
            include_activities=False,
        )
        found += one
    found.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
    columns = table_columns(conn, who, workspace.id)
    leads = with_column_values(conn, workspace.id, found, columns)
    return {"workspace": workspace, "columns": columns, "leads": leads, "query": query}


@router.get("/app/leads/{lead_id}/row", response_class=HTMLResponse)
async def lead_row(lead_id: uuid.UUID, request: Request, who: Viewer, db: DatabaseDep) -> Response:
    """One row of the table as it is now, if the lead still matches the table's filters
    (live updates); 204 when it does not."""
    query, _ = parse_table_query(request.query_params)
    rows = await db.read(lambda conn: _matching(conn, who, query, [lead_id]))
    if not rows["leads"]:
        return Response(status_code=204)
    return page(request, "_lead_row.html", {**rows, "l": rows["leads"][0]})


# New leads a watcher asks for at once, at most: a burst gathered in a fraction of a second.
ROWS_AT_ONCE = 100


@router.get("/app/leads/rows", response_class=HTMLResponse)
async def lead_rows(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    """The rows of those of the leads named (``id``, repeated) that match the table's
    filters, newest first: a burst of new leads in one request, only those the table
    shows counted on its "new leads" banner."""
    query, _ = parse_table_query(request.query_params)
    lead_ids = _lead_ids(request.query_params.getlist("id"))
    rows = await db.read(lambda conn: _matching(conn, who, query, lead_ids))
    return page(request, "_lead_rows.html", rows)


def _lead_ids(given: list[str]) -> list[uuid.UUID]:
    if not given or len(given) > ROWS_AT_ONCE:
        raise ValidationFailed(
            "Invalid leads", [field_error("id", f"from 1 to {ROWS_AT_ONCE} lead ids")]
        )
    try:
        return list(dict.fromkeys(uuid.UUID(i) for i in given))
    except ValueError:
        raise ValidationFailed("Invalid leads", [field_error("id", "not a lead id")]) from None


# -- one lead: the sidebar and its actions ---------------------------------------------


def _detail(conn: Connection, who: SignedIn, lead_id: uuid.UUID) -> dict[str, Any]:
    assert who.workspace_id is not None
    workspace = load_workspace(conn, who.workspace_id)
    found = lead.get(conn, workspace.id, lead_id)
    timeline = ActivityQueries(conn).for_leads([lead_id])
    decisions: list[dict[str, Any]] = []
    for entry in reversed(timeline):  # oldest first; one line per decision, however logged
        decision = (entry.get("metadata") or {}).get("decision")
        if decision and decision not in decisions:
            decisions.append(decision)
    return {
        "workspace": workspace,
        "l": found,
        "person": contact.person(conn, workspace.id, found["contact_id"]),
        "tasks": task.listed(conn, workspace.id, lead_id=lead_id, done=False),
        "field_definitions": FieldDefinitionRepository(conn).active(workspace.id),
        "timeline": timeline,
        "decisions": decisions,
        "stage_history": LeadQueries(conn).stage_history(workspace.id, lead_id),
        "stage_names": {s["stage_slug"]: s["stage_name"] for s in workspace.stages},
        "activity_types": ACTIVITY_TYPES,
        "outcomes": OUTCOMES,
    }


@router.get("/app/leads/{lead_id}", response_class=HTMLResponse)
async def lead_detail(
    lead_id: uuid.UUID, request: Request, who: Viewer, db: DatabaseDep
) -> Response:
    data = await db.read(lambda conn: _detail(conn, who, lead_id))
    return page(request, "_lead_detail.html", data)


async def lead_panel(
    request: Request, who: SignedIn, db: DatabaseDep, lead_id: uuid.UUID
) -> Response:
    """The lead's panel after a change made elsewhere (its tasks): the table hears of it."""
    data = await db.read(lambda conn: _detail(conn, who, lead_id))
    return page(
        request, "_lead_detail.html", data, headers={"HX-Trigger": "leadChanged, tasksChanged"}
    )


async def _changed(
    request: Request, who: SignedIn, db: DatabaseDep, lead_id: uuid.UUID, change: Any
) -> Response:
    """Apply ``change(conn)`` to a lead, announce it, and answer with its sidebar."""
    await write_and_announce(request, db, change)
    data = await db.read(lambda conn: _detail(conn, who, lead_id))
    return page(request, "_lead_detail.html", data, headers={"HX-Trigger": "leadChanged"})


@router.post("/app/leads/{lead_id}/stage", response_class=HTMLResponse)
async def change_stage(
    lead_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep
) -> Response:
    body = stage_change(await form_values(request))
    return await _changed(
        request, who, db, lead_id, lambda conn: update_lead(conn, who, lead_id, body)
    )


@router.post("/app/leads/{lead_id}/edit", response_class=HTMLResponse)
async def edit_lead(lead_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep) -> Response:
    """The panel's details form: the same change as the API's PUT, as the user."""
    body = body_of(LeadUpdate, edited_lead_fields(await request.form()), "lead")
    return await _changed(
        request, who, db, lead_id, lambda conn: update_lead(conn, who, lead_id, body)
    )


@router.post("/app/leads/{lead_id}/contact", response_class=HTMLResponse)
async def edit_lead_contact(
    lead_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep
) -> Response:
    """The panel's contact form: the Contact API's change of the lead's person, as the
    user (another contact's phone or email is refused), then the panel again."""
    body = contact_change(await request.form())

    def change(conn: Connection) -> list[events.Event]:
        assert who.workspace_id is not None
        person = lead.get(conn, who.workspace_id, lead_id)["contact_id"]
        changed = contact.update(conn, who.workspace_id, person, body, actor_of(who))
        return [events.lead_as_changed(one) for one in changed["leads"]]

    return await _changed(request, who, db, lead_id, change)


@router.post("/app/leads/{lead_id}/assign", response_class=HTMLResponse)
async def assign(lead_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep) -> Response:
    """Agents take a lead (or let it go); admins and owners give it to anyone."""
    raw = (await form_values(request)).get("assigned_user_id")
    target = _user_id(raw)
    if who.role == "agent" and target not in (None, who.user_id):
        raise Forbidden("Agents may assign leads to themselves only")
    body = LeadUpdate(assigned_user_id=target)

    return await _changed(
        request, who, db, lead_id, lambda conn: update_lead(conn, who, lead_id, body)
    )


def _user_id(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ValidationFailed(
            "Invalid assignee", [field_error("assigned_user_id", "is not a user")]
        ) from None


@router.post("/app/leads/{lead_id}/activities", response_class=HTMLResponse)
async def add_activity(
    lead_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep
) -> Response:
    values: dict[str, Any] = await form_values(request)
    refuse_empty_activity(values)
    next_step, next_due = values.pop("next_step", None), values.pop("next_step_due", None)
    if next_step:
        values["activity_data"] = {"next_steps": next_step}
    values.setdefault("title", str(values.get("activity_type", "note")).capitalize())
    values["performed_by"] = str(who.user_id)
    body = body_of(ActivityCreate, values, "activity")

    def change(conn: Connection) -> list[events.Event]:
        assert who.workspace_id is not None
        follow_up = next_step_task(conn, who, next_step, next_due)
        created = lead.add_activity(conn, who.workspace_id, lead_id, body, actor_of(who))
        if follow_up is not None:
            task.create(conn, who.workspace_id, lead_id, follow_up, actor=actor_of(who).metadata)
        return [
            events.activity_created(who.workspace_id, created),
            events.lead_as_changed(lead.get(conn, who.workspace_id, lead_id)),
        ]

    return await _changed(request, who, db, lead_id, change)


# -- saved views -----------------------------------------------------------------------


@router.post("/app/views")
async def save_view(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    values = await form_values(request)
    name = values.get("name", "")[:100]
    if not name:
        raise ValidationFailed("Invalid view", [field_error("name", "give the view a name")])
    # The query the table was drawn with (page and all), not the fields of the page load.
    given = parse_qsl(values["query"]) if "query" in values else values
    query, _ = parse_table_query(given)
    stored = query.query_string(page=1)

    def save(conn: Connection) -> None:
        assert who.workspace_id is not None
        SavedViewRepository(conn).save(who.workspace_id, who.user_id, name, stored, utcnow())

    await db.write(save)
    return redirect(query.url("/app"), request)


@router.post("/app/views/{view_id}/delete")
async def delete_view(
    view_id: uuid.UUID, request: Request, who: Viewer, db: DatabaseDep
) -> Response:
    def delete(conn: Connection) -> None:
        assert who.workspace_id is not None
        if not SavedViewRepository(conn).delete(who.workspace_id, who.user_id, view_id):
            raise NotFound("No such view")

    await db.write(delete)
    return redirect("/app", request)


# -- the table's columns ---------------------------------------------------------------

# More names than any workspace's table has columns is no choice a page made.
COLUMNS_AT_ONCE = 200


@router.post("/app/columns", response_class=HTMLResponse)
async def choose_columns(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    """The signed-in user's columns of the lead table in this workspace (``columns``,
    repeated; ``reset=1``: the default ones), kept for them; the table redrawn with its
    query (``query``)."""
    form = await request.form()
    given = (await form_lists(request, "columns"))["columns"]
    reset = form.get("reset") == "1"
    query, _ = parse_table_query(parse_qsl(str(form.get("query", ""))))
    if len(given) > COLUMNS_AT_ONCE:
        raise ValidationFailed(
            "Invalid columns", [field_error("columns", f"at most {COLUMNS_AT_ONCE} columns")]
        )

    def save(conn: Connection) -> None:
        assert who.workspace_id is not None
        available = table_columns(conn, who, who.workspace_id).available
        chosen, unknown = read_column_choice(given, available)
        if unknown:
            named = ", ".join(unknown[:5])
            raise ValidationFailed(
                "Invalid columns", [field_error("columns", f"no such column: {named}")]
            )
        UserRepository(conn).set_table_columns(
            who.workspace_id, who.user_id, None if reset else chosen
        )

    await db.write(save)
    if request.headers.get("hx-request") != "true":
        return redirect(query.url("/app"), request)
    data = await db.read(lambda conn: _table(conn, who, query))
    return page(request, "_lead_table.html", data)


@router.get("/app/stages.css")
async def stage_colors(who: Viewer, db: DatabaseDep) -> Response:
    """Each stage's colour as a class: the page's styles come from files only (CSP)."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        assert who.workspace_id is not None
        return StageRepository(conn).all(who.workspace_id)

    css = "\n".join(
        f".stage-{s['stage_slug']} {{ --stage: {color_of(s['color'])}; "
        f"--stage-ink: {badge_ink(color_of(s['color']))}; }}"
        for s in await db.read(read)
        if SLUG.match(s["stage_slug"])
    )
    return Response(css, media_type="text/css", headers={"Cache-Control": "no-store"})
