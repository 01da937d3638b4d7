"""How leadpipe is served: uvicorn's configuration, its HTTP protocol with a deadline for a
request's headers, and worker processes that get time to start. ``leadpipe serve`` and the
tests' real server are built by ``server_config``, so that the tests run what production
runs.

Kept light (uvicorn, the standard library and leadpipe's errors): a worker process imports
this module before it can answer its supervisor's first health check.
"""

from __future__ import annotations

import asyncio
import json
import pickle
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import multiprocess

from leadpipe.errors import RequestTimeout
from leadpipe.kit.ids import request_id

if TYPE_CHECKING:
    from leadpipe.config import Settings


class ServerConfig(Config):
    """uvicorn's configuration, with what leadpipe's protocol and workers read from it."""

    def __init__(
        self, app: Any, *, header_timeout: float, worker_startup_timeout: float, **options: Any
    ) -> None:
        super().__init__(app, http=HttpProtocol, **options)
        self.header_timeout = header_timeout
        self.worker_startup_timeout = worker_startup_timeout


def server_config(app: Any, settings: Settings, **options: Any) -> ServerConfig:
    """The server of ``app`` (an ASGI app, or an import string with ``factory=True``)."""
    return ServerConfig(
        app,
        header_timeout=settings.request_header_timeout_seconds,
        worker_startup_timeout=settings.worker_startup_timeout_seconds,
        **{
            "log_level": settings.log_level,
            "server_header": False,
            # X-Forwarded-For is believed only from LEADPIPE_TRUSTED_PROXIES (kit/net.py);
            # uvicorn's own handling would also believe it from any local process.
            "proxy_headers": False,
            # The live socket's messages are a few hundred bytes of JSON: compressing them
            # for each socket cost more CPU than any other part of sending them.
            "ws_per_message_deflate": False,
            **options,
        },
    )


def serve(config: ServerConfig, on_ready: Callable[[], None] | None = None) -> None:
    """Serve until stopped: in this process, or in ``config.workers`` processes.
    ``on_ready`` is called once the port accepts connections (the welcome banner: a curl
    pasted from it must find the server listening)."""
    if config.workers > 1:
        if on_ready is not None:
            _when_listening(config.host, config.port, on_ready)
        _run_workers(config)
        return
    server = AnnouncingServer(config, on_ready)
    server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)


class AnnouncingServer(Server):
    """uvicorn's server, which calls ``on_ready`` once it listens."""

    def __init__(self, config: Config, on_ready: Callable[[], None] | None) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit and self.on_ready is not None:
            self.on_ready()


