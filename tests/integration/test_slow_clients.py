"""Clients that send slowly, against a real uvicorn server over real sockets: a request's
headers and its body each have a deadline (408, and the connection is closed), bodies that
trickle in take a bounded number of slots (503 past them), and meanwhile everyone else is
served at once."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlsplit

import httpx
import pytest

from leadpipe.config import Settings
from leadpipe.storage.engine import Database
from tests.conftest import Tenant, serving
from tests.integration.helpers import inbound_log


@contextmanager
def served(settings: Settings, db: Database, **limits: float) -> Iterator[tuple[str, int]]:
    """The app on a real server with ``limits`` (small, for the test); its host and port."""
    for name, value in limits.items():
        setattr(settings, name, value)
    with serving(settings, db) as base:
        parts = urlsplit(base)
        assert parts.hostname is not None
        assert parts.port is not None
        address = (parts.hostname, parts.port)
        _served_at_once(address)  # the first request warms the app up
        yield address


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _split(response: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, json.loads(body)


def _served_at_once(address: tuple[str, int]) -> float:
    """Seconds a normal client waits for /health on a new connection."""
    started = time.monotonic()
    with _connect(address) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, _, _ = _split(_read_until_closed(sock))
    assert status == 200
    return time.monotonic() - started


class Trickle:
    """A client that sends ``head`` at once, then ``body`` a byte at a time, every
    ``interval`` seconds, on its own thread; what the server answered."""

    def __init__(self, address: tuple[str, int], head: bytes, body: bytes, interval: float):
        self.sock = _connect(address)
        self.head, self.body, self.interval = head, body, interval
        self.answer = b""
        self.answered_after = 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Trickle:
        self._thread.start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        self.sock.sendall(self.head)
        self.sock.settimeout(self.interval)
        for byte in self.body:
            try:
                self.sock.sendall(bytes([byte]))
            except OSError:  # the server answered and closed
                break
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            self.answer += chunk
            break
        self.sock.settimeout(10)
        with suppress(OSError):
            self.answer += _read_until_closed(self.sock)
        self.answered_after = time.monotonic() - started
        self.sock.close()

    def join(self) -> None:
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the server never answered the trickling client"


def _delivery_head(tenant: Tenant, host: str, length: int) -> bytes:
    return (
        f"POST {tenant.url} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


JSON = {"Content-Type": "application/json"}
BODY = json.dumps({"phone": "5550100001", "product": "Solar", "notes": "x" * 200}).encode()


def test_headers_sent_too_slowly_get_408_and_the_connection_is_closed(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    with served(settings, db, request_header_timeout_seconds=1.0) as address:
        stalled = _connect(address)
        started = time.monotonic()
        stalled.sendall(f"POST {tenant.url} HTTP/1.1\r\nHost: x\r\nContent-Ty".encode())
        assert _served_at_once(address) < 0.5  # meanwhile, another client is served
        answer = _read_until_closed(stalled)  # returns once the server closes
        waited = time.monotonic() - started
        stalled.close()

    status, headers, body = _split(answer)
    assert status == 408
    assert headers["connection"] == "close"
    assert body["code"] == "REQUEST_TIMEOUT"
    assert body["success"] is False
    assert headers["x-request-id"] == body["request_id"]
    assert 0.9 < waited < 3
    assert inbound_log(db, tenant.webhook_id) == []  # nothing reached the app


def test_headers_trickled_a_byte_at_a_time_do_not_extend_their_deadline(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    head = f"GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: {'a' * 200}\r\n\r\n".encode()
    with served(settings, db, request_header_timeout_seconds=1.0) as address:
        client = Trickle(address, b"", head, interval=0.1).start()
        client.join()

    status, _, body = _split(client.answer)
    assert status == 408
    assert body["code"] == "REQUEST_TIMEOUT"
    assert client.answered_after < 3


def test_a_body_trickled_too_slowly_gets_408_is_closed_and_logged(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    with served(settings, db, request_body_timeout_seconds=1.0) as address:
        client = Trickle(address, _delivery_head(tenant, "x", len(BODY)), BODY, 0.1).start()
        time.sleep(0.3)
        assert _served_at_once(address) < 0.5  # meanwhile, another client is served
        client.join()

    status, headers, body = _split(client.answer)
    assert status == 408
    assert headers["connection"] == "close"
    assert body["code"] == "REQUEST_TIMEOUT"
    assert 0.9 < client.answered_after < 3
    (logged,) = inbound_log(db, tenant.webhook_id)  # refused, and kept to be seen
    assert logged["status"] == "error"
    assert logged["error_code"] == "REQUEST_TIMEOUT"


def test_a_body_that_keeps_coming_is_received(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    """A slow client within its deadline is served as usual, and may keep its connection."""
    with served(settings, db, request_body_timeout_seconds=5.0) as address:
        sock = _connect(address)
        sock.sendall(_delivery_head(tenant, "x", len(BODY)))
        for start in range(0, len(BODY), 40):
            sock.sendall(BODY[start : start + 40])
            time.sleep(0.05)
        answer = sock.recv(65536)
        sock.close()

    status, headers, body = _split(answer)
    assert status == 200, body
    assert headers.get("connection") != "close"


def test_slow_uploads_beyond_the_cap_get_503_and_do_not_stop_other_clients(
    settings: Settings, db: Database, tenant: Tenant
) -> None:
    with served(
        settings, db, max_concurrent_uploads=2, request_body_timeout_seconds=4.0
    ) as address:
        base = f"http://{address[0]}:{address[1]}"
        head = _delivery_head(tenant, "x", len(BODY))
        # Each sends its headers and a first piece at once: it is then known to trickle.
        uploads = [Trickle(address, head + BODY[:10], BODY[10:], 0.2).start() for _ in range(4)]
        time.sleep(0.2)
        assert _served_at_once(address) < 0.5
        whole = httpx.post(f"{base}{tenant.url}", content=BODY, headers=JSON, timeout=5)
        assert whole.status_code == 200, whole.text  # a body that came whole takes no slot
        for upload in uploads:
            upload.join()

    answers = [(_split(u.answer), u.answered_after) for u in uploads]
    busy = [(a, after) for a, after in answers if a[0] == 503]
    late = [(a, after) for a, after in answers if a[0] == 408]
    assert len(busy) == 2, answers
    assert len(late) == 2, answers  # the two in the slots ran out of time
    for (_, headers, body), after in busy:
        assert body["code"] == "SERVICE_UNAVAILABLE"
        assert headers["retry-after"] == "1"
        assert headers["connection"] == "close"
        assert 0.9 < after < 2.5  # waited briefly for a slot
    logged = inbound_log(db, tenant.webhook_id)
    refused = sorted(row["error_code"] for row in logged if row["status"] == "error")
    assert refused == ["REQUEST_TIMEOUT"] * 2 + ["SERVICE_UNAVAILABLE"] * 2


def test_a_kept_alive_connection_may_idle_but_its_next_headers_have_the_deadline(
    settings: Settings, db: Database
) -> None:
    """Between requests the clock does not run (uvicorn's keep-alive timeout closes an idle
    connection quietly); it starts with the next request's first bytes."""
    request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    with served(settings, db, request_header_timeout_seconds=1.0) as address:
        sock = _connect(address)
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        time.sleep(1.5)  # idle past the header deadline, within keep-alive's 5 s
        sock.sendall(request)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        sock.sendall(b"GET /health HTTP/1.1\r\nHo")
        answer = _read_until_closed(sock)
        waited = time.monotonic() - started
        sock.close()

    status, _, body = _split(answer)
    assert status == 408
    assert body["code"] == "REQUEST_TIMEOUT"
    assert 0.9 < waited < 3


def test_a_client_that_leaves_mid_body_is_not_logged_as_a_failure(
    settings: Settings, db: Database, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    """A sender that gives up halfway (a timeout on its side, a lost network) leaves nothing
    behind: no lead, no "unhandled error" with a traceback in the log, and the server
    answers the next client as usual."""
    with served(settings, db, request_body_timeout_seconds=5.0) as address:
        sock = _connect(address)
        sock.sendall(_delivery_head(tenant, "x", len(BODY)) + BODY[: len(BODY) // 2])
        time.sleep(0.2)
        sock.close()
        time.sleep(0.3)
        assert _served_at_once(address) < 0.5

    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []
    assert inbound_log(db, tenant.webhook_id) == []
