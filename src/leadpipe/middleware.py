"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers bodies and costs a task)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpipe.errors import PayloadTooLarge, ValidationFailed, field_error
from leadpipe.exception_handlers import error_response, unexpected_error
from leadpipe.kit.ids import request_id
from leadpipe.kit.jsonvalues import NUL_MESSAGE, printable

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


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

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for key, value in SECURITY_HEADERS.items():
                    headers.setdefault(key, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
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


class BodyLimit:
    """Refuses a request body over ``limit`` bytes with 413 in the envelope, whether or not
    Content-Length is sent: the same limit as a webhook delivery's (which reads its own).
    A body sent without a length is read here first (the framework would answer a failure
    while it reads with a 400)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = next((v for n, v in scope["headers"] if n == b"content-length"), None)
        if length is not None:
            if length.isdigit() and int(length) > self.limit:
                await self._refuse(scope, receive, send)
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
            if size > self.limit:
                await self._refuse(scope, receive, send)
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

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = PayloadTooLarge(f"Body is larger than {self.limit} bytes")
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
        fields = nul_in_url(scope.get("path", ""), scope.get("query_string", b""))
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
