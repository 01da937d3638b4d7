"""Transactions: write serialisation on SQLite, pipelining, workspace scopes, commit
outcomes, and the Database that hands them out. Engines are made in ``storage/connect``."""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from leadpipe.config import Settings
from leadpipe.errors import ServiceUnavailable
from leadpipe.kit.logs import ThrottledWarning
from leadpipe.storage import aftercommit, fastexec
from leadpipe.storage.connect import make_engine, make_walking_engine
from leadpipe.storage.dialect import (
    has_one_writer,
    has_row_level_security,
    is_unavailable,
    keeps_a_log_to_checkpoint,
    pipelines_statements,
    reports_commit_outcomes,
    runs_in_process,
)

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("leadpipe.storage")

# The workspace an authenticated API request acts for. Set by authentication; transactions
# begun while it is set are bound to it on PostgreSQL (see migration 0003). Unset for
# webhook intake, the CLI and migrations, which act across workspaces by design.
workspace_scope: ContextVar[str | None] = ContextVar("workspace_scope", default=None)
_SET_WORKSPACE = text("SELECT set_config('app.workspace_id', :workspace_id, true)")


@contextmanager
def sent_together(conn: Connection) -> Iterator[None]:
    """Statements sent in this block leave together, when the block ends.

    In a pipeline psycopg sends each statement with a system call of its own, and on TCP
    each one wakes PostgreSQL to read it: for a batch's held-back writes, about ten
    wake-ups and context switches, with the GIL held through each call. Here the kernel
    holds them back (TCP_CORK) and sends them as one. Only for statements whose answers
    are read after the block: an answer awaited inside it would wait for the cork's
    200 ms timeout. A no-op outside a pipeline and on other sockets (Unix, SQLite).
    """
    sock = _corked_socket(conn)
    if sock is None:
        yield
        return
    with sock:
        try:
            yield
        finally:
            with suppress(OSError):  # a broken connection fails at its next use instead
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)


def _corked_socket(conn: Connection) -> socket.socket | None:
    """The pipelined PostgreSQL connection's TCP socket, corked; None if there is none."""
    pgconn = getattr(conn.connection.driver_connection, "pgconn", None)
    if pgconn is None or not pgconn.pipeline_status or not hasattr(socket, "TCP_CORK"):
        return None
    try:
        sock = socket.socket(fileno=os.dup(pgconn.socket))
    except OSError:
        return None
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    except OSError:  # not TCP: a Unix socket
        sock.close()
        return None
    return sock


# Seconds a client is asked to wait when the database cannot be reached: about what a
# PostgreSQL restart or failover takes.
RETRY_AFTER_UNAVAILABLE = 5


@contextmanager
def _unavailable_as_503(warn: Callable[[BaseException], None]) -> Iterator[None]:
    """A database that cannot be reached or is busy for now becomes ``ServiceUnavailable``
    (503 with ``Retry-After``), not an internal error with a traceback per request: the
    caller did nothing wrong and should retry."""
    try:
        yield
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        warn(exc)
        raise ServiceUnavailable(
            "The database is unavailable right now; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
        ) from exc


class CommitOutcomeUnknown(ServiceUnavailable):
    """The connection was lost while its COMMIT was on the way, and PostgreSQL could not
    say whether the transaction committed: doing its work again might do it twice."""


# Read before the COMMIT is sent, looked up after a lost connection (txid_status: PG 10+).
_CURRENT_XID = select(func.txid_current().label("xid"))
_OUTCOME_POLLS = 20  # of the transaction's status, 50 ms apart, while it is in progress


class _CommitProbe:
    """A PostgreSQL transaction's id, asked for at its start (pipelined with its first
    statements) and read before its COMMIT goes, so that the transaction can be looked up
    if the connection is lost with the COMMIT's answer. Nothing on SQLite, where a commit
    that fails has not happened."""

    def __init__(self, conn: Connection) -> None:
        self.xid: int | None = None
        self._pending = (
            fastexec.submit(conn, _CURRENT_XID, {}) if reports_commit_outcomes(conn) else None
        )

    def read(self) -> None:
        """In a pipeline, free when a statement after it has been answered; one round trip
        otherwise."""
        if self._pending is not None:
            self.xid = int(self._pending.result().scalar())


