"""A transaction as repositories see it: the one object through which they run
statements, hold writes to the end, and lock a workspace's writers.

The fast execution path (``fastexec``) and the write-behind stay behind it, inside
``storage/``: a repository says what to run, and whether it may wait for the end; how
it is sent is decided here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import ClauseElement

from leadpipe.storage import fastexec
from leadpipe.storage.dialect import serializes_writers_with_locks
from leadpipe.storage.writebehind import WriteBehind

# PostgreSQL keeps lead_counts by triggers, one statement at a time, each locking its
# counter rows in key order. A transaction that writes leads in several statements
# (intake's batches), or in one while holding other locks (API requests), could still
# deadlock with another over those rows; such writers take this lock on their workspace
# first: intake just before its held-back writes and the COMMIT go out together, the API
# when a change touches a counted column (``LeadRepository.update_counted``).


_LOCK_WORKSPACE_WRITERS = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('leadpipe.lead_counts:' || :workspace_id, 0))"
)


class Work:
    """One transaction's statements. ``holding_writes()`` gives the same transaction with
    its plain writes held back and sent together at the end (``flush``): intake's batches
    do that, so that the writes leave with the COMMIT in one round trip."""

    __slots__ = ("_later", "conn")

    def __init__(self, conn: Connection, later: WriteBehind | None = None) -> None:
        self.conn = conn
        self._later = later

    @classmethod
    def of(cls, conn: Connection | Work) -> Work:
        return conn if isinstance(conn, Work) else cls(conn)

    @classmethod
    def holding_writes(cls, conn: Connection) -> Work:
        return cls(conn, WriteBehind(conn))

    @property
    def holds_writes(self) -> bool:
        """Whether plain writes wait for ``flush`` (intake's batches) or go out at once."""
        return self._later is not None

    def run(self, stmt: ClauseElement, params: dict[str, Any]) -> fastexec.Rows:
        """Run a hot statement through the fast path, now, and return its rows."""
        return fastexec.execute(self.conn, stmt, params)

    def send(self, stmt: ClauseElement, params: dict[str, Any]) -> fastexec.Pending:
        """Send a statement now and read its rows when asked: in a pipelined transaction,
        statements sent in between share its round trip."""
        return fastexec.submit(self.conn, stmt, params)

    def write(self, stmt: UpdateBase, params: dict[str, Any]) -> None:
        """A write nothing in the transaction reads back: held to the end when writes are
        held, run now otherwise."""
        if self._later is None:
            fastexec.execute(self.conn, stmt, params)
        else:
            self._later.add(stmt, params)

    def write_many(self, stmt: UpdateBase, rows: Sequence[dict[str, Any]]) -> None:
        if self._later is None:
            fastexec.execute_many(self.conn, stmt, rows)
        else:
            self._later.add_many(stmt, rows)

    def flush(self) -> None:
        """Send the writes held back, parents before children."""
        if self._later is not None:
            self._later.flush()

    def lock_workspace_writers(self, workspace_id: str) -> None:
        """Take turns with the other writers of this workspace's leads until the end of
        the transaction, where writers can run concurrently (PostgreSQL). Its answer is
        not read: in a pipeline the server waits, with no round trip."""
        if serializes_writers_with_locks(self.conn):
            fastexec.submit(self.conn, _LOCK_WORKSPACE_WRITERS, {"workspace_id": workspace_id})