def _when_listening(host: str, port: int, on_ready: Callable[[], None]) -> None:
    """Call ``on_ready`` from a thread once a worker accepts connections on the port: the
    supervisor does not hear when its workers listen. The port is only bound, never
    listened on, until a worker does (``_run_workers``)."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)

    def wait() -> None:
        while True:
            try:
                socket.create_connection((target, port), timeout=1).close()
            except OSError:
                time.sleep(0.1)
                continue
            on_ready()
            return

    threading.Thread(target=wait, name="leadpipe-ready", daemon=True).start()


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools, what it picks by itself), with a deadline
    for each request's headers: counted from the connection's opening for its first
    request, and from a request's first bytes for the next ones on a kept-alive connection
    (an idle one is closed quietly by uvicorn's keep-alive timeout). A client that misses
    it gets 408 and the connection is closed: a client trickling its headers holds a
    connection and its buffer, and uvicorn sets no limit of its own. The body's deadline is
    the app's (middleware.UploadLimits): it sees the request, and can answer in the
    envelope with the request's id."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout: float = getattr(config, "header_timeout", 10.0)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._awaiting_headers = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Armed after the bytes are parsed: headers that come whole (nearly all) cost no timer.
        if self._awaiting_headers and self._header_deadline is None:
            self._arm_header_deadline()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        if not self.transport.is_closing():
            self._header_deadline = self.loop.call_later(
                self.header_timeout, self._headers_too_slow
            )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # A pipelined request is late while an earlier one is being answered: the
            # answer is finished, not interleaved, and then the connection is closed.
            cycle.keep_alive = False
            return
        self.transport.write(_timeout_response(self.server_state.default_headers))
        self.transport.close()


def _timeout_response(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """408 in the envelope, for a request the app never saw (so with an id of its own)."""
    rid = request_id()
    refusal = RequestTimeout("The request's headers were not received in time")
    body = json.dumps(refusal.body(rid)).encode()
    headers = [
        *default_headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"x-request-id", rid.encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
    return STATUS_LINE[408] + head + b"\r\n" + body


# Several workers.
#
# uvicorn's workers share one listening socket, and whichever worker wakes first accepts
# every connection waiting: keep-alive connections opened together (a load balancer's
# pool, a provider's burst, the intake benchmark's 32) went 31 to 1, and one worker did
# nearly all the work while the other idled. With ``SO_REUSEPORT`` (Linux) each worker
# listens on its own socket and the kernel spreads new connections over them by address.
# uvicorn's supervisor still starts, watches and restarts them.


class Worker(multiprocess.Process):
    """A uvicorn worker process that has ``worker_startup_timeout`` seconds to answer its
    supervisor's first health check, and uvicorn's 5 seconds for every later one.

    uvicorn pings each worker every half second and kills one that does not answer within
    5 s. A worker answers from a thread of its own, but only once its interpreter has
    started and unpickled it: on a machine whose cores other workers keep busy, that took
    longer than 5 s, and the supervisor killed each replacement while it started, over and
    over (19 times in a row under load), so a worker lost was never replaced."""

    def __init__(self, config: Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self.startup_timeout: float = getattr(config, "worker_startup_timeout", 60.0)
        self._started_at = 0.0
        self._pinged = False
        self._answered = False

    def start(self) -> None:
        self._started_at = time.monotonic()
        super().start()

    def is_alive(self, timeout: float = 5) -> bool:
        if not self.process.is_alive():
            return False
        if self._answered:
            return self.ping(timeout)
        return self._starting_in_time()

    def _starting_in_time(self) -> bool:
        """Whether the worker has answered its first ping, or may still: one ping is sent,
        and its answer looked for without waiting, so other workers are watched meanwhile."""
        try:
            if not self._pinged:
                self.parent_conn.send(b"ping")
                self._pinged = True
            if self.parent_conn.poll(0):
                self.parent_conn.recv()
                self._answered = True
                return True
        except (OSError, EOFError, pickle.UnpicklingError):
            return False
        return time.monotonic() - self._started_at < self.startup_timeout

    def join(self) -> None:
        super().join()
        from leadpipe.observability.metrics import forget_process  # not in a worker's start

        forget_process(self.pid)

    def wait_until_ready(self, timeout: float, should_exit: Any = None) -> bool:
        # A restart (SIGHUP) waits for each replacement as long as a start may take.
        ready = super().wait_until_ready(max(timeout, self.startup_timeout), should_exit)
        self._answered = self._answered or ready
        return ready


class WorkerWithOwnSocket(Worker):
    """A worker that binds a socket of its own when it starts."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        del sockets  # the supervisor's: none
        super().target([listening_socket(self.config.host, self.config.port)])


def spreads_connections() -> bool:
    """Whether the kernel balances connections over sockets sharing a port (Linux); on
    other systems several workers share one socket, as uvicorn has them."""
    return sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` that other sockets of this user may bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _run_workers(config: Config) -> None:
    """Serve with ``config.workers`` processes until stopped."""
    if not spreads_connections():
        multiprocess.Process = Worker  # type: ignore[misc]
        multiprocess.Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    # Bound, never listened on: fails here, clearly, if another program holds the port,
    # and keeps it ours while workers come and go. Only listening sockets get connections.
    try:
        reserved = listening_socket(config.host, config.port)
    except OSError as exc:
        raise SystemExit(f"Cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    # The supervisor makes every worker, first ones and replacements, from this name.
    multiprocess.Process = WorkerWithOwnSocket  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[]).run()
    finally:
        reserved.close()
