"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers bodies and costs a task)."""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpipe.errors import PayloadTooLarge
from leadpipe.exception_handlers import error_response, unexpected_error
from leadpipe.kit.ids import request_id

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
