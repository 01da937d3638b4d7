"""The workspace's live events over a WebSocket, for the dashboard (session cookie) and
for integrations (an API key)."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from leadpipe.accounts.repository import ApiKeyRepository
from leadpipe.accounts.rules import SESSION_COOKIE, hash_api_key
from leadpipe.accounts.sessions import session
from leadpipe.deps import DASHBOARD_TAG
from leadpipe.realtime.events import Event
from leadpipe.realtime.hub import Hub
from leadpipe.storage.engine import Database

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

# Close codes (the 4000s are the application's own).
UNAUTHORIZED = 4401
FORBIDDEN_ORIGIN = 4403
# A ping keeps proxies from closing a quiet socket, and finds dead ones.
PING_EVERY_SECONDS = 25.0


def hub_of(app: object) -> Hub | None:
    return getattr(app.state, "hub", None)  # type: ignore[attr-defined]


def _same_origin(socket: WebSocket) -> bool:
    """A browser says where the page that opens the socket came from: only our own pages
    may use the visitor's session (cross-site WebSocket hijacking)."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == socket.headers.get("host")


async def _workspace_of(socket: WebSocket, db: Database) -> str | None:
    key = socket.headers.get("x-api-key")
    if key:
        found = await db.lookup(lambda conn: ApiKeyRepository(conn).find_active(hash_api_key(key)))
        return str(found["workspace_id"]) if found else None
    value = socket.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    who = await db.lookup(lambda conn: session.find(conn, value))
    return who.workspace_id if who is not None and who.role is not None else None


@router.websocket("/live")
async def live(socket: WebSocket) -> None:
    """Every event of the caller's workspace, as JSON text messages:
    ``{"type": "lead.created", "data": {"workspace_id": ..., "lead_id": ...}}``."""
    db: Database = socket.app.state.db
    hub = hub_of(socket.app)
    if not _same_origin(socket):
        await socket.close(code=FORBIDDEN_ORIGIN)
        return
    workspace_id = await _workspace_of(socket, db)
    if workspace_id is None or hub is None:
        await socket.close(code=UNAUTHORIZED)
        return
    await socket.accept()
    async with hub.subscribe(workspace_id) as queue:
        await socket.send_text(Event(workspace_id, "ready", {}).as_message())
        reader = asyncio.create_task(_until_closed(socket))
        try:
            while not reader.done():
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, reader}, timeout=PING_EVERY_SECONDS, return_when="FIRST_COMPLETED"
                )
                if getter in done:
                    await socket.send_text(getter.result().as_message())
                else:
                    getter.cancel()
                    if not done:
                        await socket.send_text('{"type":"ping"}')
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


async def _until_closed(socket: WebSocket) -> None:
    """Reads (and ignores) what the client sends, until it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await socket.receive_text()
