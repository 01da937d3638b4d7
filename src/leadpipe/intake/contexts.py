"""What each webhook is set to, as this process last read it.

A batch checks its deliveries against the settings in memory while the database's current
ones travel with the contact lookup, in the same round trip; if the two differ, the batch
starts over with the current ones (``BatchContexts.confirm``), so a change applies to the
very next delivery. The memory belongs to the running app (``IntakeLine``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from leadpipe.observability.metrics import count_settings_read
from leadpipe.webhooks.repository import WebhookContext, WebhookRepository

# Webhook contexts kept in memory per process (a few KB each); beyond that, forgotten.
MAX_KNOWN_CONTEXTS = 10_000


class WebhookContexts:
    """The webhooks' settings as this process last read them."""

    def __init__(self, limit: int = MAX_KNOWN_CONTEXTS) -> None:
        self._known: dict[str, WebhookContext] = {}
        self._limit = limit

    def get(self, webhook_id: str) -> WebhookContext | None:
        return self._known.get(webhook_id)

    def remember(self, webhook_id: str, ctx: WebhookContext | None) -> None:
        if ctx is None:  # unknown webhooks are not kept: anyone can make up their ids
            self._known.pop(webhook_id, None)
            return
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[webhook_id] = ctx

    def for_batch(self, conn: Connection) -> BatchContexts:
        return BatchContexts(self, conn)


class BatchContexts:
    """The settings one batch works with: each webhook's read once per batch, from memory
    (to be confirmed) or from the database when this process has not seen it yet."""

    def __init__(self, known: WebhookContexts, conn: Connection) -> None:
        self._known = known
        self._webhooks = WebhookRepository(conn)
        self._used: dict[str, WebhookContext | None] = {}
        # Webhooks taken from memory, and their reads from the database, on their way.
        self._unconfirmed: dict[str, Callable[[], WebhookContext | None]] = {}

    def get(self, webhook_id: str) -> WebhookContext | None:
        if webhook_id not in self._used:
            self._used[webhook_id] = self._first_read(webhook_id)
        return self._used[webhook_id]

    def _first_read(self, webhook_id: str) -> WebhookContext | None:
        known = self._known.get(webhook_id)
        count_settings_read(from_memory=known is not None)
        if known is not None:
            self._unconfirmed[webhook_id] = self._webhooks.context_later(webhook_id)
            return known
        ctx = self._webhooks.context(webhook_id)
        self._known.remember(webhook_id, ctx)
        return ctx

    def confirm(self) -> bool:
        """Whether the settings taken from memory are still current. If not, the batch now
        holds the current ones and must be read again."""
        current = True
        for webhook_id, read in self._unconfirmed.items():
            ctx = read()
            self._known.remember(webhook_id, ctx)
            if ctx != self._used[webhook_id]:
                self._used[webhook_id] = ctx
                current = False
        self._unconfirmed.clear()
        return current
