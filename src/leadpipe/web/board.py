"""The pipeline page: the kanban board of leads by stage (dragging a card moves the lead
through the one lead lifecycle) and, for admins, the stages themselves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.sessions import SignedIn
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.leads.queries import LeadFilters, LeadQueries
from leadpipe.leads.rules import product_key
from leadpipe.leads.service import lead
from leadpipe.pipeline_api.schemas import StageCreate, StageReorder, StageUpdate
from leadpipe.pipeline_api.service import pipeline
from leadpipe.web.auth import Admin, Agent, Viewer
from leadpipe.web.changes import stage_change, update_lead, write_and_announce
from leadpipe.web.forms import body_of, form_values
from leadpipe.web.render import page
from leadpipe.web.rules import weighted_value
from leadpipe.web.tables import Workspace, load_workspace, memberships_of, names_to_filter_by

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

CARDS_PER_COLUMN = 20


@dataclass(frozen=True, slots=True)
class BoardQuery:
    """The board as the user narrowed it: only their leads, one product, one source."""

    mine: bool = False
    product: str = ""
    source: str = ""

    def params(self) -> dict[str, str]:
        chosen = {"mine": "1" if self.mine else "", "product": self.product, "source": self.source}
        return {name: value for name, value in chosen.items() if value}


def _board_query(request: Request) -> BoardQuery:
    given = request.query_params
    return BoardQuery(
        mine=given.get("mine") in ("1", "true", "on"),
        product=given.get("product", "").strip()[:200],
        source=given.get("source", "").strip()[:200],
    )


def _filters(who: SignedIn, workspace: Workspace, chosen: BoardQuery) -> LeadFilters:
    return LeadFilters(
        workspace_id=workspace.id,
        is_active=None,  # won and lost leads have their columns too
        assigned_user_id=who.user_id if chosen.mine else None,
        product_key=product_key(chosen.product) if chosen.product else None,
        source=chosen.source or None,
    )


def _columns(conn: Connection, workspace: Workspace, filters: LeadFilters) -> list[dict[str, Any]]:
    """Each stage a lead can be in, with its count, value, weighted value and newest
    cards. Inactive stages show only while leads are still in them."""
    queries = LeadQueries(conn)
    totals = queries.stage_totals_of(filters)
    columns: list[dict[str, Any]] = []
    for stage in workspace.stages:
        count, value = totals.get(stage["stage_slug"], (0, Decimal(0)))
        if not stage["is_active"] and not count:
            continue
        cards, _ = lead.page(
            conn,
            replace(filters, stage=stage["stage_slug"]),
            sort="created_at",
            descending=True,
            limit=CARDS_PER_COLUMN,
            offset=0,
            include_activities=False,
        )
        columns.append(
            {
                "stage": stage,
                "count": count,
                "value": value,
                "weighted": weighted_value(value, stage["conversion_probability"]),
                "cards": cards,
            }
        )
    shown = [card["id"] for column in columns for card in column["cards"]]
    entered = queries.stage_entered(workspace.id, shown)
    for column in columns:
        for card in column["cards"]:
            card["in_stage_since"] = entered.get(card["id"], card["created_at"])
    return columns


def _board(conn: Connection, who: SignedIn, chosen: BoardQuery) -> dict[str, Any]:
    assert who.workspace_id is not None
    workspace = load_workspace(conn, who.workspace_id)
    return {
        "workspace": workspace,
        "columns": _columns(conn, workspace, _filters(who, workspace, chosen)),
        "memberships": memberships_of(conn, who),
        "cards_per_column": CARDS_PER_COLUMN,
        "board": chosen,
        "board_query": urlencode(chosen.params()),
        "assignees": {m["id"]: m for m in workspace.members},
    }


@router.get("/app/pipeline", response_class=HTMLResponse)
async def pipeline_page(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    chosen = _board_query(request)
    if request.headers.get("hx-target") == "board":  # the filters changed: the board alone
        return page(request, "_board.html", await db.read(lambda conn: _board(conn, who, chosen)))

    def read(conn: Connection) -> dict[str, Any]:
        # The filters' choices belong to the page; the board alone is redrawn without them.
        assert who.workspace_id is not None
        choices = names_to_filter_by(conn, who.workspace_id)
        return {**_board(conn, who, chosen), **_stage_list(conn, who), **choices}

    data = await db.read(read)
    return page(request, "pipeline.html", data)


@router.get("/app/pipeline/columns", response_class=HTMLResponse)
async def board_columns(request: Request, who: Viewer, db: DatabaseDep) -> Response:
    chosen = _board_query(request)
    return page(request, "_board.html", await db.read(lambda conn: _board(conn, who, chosen)))


@router.post("/app/pipeline/leads/{lead_id}/stage")
async def move_card(lead_id: uuid.UUID, request: Request, who: Agent, db: DatabaseDep) -> Response:
    """A card dropped on another column: the same stage change as everywhere else."""
    body = stage_change(await form_values(request))
    await write_and_announce(request, db, lambda conn: update_lead(conn, who, lead_id, body))
    return Response(status_code=204)


# -- managing stages -------------------------------------------------------------------


def _stage_list(conn: Connection, who: SignedIn) -> dict[str, Any]:
    assert who.workspace_id is not None
    return {"stages": pipeline.stages(conn, who.workspace_id, include_inactive=True)}


async def _stages_changed(
    request: Request, who: SignedIn, db: DatabaseDep, change: Any
) -> Response:
    await db.write(change)
    data = await db.read(lambda conn: _stage_list(conn, who))
    return page(request, "_stage_list.html", data, headers={"HX-Trigger": "stagesChanged"})


@router.post("/app/pipeline/stages", response_class=HTMLResponse)
async def add_stage(request: Request, who: Admin, db: DatabaseDep) -> Response:
    values: dict[str, Any] = await form_values(request)
    body = body_of(StageCreate, values, "stage")
    assert who.workspace_id is not None
    workspace_id = who.workspace_id
    return await _stages_changed(
        request, who, db, lambda conn: pipeline.create(conn, workspace_id, body)
    )


@router.post("/app/pipeline/stages/order", response_class=HTMLResponse)
async def reorder_stages(request: Request, who: Admin, db: DatabaseDep) -> Response:
    order = [s for s in (await form_values(request)).get("order", "").split(",") if s]
    body = body_of(StageReorder, {"order": order}, "stage order")
    assert who.workspace_id is not None
    workspace_id = who.workspace_id
    return await _stages_changed(
        request, who, db, lambda conn: pipeline.reorder(conn, workspace_id, body)
    )


@router.post("/app/pipeline/stages/{slug}", response_class=HTMLResponse)
async def change_stage_settings(
    slug: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    values: dict[str, Any] = await form_values(request)
    if "is_active" in values:
        values["is_active"] = values["is_active"] == "true"
    body = body_of(StageUpdate, values, "stage")
    assert who.workspace_id is not None
    workspace_id = who.workspace_id
    return await _stages_changed(
        request, who, db, lambda conn: pipeline.update(conn, workspace_id, slug, body)
    )
