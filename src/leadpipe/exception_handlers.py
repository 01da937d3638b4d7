"""One error envelope for every failure (DESIGN §2.9)."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadpipe.errors import LeadpipeError, error_envelope
from leadpipe.kit.responses import JSONResponse

log = logging.getLogger("leadpipe")

_HTTP_CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


def envelope(
    request: Request, message: str, code: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return error_envelope(message, code, getattr(request.state, "request_id", None), details)


async def _leadpipe_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LeadpipeError)
    return error_response(request, exc)


def error_response(request: Request, exc: LeadpipeError) -> JSONResponse:
    """The envelope of one of our own errors, with its status and headers."""
    return JSONResponse(
        exc.body(getattr(request.state, "request_id", None)),
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "field": ".".join(str(p) for p in e["loc"] if p not in ("body", "query", "path")),
            # Our own validators' messages are written for the user; pydantic prefixes them.
            "message": e["msg"].removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    return JSONResponse(
        envelope(request, "The request is invalid", "VALIDATION_ERROR", details), status_code=400
    )


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "INTERNAL_ERROR" if exc.status_code >= 500 else "ERROR")
    headers = exc.headers
    if exc.status_code == 405:
        # The router names the methods of the first route it matched; a path has others.
        headers = {**(headers or {}), "Allow": ", ".join(_methods_of_path(request))}
    return JSONResponse(
        envelope(request, str(exc.detail), code), status_code=exc.status_code, headers=headers
    )


def _methods_of_path(request: Request) -> list[str]:
    """Every method the API documents for the request's path (GET also answers HEAD)."""
    methods: set[str] = set()
    for pattern, allowed in _documented_paths(request.app):
        if pattern.fullmatch(request.url.path):
            methods |= allowed
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _documented_paths(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    paths: list[tuple[re.Pattern[str], set[str]]] | None = getattr(app.state, "paths", None)
    if paths is None:
        paths = app.state.paths = [
            (re.compile(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path))), {m.upper() for m in ops})
            for path, ops in app.openapi()["paths"].items()
        ]
    return paths


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    rid = getattr(request.state, "request_id", None)
    log.exception(
        "unhandled error in %s %s (request %s)",
        request.method,
        request.url.path,
        rid,
        exc_info=exc,
        extra={"method": request.method, "path": request.url.path, "request_id": rid},
    )
    return JSONResponse(
        envelope(request, "Internal server error", "INTERNAL_ERROR"), status_code=500
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LeadpipeError, _leadpipe_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected_error)
