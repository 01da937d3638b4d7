"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers bodies and costs a task)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import types
from collections.abc import Generator
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpipe.errors import (
    LeadpipeError,
    PayloadTooLarge,
    RequestTimeout,
    ServiceUnavailable,
    ValidationFailed,
    field_error,
)
from leadpipe.exception_handlers import error_response, unexpected_error
from leadpipe.kit.ids import request_id
from leadpipe.kit.jsonvalues import NUL_MESSAGE, printable
from leadpipe.observability.metrics import observe_request

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

log = logging.getLogger("leadpipe.requests")


class RequestContextMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` when sane) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if incoming and _SAFE_ID.match(incoming) else request_id()
        scope.setdefault("state", {})["request_id"] = rid

        started = False
        status = 500
        began = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except ClientDisconnect:
            # The client left before its request was read: nobody is there to answer, and
            # nothing was taken (a delivery is only kept once its body is whole).
            status = 499
            log.info("the client left before its request was read", extra={"path": scope["path"]})
        except Exception as exc:
            # Answered here rather than by the framework's outermost layer, which would
            # answer without the request's id and headers. Not raised on once answered
            # (``unexpected_error`` logs it): the server would then reset the connection,
            # and the client's next request on it would fail. A response already begun
            # cannot be finished, and only the server can end it.
            if started:
                raise
            response = await unexpected_error(Request(scope), exc)
            await response(scope, receive, send_with_headers)
        finally:
            observe_request(scope, status, time.perf_counter() - began)


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413 in the envelope, whether or not
    Content-Length is sent: the same limit as a webhook delivery's (which reads its own).
    A body sent without a length is read here first (the framework would answer a failure
    while it reads with a 400)."""

    def __init__(self, app: ASGIApp, limit: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.larger = larger or {}  # paths with a limit of their own (a CSV file's upload)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.limit)
        length = next((v for n, v in scope["headers"] if n == b"content-length"), None)
        if length is not None:
            if length.isdigit() and int(length) > limit:
                await self._refuse(scope, receive, send, limit)
                return
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, receive, send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        pending: bytes | None = b"".join(chunks)

        async def replayed() -> Message:
            nonlocal pending
            if pending is None:
                return await receive()
            message: Message = {"type": "http.request", "body": pending, "more_body": False}
            pending = None
            return message

        await self.app(scope, replayed, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        refusal = PayloadTooLarge(f"Body is larger than {limit} bytes")
        await error_response(Request(scope), refusal)(scope, receive, send)


class RefuseNul:
    """Refuses a NUL character (``%00``) in a request's path, its query string or a
    dashboard form's body with 400 in the envelope, on every route: PostgreSQL cannot
    compare or store text holding one, and would fail the request's query. JSON bodies
    are checked where they are read (``kit/bodies.py``, and a delivery's, which is logged
    when refused, in ``intake/parsing.py``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        # Intake never reads a delivery's query string: a NUL there stores nothing, and
        # refusing it would lose the lead unlogged.
        query = b"" if _is_delivery(scope) else scope.get("query_string", b"")
        fields = nul_in_url(path, query)
        if fields:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            refusal = ValidationFailed(
                "The URL must not contain NUL characters (%00)",
                [field_error(f, NUL_MESSAGE) for f in fields],
            )
            await error_response(Request(scope), refusal)(scope, receive, send)
            return
        if scope["type"] != "http" or not _is_form_outside_intake(scope):
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _refusing_nul(receive), send_noting_start)
        except _NulInForm as exc:
            # Raised where the framework does not answer it (``BodyLimit`` reading a body
            # sent without a length); inside a route its handler has answered.
            if started:
                raise
            await error_response(Request(scope), exc)(scope, receive, send)


def nul_in_url(path: str, query_string: bytes) -> list[str]:
    """Where a request's URL holds a NUL character: ``path``, or each query parameter's
    name. Nearly every URL holds none, and is spared the parsing."""
    found = ["path"] if "\x00" in path else []
    if b"%00" in query_string or b"\x00" in query_string:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        found += [printable(name) for name, value in pairs if "\x00" in name + value]
    return found


_FORM = b"application/x-www-form-urlencoded"


_DELIVERY = re.compile(r"^/webhooks?/[^/]+$")


def _is_delivery(scope: Scope) -> bool:
    return scope.get("method") == "POST" and _DELIVERY.match(scope.get("path", "")) is not None


def _is_form_outside_intake(scope: Scope) -> bool:
    """A URL-encoded form that is not a webhook delivery (intake reads, refuses and logs
    its own)."""
    if scope["path"].startswith(("/webhooks/", "/webhook/")):
        return False
    content_type = next((v for n, v in scope["headers"] if n == b"content-type"), b"")
    return content_type.split(b";", 1)[0].strip().lower() == _FORM


class _NulInForm(ValidationFailed):
    pass


def _refusing_nul(receive: Receive) -> Receive:
    """``receive``, raising ``ValidationFailed`` (answered by its handler) when the body
    holds ``%00`` or a raw NUL: looked for as the body streams, across its chunks, so
    nothing is held back."""
    tail = b""

    async def checked() -> Message:
        nonlocal tail
        message = await receive()
        if message["type"] == "http.request":
            seen = tail + message.get("body", b"")
            if b"%00" in seen or b"\x00" in seen:
                raise _NulInForm(
                    "The form must not contain NUL characters (%00)",
                    [field_error("body", NUL_MESSAGE)],
                )
            tail = seen[-2:]
        return message

    return checked


T = TypeVar("T")

UPLOAD_SLOT_WAIT_SECONDS = 1.0
"""How long a body that arrives in pieces waits for a free upload slot before 503."""


class UploadLimits:
    """Gives a request's body ``timeout`` seconds from its headers to arrive whole, and
    lets at most ``slots`` bodies that arrive in pieces be received at once by this worker:
    one more waits up to UPLOAD_SLOT_WAIT_SECONDS for a slot, then gets 503 with
    Retry-After. Either refusal closes the connection (the rest of the body is never
    read). A body that comes whole with its request, as nearly every delivery's does,
    takes no slot, so clients trickling bodies cannot hold up the others; the slots bound
    what trickled bodies hold in memory. The refusal is raised where the body is read, so
    a delivery refused here is logged like any other refused delivery."""

    def __init__(self, app: ASGIApp, timeout: float, slots: int) -> None:
        self.app = app
        self.timeout = timeout
        self.slots = asyncio.Semaphore(slots)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope["headers"]):
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        upload = _Upload(receive, send, deadline, self.slots)
        try:
            await self.app(scope, upload.receive, upload.send)
        except (RequestTimeout, ServiceUnavailable) as exc:
            if exc is not upload.refusal or upload.answered:
                raise
            await error_response(Request(scope), exc)(scope, receive, upload.send)
        finally:
            upload.release()


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


class _Upload:
    """One request's body as the app receives it: against its deadline, in a slot once it
    turns out to come in pieces."""

    def __init__(
        self, receive: Receive, send: Send, deadline: float, slots: asyncio.Semaphore
    ) -> None:
        self._receive, self._send = receive, send
        self.deadline, self.slots = deadline, slots
        self.whole = False  # received to its end, or the client went away
        self.pieces = 0
        self.holds_slot = False
        self.refusal: LeadpipeError | None = None
        self.answered = False

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise self.refusal
        if self.whole:  # e.g. a streamed response listening for the client to leave
            return await self._receive()
        if self.pieces and not self.holds_slot:
            await self._take_slot()
        # A timer costs 6-12 us, a sixth of a delivery's time in the app, and nearly every
        # body is there already: so the receive is started, and timed only if it waits.
        steps = self._receive().__await__()
        try:
            waiting_on = steps.send(None)
        except StopIteration as arrived:
            message: Message = arrived.value
        else:
            message = await self._in_time(steps, waiting_on)
        if message["type"] == "http.request" and message.get("more_body", False):
            self.pieces += 1
        else:
            self.whole = True
            self.release()
        return message

    async def _in_time(self, steps: Generator[Any, Any, Message], waiting_on: Any) -> Message:
        try:
            async with asyncio.timeout_at(self.deadline):
                return await _resumed(steps, waiting_on)
        except TimeoutError:
            late = RequestTimeout("The request's body was not received in time")
            raise self._refuse(late) from None

    async def _take_slot(self) -> None:
        try:
            async with asyncio.timeout(UPLOAD_SLOT_WAIT_SECONDS):
                await self.slots.acquire()
        except TimeoutError:
            busy = ServiceUnavailable(
                "Too many uploads are arriving at once; retry shortly",
                headers={"Retry-After": "1"},
            )
            raise self._refuse(busy) from None
        self.holds_slot = True

    def _refuse(self, refusal: LeadpipeError) -> LeadpipeError:
        self.refusal = refusal
        return refusal

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.answered = True
            if self.refusal is not None:
                headers = MutableHeaders(scope=message)
                headers["Connection"] = "close"
                for name, value in (self.refusal.headers or {}).items():
                    headers.setdefault(name, value)
        await self._send(message)

    def release(self) -> None:
        if self.holds_slot:
            self.slots.release()
            self.holds_slot = False


@types.coroutine
def _resumed(steps: Generator[Any, Any, T], yielded: Any) -> Generator[Any, Any, T]:
    """Awaits the rest of an awaitable whose first step, which yielded ``yielded``, was
    taken already: what ``await`` would do, from its second step on."""
    while True:
        try:
            sent = yield yielded
        except BaseException as exc:  # a cancellation (the deadline's): the awaitable's too
            try:
                yielded = steps.throw(exc)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        else:
            try:
                yielded = steps.send(sent)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]


# The dashboard's pages and assets and the API documentation: what a browser loads, and
# where compression pays (the first visit's ~160 KiB are mostly text). Intake answers and
# API pages are left as they are: small, or read by programs that pay the CPU per call.
_COMPRESSED_PREFIXES = ("/app", "/assets/", "/static/", "/login", "/docs", "/redoc")
_ASSETS = ("/assets/", "/static/")
# A year: an asset's address changes with its content (a vendored package's directory
# names its version; leadpipe's own carry ?v=<version>), so a browser need never ask again.
IMMUTABLE = "public, max-age=31536000, immutable"


def _compressed(path: str) -> bool:
    # A CSV export streams while it is read, and its cap on concurrent exports is held by
    # that back-pressure: gzip would buffer it and let a large export finish into the
    # socket's buffers. Downloads go as they are.
    return path.startswith(_COMPRESSED_PREFIXES) and not path.endswith(".csv")


def _versioned_asset(scope: Scope) -> bool:
    path: str = scope["path"]
    if path.startswith("/static/vendor/"):
        return True
    return path.startswith(_ASSETS) and b"v=" in scope.get("query_string", b"")


class CompressPages:
    """Gzip for what browsers load (pages, CSS, JS, the API docs), and a long cache
    lifetime for versioned assets; everything else passes untouched."""

    def __init__(self, app: ASGIApp, minimum_size: int = 500) -> None:
        self.app = app
        self.compressing = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _compressed(scope["path"]):
            await self.app(scope, receive, send)
            return
        if _versioned_asset(scope):
            send = _caching_for_a_year(send)
        await self.compressing(scope, receive, send)


def _caching_for_a_year(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            MutableHeaders(raw=message["headers"])["Cache-Control"] = IMMUTABLE
        await send(message)

    return sending
