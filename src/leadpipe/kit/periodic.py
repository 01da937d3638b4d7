"""Background work a running server repeats: blocking work on a thread, until cancelled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger("leadpipe")


async def repeat_on_thread(every_seconds: float, work: Callable[[], object], *, what: str) -> None:
    """Run ``work`` on a thread every ``every_seconds`` until cancelled. A failure is logged
    and does not end the repeating: the next run retries."""
    while True:
        await asyncio.sleep(every_seconds)
        try:
            await asyncio.to_thread(work)
        except Exception:
            log.exception("could not %s", what)
