"""Fan-out of live events to the sockets of every worker.

Writers publish after their transaction has committed (never before: a rolled-back
change is never announced). The hub hands events to a channel that reaches every worker
(PostgreSQL LISTEN/NOTIFY, or Redis pub/sub when Redis is configured; with one embedded
worker, the process itself) and each worker delivers what arrives to its own subscribers.
Publishing never waits: events queue in memory and leave in batches.

Revocations travel the same way, behind the events committed before them, and go to the
sockets' watchers instead of their queues: a socket told that its right may be gone
looks it up again before it sends anything more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import orjson

from leadpipe.config import Settings
from leadpipe.realtime.events import Event, Revocation
from leadpipe.storage.connect import normalize_url
from leadpipe.storage.dialect import carries_notifications
from leadpipe.storage.identity import installation_id

log = logging.getLogger("leadpipe.realtime")

CHANNEL = "leadpipe_events"
SUBSCRIBER_BUFFER = 500  # events a slow socket may fall behind by before it loses some
RECONNECT_AFTER_SECONDS = 1.0


class Channel(Protocol):
    async def send(self, payloads: Sequence[str]) -> None: ...
    def listen(self) -> AsyncIterator[str]: ...
    async def close(self) -> None: ...


class InProcessChannel:
    """One process: what is sent is heard at once, by this process only."""

    def __init__(self) -> None:
        self._heard: asyncio.Queue[str] = asyncio.Queue()

    async def send(self, payloads: Sequence[str]) -> None:
        for payload in payloads:
            self._heard.put_nowait(payload)

    async def listen(self) -> AsyncIterator[str]:
        while True:
            yield await self._heard.get()

    async def close(self) -> None:
        return None


class RedisChannel:
    def __init__(self, url: str, channel: str) -> None:
        import redis.asyncio as redis  # only when configured

        self._redis = redis.from_url(url)
        self.channel = channel

    async def send(self, payloads: Sequence[str]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.publish(self.channel, payload)
            await pipe.execute()

    async def listen(self) -> AsyncIterator[str]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    data = message["data"]
                    yield data.decode() if isinstance(data, bytes) else str(data)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call, unused-ignore]

    async def close(self) -> None:
        await self._redis.aclose()


def channel_for(settings: Settings, dialect: str) -> Channel:
    """Redis when configured; else PostgreSQL's own when the database is PostgreSQL; else
    the process (the embedded SQLite server runs one worker)."""
    if settings.redis_url:
        # Named after the installation: installations that share a Redis never hear each other.
        return RedisChannel(settings.redis_url, f"{CHANNEL}:{installation_id(settings)}")
    if carries_notifications(dialect):
        from leadpipe.storage.notify import PostgresChannel

        return PostgresChannel(settings.database_url, CHANNEL)
    return InProcessChannel()


def announce(settings: Settings, news: Iterable[Event | Revocation]) -> None:
    """Publish from a process that runs no hub (an admin command), after its commit; a
    failure is only logged, since the sockets check their rights periodically anyway.
    The embedded SQLite server's channel is its own process, which nothing else reaches:
    its sockets find out at their next periodic check."""
    payloads = [item.encode() for item in news]
    dialect = normalize_url(settings.database_url).get_backend_name()
    channel = channel_for(settings, dialect)
    if not payloads or isinstance(channel, InProcessChannel):
        return

    async def send() -> None:
        try:
            await channel.send(payloads)
        finally:
            await channel.close()

    try:
        asyncio.run(send())
    except Exception as exc:
        log.warning("could not announce %d live changes: %s", len(payloads), exc)


class Hub:
    """This worker's end of the channel: publishes, and delivers what it hears to the
    subscribers of each workspace, and revocations to the watchers of each right."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        # Each socket's queue holds the messages it is to be sent, encoded once per event
        # for all the sockets of its workspace.
        self._subscribers: dict[str, set[asyncio.Queue[str]]] = {}
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._heard: dict[str, int] = {}  # events heard per workspace, for caches to key on
        self._outgoing: asyncio.Queue[list[Event | Revocation]] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._outgoing = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._send_forever()),
            asyncio.create_task(self._listen_forever()),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.channel.close()

    @property
    def reaches_other_processes(self) -> bool:
        """Whether what another process (an admin command) announces is heard here."""
        return not isinstance(self.channel, InProcessChannel)

    def publish(self, events: Iterable[Event | Revocation]) -> None:
        """Queue committed changes for every worker's watchers; from any thread, at once."""
        batch = list(events)
        if not batch or self._loop is None or self._outgoing is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._outgoing.put_nowait(batch)
        else:
            self._loop.call_soon_threadsafe(self._outgoing.put_nowait, batch)

    @asynccontextmanager
    async def subscribe(self, workspace_id: str) -> AsyncIterator[asyncio.Queue[str]]:
        queue: asyncio.Queue[str] = asyncio.Queue(SUBSCRIBER_BUFFER)
        self._subscribers.setdefault(workspace_id, set()).add(queue)
        try:
            yield queue
        finally:
            watchers = self._subscribers.get(workspace_id)
            if watchers is not None:
                watchers.discard(queue)
                if not watchers:
                    del self._subscribers[workspace_id]

    @asynccontextmanager
    async def watch(self, subject: str) -> AsyncIterator[asyncio.Event]:
        """Set whenever a revocation names ``subject`` (or revocations may have been
        missed); the watcher clears it when it has looked its right up again."""
        flag = asyncio.Event()
        self._watchers.setdefault(subject, set()).add(flag)
        try:
            yield flag
        finally:
            flags = self._watchers.get(subject)
            if flags is not None:
                flags.discard(flag)
                if not flags:
                    del self._watchers[subject]

    def _recheck(self, subject: str | None) -> None:
        """Flag the watchers of ``subject``; of every subject when None."""
        chosen = self._watchers.values() if subject is None else [self._watchers.get(subject, ())]
        for flags in chosen:
            for flag in flags:
                flag.set()

    def changes_heard(self, workspace_id: str) -> int:
        """How many events of the workspace this worker has heard: a value computed after
        the n-th stays true until the next one (a cache's key)."""
        return self._heard.get(workspace_id, 0)

    def _deliver(self, event: Event) -> None:
        self._heard[event.workspace_id] = self._heard.get(event.workspace_id, 0) + 1
        queues = self._subscribers.get(event.workspace_id)
        if not queues:
            return
        message = event.as_message()
        for queue in queues:
            if queue.full():  # a socket that stopped reading loses its oldest events
                queue.get_nowait()
            queue.put_nowait(message)

    async def _send_forever(self) -> None:
        assert self._outgoing is not None
        while True:
            batch = await self._outgoing.get()
            while not self._outgoing.empty():  # all that waits leaves together
                batch += self._outgoing.get_nowait()
            payloads = [e.encode() for e in batch]
            try:
                await self.channel.send(payloads)
            except Exception as exc:  # live updates are a convenience: never fail a write
                log.warning("could not publish %d live events: %s", len(payloads), exc)

    async def _listen_forever(self) -> None:
        while True:
            try:
                async for payload in self.channel.listen():
                    self._deliver_payload(payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("live events channel lost (%s); reconnecting", exc)
                # What was revoked meanwhile was not heard: every socket looks again.
                self._recheck(None)
                await asyncio.sleep(RECONNECT_AFTER_SECONDS)

    def _deliver_payload(self, payload: str) -> None:
        try:
            parsed = orjson.loads(payload)
            if "revoked" in parsed:
                self._recheck(str(parsed["revoked"]))
                return
            event = Event(parsed["workspace_id"], parsed["type"], parsed["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed live event")
            return
        self._deliver(event)


def publish(app: Any, news: Iterable[Event | Revocation]) -> None:
    """Tell the watchers of the events' workspaces what a committed write changed, through
    the app's hub (none in an app made without its lifespan, as some tests do)."""
    hub: Hub | None = getattr(app.state, "hub", None)
    if hub is not None:
        hub.publish(news)
