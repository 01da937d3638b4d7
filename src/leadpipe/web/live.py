"""The workspace's live events over a WebSocket, for the dashboard (session cookie) and
for integrations (an API key).

A socket keeps the right it was opened with only while that right lasts: it looks it up
again whenever a revocation names its user or key (``Revocation`` through the hub, from
any worker), and at least every ``live_recheck_seconds``, and closes with a code the page
acts on."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from leadpipe.accounts.repository import ApiKeyRepository
from leadpipe.accounts.rules import SESSION_COOKIE, hash_api_key
from leadpipe.accounts.sessions import session
from leadpipe.deps import DASHBOARD_TAG
from leadpipe.realtime.events import Event, key_revoked, user_revoked
from leadpipe.realtime.hub import Hub
from leadpipe.storage.engine import Database

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)
log = logging.getLogger("leadpipe.realtime")

# Close codes (the 4000s are the application's own; the page acts on them, app.js).
UNAUTHORIZED = 4401  # no session or key, or no longer: sign in again
FORBIDDEN = 4403  # no longer a member of the workspace, or the account disabled
FORBIDDEN_ORIGIN = 4403  # refused at the handshake (the browser sees no code)
TRY_AGAIN_LATER = 1013  # the right could not be looked up: the page reconnects
# A ping keeps proxies from closing a quiet socket, and finds dead ones.
PING_EVERY_SECONDS = 25.0
# The embedded server's channel is its own process, which admin commands do not reach:
# what they revoke is found by looking, so it looks more often.
ALONE_RECHECK_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Right:
    """What a socket was opened with, to be looked up again."""

    workspace_id: str
    subject: str  # what revocations name (``Revocation.subject``)
    key_hash: str | None = None
    session_id: str | None = None


def hub_of(app: object) -> Hub | None:
    return getattr(app.state, "hub", None)  # type: ignore[attr-defined]


def _same_origin(socket: WebSocket) -> bool:
    """A browser says where the page that opens the socket came from: only our own pages
    may use the visitor's session (cross-site WebSocket hijacking)."""
    origin = socket.headers.get("origin")
    if origin is None:
        return True  # not a browser
    return urlsplit(origin).netloc == socket.headers.get("host")


async def _right_of(socket: WebSocket, db: Database) -> Right | None:
    key = socket.headers.get("x-api-key")
    if key:
        key_hash = hash_api_key(key)
        found = await db.lookup(lambda conn: ApiKeyRepository(conn).find_active(key_hash))
        if found is None:
            return None
        subject = key_revoked(found["id"]).subject
        return Right(str(found["workspace_id"]), subject, key_hash=key_hash)
    value = socket.cookies.get(SESSION_COOKIE)
    if not value:
        return None
    who = await db.lookup(lambda conn: session.find(conn, value))
    if who is None or who.workspace_id is None:
        return None
    subject = user_revoked(who.user_id).subject
    return Right(who.workspace_id, subject, session_id=who.session_id)


async def _lost(db: Database, right: Right) -> int | None:
    """The close code when the right is gone; None while it lasts."""
    if right.key_hash is not None:
        key_hash = right.key_hash
        found = await db.lookup(lambda conn: ApiKeyRepository(conn).find_active(key_hash))
        return None if found is not None else UNAUTHORIZED
    assert right.session_id is not None
    session_id = right.session_id
    standing = await db.lookup(lambda conn: session.standing(conn, session_id, right.workspace_id))
    return {"member": None, "signed_out": UNAUTHORIZED, "excluded": FORBIDDEN}[standing]


def _recheck_every(socket: WebSocket, hub: Hub) -> float:
    every: float = socket.app.state.settings.live_recheck_seconds
    return every if hub.reaches_other_processes else min(every, ALONE_RECHECK_SECONDS)


@router.websocket("/live")
async def live(socket: WebSocket) -> None:
    """Every event of the caller's workspace, as JSON text messages:
    ``{"type": "lead.created", "data": {"workspace_id": ..., "lead_id": ...}}``; events
    that arrived together (a burst) come as one message, a JSON array of them."""
    db: Database = socket.app.state.db
    hub = hub_of(socket.app)
    if not _same_origin(socket):
        await socket.close(code=FORBIDDEN_ORIGIN)
        return
    right = await _right_of(socket, db)
    if right is None or hub is None:
        if hub is not None and socket.cookies.get(SESSION_COOKIE):
            # A page whose session ended while it was away reconnects: a script sees no
            # refused handshake's status, only a close code after it, and then signs in.
            await socket.accept()
        await socket.close(code=UNAUTHORIZED)
        return
    await socket.accept()
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await _stream(socket, db, hub, right, _recheck_every(socket, hub))


async def _stream(socket: WebSocket, db: Database, hub: Hub, right: Right, every: float) -> None:
    """Sends the workspace's events until the client leaves or the right is gone. An event
    heard after a revocation of this right waits for the lookup, so that a revoked socket
    is closed before it is sent anything more."""
    loop = asyncio.get_running_loop()
    async with hub.subscribe(right.workspace_id) as queue, hub.watch(right.subject) as named:
        await socket.send_text(Event(right.workspace_id, "ready", {}).as_message())
        reader = asyncio.create_task(_until_closed(socket))
        getter: asyncio.Task[str] | None = None
        flagged = asyncio.create_task(named.wait())
        pending: list[str] = []
        checked_at = sent_at = loop.time()
        try:
            while not reader.done():
                if named.is_set() or loop.time() >= checked_at + every:
                    named.clear()
                    code = await _lost_or_unknown(db, right)
                    if code is not None:
                        await socket.close(code=code)
                        return
                    checked_at = loop.time()
                if pending:
                    await socket.send_text(_together(pending))
                    pending, sent_at = [], loop.time()
                elif loop.time() >= sent_at + PING_EVERY_SECONDS:
                    await socket.send_text('{"type":"ping"}')
                    sent_at = loop.time()
                getter = getter or asyncio.create_task(queue.get())
                if flagged.done():
                    flagged = asyncio.create_task(named.wait())
                wake_at = min(sent_at + PING_EVERY_SECONDS, checked_at + every)
                done, _ = await asyncio.wait(
                    {getter, reader, flagged},
                    timeout=max(0.0, wake_at - loop.time()),
                    return_when="FIRST_COMPLETED",
                )
                if getter in done:
                    pending, getter = [getter.result(), *_waiting(queue)], None
        finally:
            for task in (reader, getter, flagged):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task


def _waiting(queue: asyncio.Queue[str]) -> list[str]:
    """What else arrived meanwhile: a burst leaves in one message, not one task each."""
    found = []
    while not queue.empty():
        found.append(queue.get_nowait())
    return found


def _together(messages: list[str]) -> str:
    """One event as its message; several that waited together as a JSON array of them."""
    return messages[0] if len(messages) == 1 else "[" + ",".join(messages) + "]"


async def _lost_or_unknown(db: Database, right: Right) -> int | None:
    """``_lost``; when the database cannot say, the socket closes rather than go on
    unchecked, and the page's reconnect is checked at its handshake."""
    try:
        return await _lost(db, right)
    except Exception as exc:
        log.warning("could not look up a live socket's right: %s", exc)
        return TRY_AGAIN_LATER


async def _until_closed(socket: WebSocket) -> None:
    """Reads (and ignores) what the client sends, until it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await socket.receive_text()
