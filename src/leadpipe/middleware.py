"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers bodies and costs a task)."""

from __future__ import annotations

import re

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadpipe.exception_handlers import unexpected_error
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
