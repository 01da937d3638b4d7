"""How the dashboard changes leads: as the signed-in user, through the lead service, and
announced to the workspace's watchers once committed."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fastapi import Request
from sqlalchemy import Connection

from leadpipe.accounts.service import SignedIn
from leadpipe.leads.rules import Actor
from leadpipe.realtime import events
from leadpipe.realtime.hub import publish
from leadpipe.storage.engine import Database


def actor_of(who: SignedIn) -> Actor:
    return Actor.user(who.user_id, who.display_name)


lead_news = events.lead_as_changed


async def write_and_announce(
    request: Request, db: Database, change: Callable[[Connection], Sequence[events.Event]]
) -> None:
    """``change(conn)`` in a write transaction; what it says changed is published only
    after the commit (a rollback announces nothing)."""
    publish(request.app, await db.write(change))
