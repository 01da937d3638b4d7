"""PostgreSQL's LISTEN/NOTIFY as a message channel between workers: every worker listens
on one connection of its own, and a message sent by any reaches all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

import orjson
import psycopg

from leadpipe.storage.connect import normalize_url

# NOTIFY refuses payloads over 8000 bytes; the sender must keep under it.
MAX_PAYLOAD_BYTES = 7900
# The payloads go as one JSON array, one text parameter: as a text[] psycopg escaped each
# element in Python, a few percent of a worker's time at full intake (every batch sends
# its events). Prepared: PostgreSQL parses and plans it once per connection.
_SEND = "SELECT pg_notify(%s, p) FROM json_array_elements_text(%s::json) AS p"


def _conninfo(database_url: str) -> str:
    return normalize_url(database_url).set(drivername="postgresql").render_as_string(False)


class PostgresChannel:
    """One channel name; ``send`` and ``listen`` each hold their own connection."""

    def __init__(self, database_url: str, channel: str) -> None:
        self.conninfo = _conninfo(database_url)
        self.channel = channel
        self._sender: psycopg.AsyncConnection[object] | None = None

    async def send(self, payloads: Sequence[str]) -> None:
        """All ``payloads`` in one statement (one round trip)."""
        if self._sender is None or self._sender.closed:
            self._sender = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        try:
            await self._sender.execute(
                _SEND, (self.channel, orjson.dumps(list(payloads)).decode()), prepare=True
            )
        except psycopg.OperationalError:
            await self._sender.close()
            self._sender = None
            raise

    async def listen(self) -> AsyncIterator[str]:
        """The payloads sent on the channel from now on, until the connection fails."""
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(f'LISTEN "{self.channel}"')
            async for notice in conn.notifies():
                yield notice.payload

    async def close(self) -> None:
        if self._sender is not None:
            await self._sender.close()
            self._sender = None
