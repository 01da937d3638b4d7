"""Work done once the current transaction has committed, and never if it rolls back: the
counters and log lines that tell what a transaction did (observability) must not count a
change that was undone."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

log = logging.getLogger("leadpipe.storage")

G = TypeVar("G", bound=Callable[[], None])


class Pending:
    """What one transaction leaves to do after its commit, in order."""

    __slots__ = ("gathered", "works")

    def __init__(self) -> None:
        self.works: list[Callable[[], None]] = []
        self.gathered: dict[Callable[[], Any], Any] = {}


_pending: ContextVar[Pending | None] = ContextVar("leadpipe_after_commit", default=None)


def after_commit(work: Callable[[], None]) -> None:
    """Run ``work`` when the current transaction commits (``Database.transaction``);
    dropped if it rolls back. Outside a transaction, nothing was written to wait for."""
    pending = _pending.get()
    if pending is not None:
        pending.works.append(work)


def gathered(kind: Callable[[], G]) -> G | None:
    """The one ``kind()`` of the current transaction, run after its commit: what many
    writes of one transaction add to, done once for all of them (None outside one)."""
    pending = _pending.get()
    if pending is None:
        return None
    found: G | None = pending.gathered.get(kind)
    if found is None:
        found = pending.gathered[kind] = kind()
        pending.works.append(found)
    return found


@contextmanager
def collecting() -> Iterator[Pending]:
    """What the transaction opened here asks to be done after its commit."""
    pending = Pending()
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


def run_all(pending: Pending) -> None:
    """Do what a committed transaction left; a failure is logged, never raised: the
    transaction's work is done and its caller must hear so."""
    for work in pending.works:
        try:
            work()
        except Exception:
            log.exception("after-commit work failed")
