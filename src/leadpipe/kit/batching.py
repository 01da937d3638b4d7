"""Handle together the work that arrives together on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Hands the items submitted during one turn of the event loop to ``handle`` at once.

    ``handle`` runs on the event loop with up to ``max_batch`` items, in the order they were
    submitted, and returns one outcome per item: its result, or the exception its submitter
    gets. Under light load a batch holds one item and costs one turn of the loop; under
    heavy load batches grow by themselves, up to ``max_batch`` so that no batch holds the
    loop for long.
    """

    def __init__(
        self, handle: Callable[[list[T]], list[R | Exception]], *, max_batch: int = 32
    ) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._scheduled = False

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        self._schedule(loop)
        return await future

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush, loop)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        if self._pending:  # the rest after whatever else is waiting for the loop
            self._schedule(loop)
        try:
            outcomes = self._handle([item for item, _ in batch])
            if len(outcomes) != len(batch):  # never leave a submitter waiting forever
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
        except Exception as exc:  # the batch as a whole failed: so did each item in it
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.cancelled():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
