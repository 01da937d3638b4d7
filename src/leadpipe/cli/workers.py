"""Several worker processes, each listening on a socket of its own (Linux).

uvicorn's workers share one listening socket, and whichever worker wakes first accepts
every connection waiting: keep-alive connections opened together (a load balancer's
pool, a provider's burst, the intake benchmark's 32) went 31 to 1, and one worker did
nearly all the work while the other idled. With ``SO_REUSEPORT`` each worker listens on
its own socket and the kernel spreads new connections over them by address, so each
worker gets its share. uvicorn's supervisor still starts, watches and restarts them.
"""

from __future__ import annotations

import socket
import sys

from uvicorn import Config
from uvicorn.supervisors import multiprocess


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


class _WorkerWithOwnSocket(multiprocess.Process):
    """A uvicorn worker process that binds its own socket when it starts."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        del sockets  # the supervisor's: none
        super().target([listening_socket(self.config.host, self.config.port)])


def run_workers(config: Config) -> None:
    """Serve with ``config.workers`` processes, each on its own socket, until stopped."""
    # Bound, never listened on: fails here, clearly, if another program holds the port,
    # and keeps it ours while workers come and go. Only listening sockets get connections.
    try:
        reserved = listening_socket(config.host, config.port)
    except OSError as exc:
        raise SystemExit(f"Cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
    # The supervisor makes every worker, first ones and replacements, from this name.
    multiprocess.Process = _WorkerWithOwnSocket  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[]).run()
    finally:
        reserved.close()
