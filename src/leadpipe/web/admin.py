"""The workspace's settings and its members."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.repository import UserRepository, WorkspaceRepository
from leadpipe.accounts.rules import (
    ROLES,
    lost_reasons_of,
    parse_lost_reasons,
    time_zone_of,
    time_zone_problem,
)
from leadpipe.accounts.service import account, user
from leadpipe.accounts.sessions import SignedIn
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep
from leadpipe.errors import NotFound, ValidationFailed, field_error
from leadpipe.kit.coerce import ascii_int
from leadpipe.realtime.events import user_revoked
from leadpipe.realtime.hub import publish
from leadpipe.web.auth import Admin, Owner
from leadpipe.web.forms import form_values
from leadpipe.web.render import page, redirect
from leadpipe.web.tables import memberships_of

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)


# -- settings and members --------------------------------------------------------------


@router.get("/app/settings", response_class=HTMLResponse)
async def settings_page(request: Request, who: Admin, db: DatabaseDep) -> Response:
    return page(request, "settings.html", await db.read(lambda c: _settings(c, who)))


def _settings(conn: Connection, who: SignedIn) -> dict[str, Any]:
    assert who.workspace_id is not None
    found = WorkspaceRepository(conn).get(who.workspace_id)
    return {
        "workspace": found,
        "time_zone": time_zone_of(found.settings),
        "lost_reasons": lost_reasons_of(found.settings),
        "members": UserRepository(conn).members(who.workspace_id),
        "roles": ROLES,
        "memberships": memberships_of(conn, who),
    }


@router.post("/app/settings")
async def save_settings(request: Request, who: Admin, db: DatabaseDep) -> Response:
    values = await form_values(request)
    errors = []
    time_zone = values.get("time_zone", "")  # blank: refused, never UTC by surprise
    if problem := time_zone_problem(time_zone):
        errors.append(field_error("time_zone", problem))
    window = ascii_int(values.get("lead_window_days", ""))
    if window is None or not 1 <= window <= 3650:
        errors.append(field_error("lead_window_days", "a whole number of days, 1 to 3650"))
    region = values.get("default_region", "").upper()
    if len(region) != 2 or not region.isalpha():
        errors.append(field_error("default_region", "a two-letter country code, e.g. US"))
    name = values.get("name", "")[:200]
    if not name:
        errors.append(field_error("name", "the workspace needs a name"))
    reasons, problem = parse_lost_reasons(values.get("lost_reasons", ""))
    if problem is not None and "lost_reasons" in values:
        errors.append(field_error("lost_reasons", problem))
    if errors:
        raise ValidationFailed("Invalid settings", errors)
    assert window is not None  # refused above otherwise
    days = window

    def save(conn: Connection) -> None:
        assert who.workspace_id is not None
        account.change_workspace(
            conn,
            who.workspace_id,
            name=name,
            default_region=region,
            lead_window_days=days,
            time_zone=time_zone,
            lost_reasons=reasons or None,  # left blank: kept as they are
        )

    await db.write(save)
    return redirect("/app/settings", request)


@router.post("/app/settings/members")
async def add_member(request: Request, who: Owner, db: DatabaseDep) -> Response:
    """Make a user a member (creating the user when new, with a password shown once)."""
    values = await form_values(request)
    email, role = values.get("email", ""), values.get("role", "")

    def add(conn: Connection) -> str | None:
        assert who.workspace_id is not None
        try:
            user.set_role(conn, email=email, workspace_id=who.workspace_id, role=role)
            return None
        except NotFound:
            created = user.create(
                conn,
                email=email,
                name=values.get("name") or None,
                workspace_id=who.workspace_id,
                role=role,
            )
            return created.password

    password = await db.write(add)
    if password is None:
        return redirect("/app/settings", request)
    # The one time it is shown: on the page the owner is looking at, never in a URL.
    data = await db.read(lambda conn: _settings(conn, who))
    return page(
        request, "settings.html", {**data, "new_user": {"email": email, "password": password}}
    )


@router.post("/app/settings/members/{user_id}")
async def change_member(
    user_id: uuid.UUID, request: Request, who: Owner, db: DatabaseDep
) -> Response:
    values = await form_values(request)

    def change(conn: Connection) -> None:
        assert who.workspace_id is not None
        if values.get("remove") == "1":
            user.remove_member(conn, workspace_id=who.workspace_id, user_id=user_id)
        else:
            user.set_member_role(
                conn, workspace_id=who.workspace_id, user_id=user_id, role=values.get("role", "")
            )

    await db.write(change)
    publish(request.app, [user_revoked(user_id)])  # a removed member's live sockets close
    return redirect("/app/settings", request)


@router.post("/app/settings/members/{user_id}/password", response_class=HTMLResponse)
async def reset_member_password(
    user_id: uuid.UUID, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    """A new password for a member, shown once; their sessions end, sockets included."""

    def reset(conn: Connection) -> tuple[str, str]:
        assert who.workspace_id is not None
        assert who.role is not None
        member = user.member_to_manage(
            conn, workspace_id=who.workspace_id, by=who.user_id, role=who.role, user_id=user_id
        )
        generated = user.reset_password(conn, email=member["email"])
        assert generated is not None  # none was given: one was made
        return member["email"], generated

    email, password = await db.write(reset)
    publish(request.app, [user_revoked(user_id)])
    data = await db.read(lambda conn: _settings(conn, who))
    return page(
        request,
        "settings.html",
        {**data, "new_user": {"email": email, "password": password, "reset": True}},
    )


@router.post("/app/settings/members/{user_id}/active")
async def set_member_active(
    user_id: uuid.UUID, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    """``active=false`` deactivates a member (they cannot sign in, and every session and
    live socket of theirs ends now); ``true`` lets them back in."""
    values = await form_values(request)
    if values.get("active") not in ("true", "false"):
        raise ValidationFailed("Invalid change", [field_error("active", "true or false")])
    active = values["active"] == "true"

    def change(conn: Connection) -> None:
        assert who.workspace_id is not None
        assert who.role is not None
        member = user.member_to_manage(
            conn, workspace_id=who.workspace_id, by=who.user_id, role=who.role, user_id=user_id
        )
        user.set_active(conn, member["email"], active=active)

    await db.write(change)
    publish(request.app, [user_revoked(user_id)])
    return redirect("/app/settings", request)
