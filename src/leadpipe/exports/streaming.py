"""How many exports a workspace runs at once, the streamed answer that counts one until it
has ended, however it ends, and the pages an export reads its rows in."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection
from starlette.types import Receive, Scope, Send

from leadpipe.deps import settings_of
from leadpipe.errors import RateLimited
from leadpipe.kit.memory import give_back_freed_memory
from leadpipe.kit.slots import Slots
from leadpipe.storage.engine import Database

# Seconds a refused export is asked to wait: a big export takes about this long.
RETRY_EXPORT_AFTER = 30
R = TypeVar("R")
# Rows read per page, each page in a transaction of its own.
EXPORT_PAGE = 1000


def _running(request: Request) -> Slots:
    """This worker's running exports (on the app: a test's app starts with none)."""
    state = request.app.state
    if not hasattr(state, "running_exports"):
        state.running_exports = Slots()
    slots: Slots = state.running_exports
    return slots


def start_export(request: Request, workspace_id: str) -> Slots:
    """Counts an export of the workspace as running; ``RateLimited`` (429) when it runs
    ``max_concurrent_exports`` already. Each one reads the workspace whole, page by page;
    their number bounds what they hold of the worker's memory and database."""
    limit = settings_of(request).max_concurrent_exports
    running = _running(request)
    if not running.take(workspace_id, limit):
        raise RateLimited(
            f"This workspace is running {limit} exports already, the most it may run at "
            "once; download this one when one of them has finished.",
            headers={"Retry-After": str(RETRY_EXPORT_AFTER)},
        )
    return running


class ExportResponse(StreamingResponse):
    """A started export's lines, streamed; it stops counting as running when it has ended:
    sent whole, failed, or cut off by the client (whose lines are then closed at once,
    not left to the garbage collector)."""

    def __init__(
        self,
        lines: AsyncGenerator[str, None],
        *,
        running: Slots,
        workspace_id: str,
        headers: Mapping[str, str],
        media_type: str = "text/csv; charset=utf-8",
    ) -> None:
        super().__init__(lines, media_type=media_type, headers=headers)
        self._lines = lines
        self._running = running
        self._workspace_id = workspace_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._running.give_back(self._workspace_id)
            with anyio.CancelScope(shield=True):  # a cut-off request is being cancelled
                await self._lines.aclose()
                await anyio.to_thread.run_sync(give_back_freed_memory)


async def pages(
    db: Database,
    ids: Sequence[uuid.UUID],
    read_page: Callable[[list[uuid.UUID], Connection], R],
) -> AsyncGenerator[R, None]:
    """``read_page`` of ``ids`` (found in one pass beforehand: pages by offset would each
    pass over every row before theirs again, and could repeat or skip a row that arrives
    or leaves meanwhile), ``EXPORT_PAGE`` at a time, a page per transaction: a slow
    download holds no connection."""
    for start in range(0, len(ids), EXPORT_PAGE):
        page = list(ids[start : start + EXPORT_PAGE])
        yield await db.read_walking(functools.partial(read_page, page))
