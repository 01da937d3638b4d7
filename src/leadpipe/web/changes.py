"""How the dashboard changes leads: as the signed-in user, through the lead service, and
announced to the workspace's watchers once committed."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from fastapi import Request
from sqlalchemy import Connection

from leadpipe.accounts.sessions import SignedIn
from leadpipe.leads.rules import Actor
from leadpipe.leads.schemas import LeadUpdate
from leadpipe.leads.service import lead
from leadpipe.realtime import events
from leadpipe.realtime.hub import publish
from leadpipe.storage.engine import Database


def actor_of(who: SignedIn) -> Actor:
    return Actor.user(who.user_id, who.display_name)


def update_lead(
    conn: Connection, who: SignedIn, lead_id: uuid.UUID, body: LeadUpdate
) -> list[events.Event]:
    """Change a lead of the user's workspace as the user; what to announce."""
    assert who.workspace_id is not None
    updated = lead.update(conn, who.workspace_id, lead_id, body, actor_of(who))
    return [events.lead_as_changed(updated)]


async def write_and_announce(
    request: Request, db: Database, change: Callable[[Connection], Sequence[events.Event]]
) -> None:
    """``change(conn)`` in a write transaction; what it says changed is published only
    after the commit (a rollback announces nothing)."""
    publish(request.app, await db.write(change))