def _drain(pipeline: Any) -> None:
    """Collect what a failed pipeline still owes, so that the rollback can be sent; the
    failure being raised already says what went wrong."""
    with suppress(Exception):  # the statements queued behind the failure, aborted with it
        pipeline.sync()


class Database:
    """The engine plus the one way to run a transaction (the unit of work)."""

    def __init__(self, engine: Engine, threads: int = 8) -> None:
        self.engine = engine
        # A few threads overlap PostgreSQL round trips; dozens only fight over the GIL.
        self.threads = threads
        self.dialect = engine.dialect.name
        # SQLite has one writer; queueing writers of this process on a lock is cheaper and
        # fairer than letting them spin in SQLite's busy handler.
        self._write_lock = threading.Lock() if has_one_writer(self.dialect) else None
        self._limiter: anyio.CapacityLimiter | None = None
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._warn_unavailable = ThrottledWarning(log, "database unavailable", every=10.0)
        self._walking = make_walking_engine(engine) if runs_in_process(self.dialect) else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(make_engine(settings), threads=settings.database_threads)

    @contextmanager
    def transaction(self, *, write: bool = True, pipelined: bool = False) -> Iterator[Connection]:
        """Commit on success, roll back on any exception.

        ``pipelined`` (PostgreSQL; a no-op on SQLite) sends each statement without waiting
        for the one before, until a statement's rows are fetched: writes whose results
        nobody reads travel together with the COMMIT, in one round trip. A failing write
        then raises at the next fetch or at the commit, which rolls back all the same. Only
        for work done entirely through ``fastexec``, which fetches rows explicitly.
        """
        lock = self._write_lock if (write and self._write_lock is not None) else nullcontext()
        with aftercommit.collecting() as committed:
            yield from self._transaction(lock, write=write, pipelined=pipelined)
        aftercommit.run_all(committed)  # once committed, and outside the write lock

    def _transaction(
        self, lock: AbstractContextManager[Any], *, write: bool, pipelined: bool
    ) -> Iterator[Connection]:
        with _unavailable_as_503(self._warn_unavailable), lock, self.engine.connect() as conn:
            conn = conn.execution_options(leadpipe_write=write)
            # Entered before the transaction and left after it, so the COMMIT joins the
            # pipeline instead of waiting behind it.
            try:
                with self._pipeline(conn, pipelined) as pipeline, conn.begin():
                    scope = workspace_scope.get()
                    if scope is not None and has_row_level_security(self.dialect):
                        # Row-level security compares every row's workspace with this
                        # setting: a second line of defence behind the queries' own WHERE.
                        conn.execute(_SET_WORKSPACE, {"workspace_id": scope})
                    try:
                        yield conn
                    except BaseException:
                        if pipeline is not None:
                            _drain(pipeline)
                        fastexec.close_unread(conn)  # before the rollback, which they hold
                        raise
            finally:
                fastexec.close_unread(conn)

    def committed_work(self, work: Callable[[Connection], R], *, pipelined: bool = True) -> R:
        """``work(conn)`` in a write transaction (``pipelined``: see ``transaction``),
        committed; its result.

        When the connection is lost while the COMMIT is on the way, the commit may have
        happened or not; PostgreSQL is asked which, by the transaction's id. If it did,
        the result is returned as if nothing had gone wrong: doing the work again would do
        it twice (a second lead for every delivery of an intake batch). If it did not, the
        ``ServiceUnavailable`` is raised, and the work may be done again. If nobody can
        say, ``CommitOutcomeUnknown``."""
        probe: _CommitProbe | None = None
        result: R
        try:
            with self.transaction(pipelined=pipelined) as conn:
                probe = _CommitProbe(conn)
                result = work(conn)
                probe.read()  # the id is known only once the work is done
            return result
        except ServiceUnavailable as exc:
            if probe is None or probe.xid is None:
                raise  # the COMMIT was not sent (or, on SQLite, failed and did nothing)
            status = self._status_once_settled(probe.xid)
            log.warning("a transaction's commit was cut off; it had %s", status or "not said")
            if status == "committed":
                return result
            if status == "aborted":
                raise
            raise CommitOutcomeUnknown(exc.message, headers=exc.headers) from exc

    def _status_once_settled(self, xid: int) -> str | None:
        """'committed' or 'aborted'; None if PostgreSQL cannot be asked, or the transaction
        is still in progress after a second (its server process has not yet noticed that
        its client is gone)."""
        for _ in range(_OUTCOME_POLLS):
            try:
                with self._autocommit.connect() as conn:
                    status = conn.execute(select(func.txid_status(xid))).scalar()
            except DBAPIError:
                return None
            if status != "in progress":
                return str(status) if status in ("committed", "aborted") else None
            time.sleep(0.05)
        return None

    def _pipeline(self, conn: Connection, wanted: bool) -> AbstractContextManager[Any]:
        if not wanted or not pipelines_statements(self.dialect):
            return nullcontext()
        raw = conn.connection.driver_connection
        assert raw is not None
        pipeline: AbstractContextManager[Any] = raw.pipeline()
        return pipeline

    async def run(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run blocking database work from async code.

        PostgreSQL work goes to a small thread pool, where waiting on the network overlaps.
        SQLite work runs right here on the event loop: it never waits on a network, has one
        writer anyway, and worker threads fighting over the GIL and the write lock made
        every transaction several times slower.
        """
        if runs_in_process(self.dialect):
            return fn(*args, **kwargs)
        return await self._in_thread(fn, *args, **kwargs)

    async def _in_thread(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        if self._limiter is None:  # created lazily: it must belong to the running event loop
            self._limiter = anyio.CapacityLimiter(self.threads)
        return await anyio.to_thread.run_sync(
            functools.partial(fn, *args, **kwargs), limiter=self._limiter
        )

    async def read(self, fn: Callable[[Connection], R]) -> R:
        """``fn(conn)`` in a read-only transaction, from async code.

        Reads go to threads on SQLite too: WAL lets them run beside the writer, and sqlite3
        releases the GIL while a query runs, so a slow report does not hold up intake.
        """
        return await self._in_thread(self._in_transaction, fn, False)

    async def read_walking(self, fn: Callable[[Connection], R]) -> R:
        """``fn(conn)`` in a read-only transaction, from async code, for one step of a read
        that walks a whole workspace (a page of a CSV export).

        On SQLite on a connection of its own with a small page cache, closed when ``fn``
        returns: on a pooled connection the pages it read would stay in that connection's
        cache (up to 64 MiB) for as long as it lives, for each pooled connection a step
        passed through. PostgreSQL keeps its pages in its own processes: ``read``."""
        if self._walking is None:
            return await self.read(fn)
        return await self._in_thread(self._walk, self._walking, fn)

    def _walk(self, engine: Engine, fn: Callable[[Connection], R]) -> R:
        with (
            _unavailable_as_503(self._warn_unavailable),
            engine.connect() as conn,
            conn.execution_options(leadpipe_write=False).begin(),
        ):
            return fn(conn)

    async def lookup(self, fn: Callable[[Connection], R]) -> R:
        """``fn(conn)`` for one statement that reads a few rows by key (an API key), outside
        any workspace scope. On SQLite it runs right on the event loop, where it takes less
        time than the hop to a thread and back; on PostgreSQL without BEGIN, COMMIT and the
        workspace setting, three round trips a single statement does not need."""
        if runs_in_process(self.dialect):
            return self._in_transaction(fn, False)
        return await self._in_thread(self._without_transaction, fn)

    def _without_transaction(self, fn: Callable[[Connection], R]) -> R:
        with _unavailable_as_503(self._warn_unavailable), self._autocommit.connect() as conn:
            return fn(conn)

    async def write(self, fn: Callable[[Connection], R]) -> R:
        """``fn(conn)`` in a write transaction (committed when it returns), from async code.
        A commit whose answer is lost is looked up (``committed_work``): a client told to
        retry a create that had in fact committed would create a second."""
        return await self.run(self.committed_work, fn, pipelined=False)

    def _in_transaction(self, fn: Callable[[Connection], R], write: bool) -> R:
        with self.transaction(write=write) as conn:
            return fn(conn)

    def checkpoint(self) -> None:
        """SQLite: copy what the write-ahead log holds into the database file, neither
        waiting for writers nor blocking them (PASSIVE). Nothing to do on PostgreSQL."""
        if not keeps_a_log_to_checkpoint(self.dialect):
            return
        with self.engine.connect() as conn:
            # On the driver's connection: through SQLAlchemy it would begin a transaction.
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._walking is not None:
            self._walking.dispose()
