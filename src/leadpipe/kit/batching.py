"""Handle together the work that arrives together on the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Turn:
    """A batch's hold on its Batcher. ``pass_on()`` lets the next batch start before this
    one is done: for a handler whose remaining work is only waiting (for a commit, say).
    It may be called from any thread, and more than once."""

    __slots__ = ("_loop", "_release")

    def __init__(self, loop: asyncio.AbstractEventLoop, release: Callable[[], None]) -> None:
        self._loop = loop
        self._release = release

    def pass_on(self) -> None:
        self._loop.call_soon_threadsafe(self._release)


class Batcher(Generic[T, R]):
    """Hands submitted items to ``handle`` in batches, in the order they were submitted.

    A batch starts on the event loop's next turn with what was submitted by then, up to
    ``max_batch`` items, and ``handle`` returns one outcome per item: its result, or the
    exception its submitter gets. One batch is handled at a time, unless its handler
    passes its turn on (``Turn.pass_on``); then the next batch may start beside it, up to
    ``max_in_flight`` at once. Items submitted meanwhile wait for the next batch. Under
    light load a batch holds one item and costs one turn of the loop; under heavy load
    batches grow by themselves. (Two batches at a time per worker on PostgreSQL, from
    their start, made smaller batches and fought over the GIL: 10-20% less throughput on
    the 2-core machine. Starting the next while the last one waits for its commit did
    better: see ``IntakeLine``.)
    """

    def __init__(
        self,
        handle: Callable[[list[T], Turn], Awaitable[list[R | Exception]]],
        *,
        max_batch: int = 32,
        max_in_flight: int = 2,
    ) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._holding = False  # a batch runs that has not passed its turn on
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()  # held so they are not collected

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        self._schedule(loop)
        return await future

    def _may_start(self) -> bool:
        return bool(self._pending) and not self._holding and self._in_flight < self._max_in_flight

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._scheduled and self._may_start():
            self._scheduled = True
            loop.call_soon(self._start, loop)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scheduled = False
        if not self._may_start():
            return
        batch = self._pending[: self._max_batch]
        del self._pending[: self._max_batch]
        self._holding = True
        self._in_flight += 1
        task = loop.create_task(self._run(batch, loop))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(
        self, batch: list[tuple[T, asyncio.Future[R]]], loop: asyncio.AbstractEventLoop
    ) -> None:
        holding = True

        def release() -> None:
            nonlocal holding
            if holding:
                holding = False
                self._holding = False
                self._schedule(loop)  # what arrived meanwhile

        try:
            outcomes = await self._handle([item for item, _ in batch], Turn(loop, release))
            if len(outcomes) != len(batch):  # never leave a submitter waiting forever
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} items")
        except Exception as exc:  # the batch as a whole failed: so did each item in it
            outcomes = [exc] * len(batch)
        finally:
            self._in_flight -= 1
            release()
            self._schedule(loop)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.cancelled():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
