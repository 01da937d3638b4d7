"""Refusals on the dashboard: a sign-in page for the signed-out, the envelope for htmx
(the page shows its message), an error page for a page load."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadpipe.deps import DASHBOARD_TAG
from leadpipe.errors import LeadpipeError, NotFound, ValidationFailed, field_error
from leadpipe.exception_handlers import error_response, http_error, request_validation
from leadpipe.web.auth import SignInRequired, sign_in_url
from leadpipe.web.render import page, redirect

# The error page's heading (and title) by status.
HEADINGS = {403: "Not allowed", 404: "Not found", 429: "Too many at once"}


def _on_dashboard(request: Request) -> bool:
    return DASHBOARD_TAG in getattr(request.scope.get("route"), "tags", ())


async def _refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LeadpipeError)
    if not _on_dashboard(request):
        return error_response(request, exc)
    if isinstance(exc, SignInRequired):
        return redirect(sign_in_url(request), request)
    if request.headers.get("hx-request") == "true":
        return error_response(request, exc)
    return _error_page(request, exc)


def _error_page(request: Request, exc: LeadpipeError) -> Response:
    context = {
        "error": exc,
        "heading": HEADINGS.get(exc.status_code, "Something is wrong"),
        "retry_after": (exc.headers or {}).get("Retry-After"),
    }
    return page(request, "error.html", context, status_code=exc.status_code, headers=exc.headers)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A path the dashboard did not make (a malformed id): not found, as any other."""
    assert isinstance(exc, RequestValidationError)
    if not _on_dashboard(request):
        return await request_validation(request, exc)
    found = [e for e in exc.errors() if e["loc"] and e["loc"][0] == "path"]
    refusal: LeadpipeError = (
        NotFound("Not found")
        if found
        else ValidationFailed("Invalid request", [field_error("request", str(exc))])
    )
    return await _refusal(request, refusal)


def _is_dashboard_path(request: Request) -> bool:
    path = request.url.path
    return path == "/app" or path.startswith("/app/")


async def _no_such_page(request: Request, exc: Exception) -> Response:
    """An address under /app that no page answers: a browser gets the error page, with
    its way back; htmx and API clients keep the envelope."""
    assert isinstance(exc, StarletteHTTPException)
    wants_page = "text/html" in request.headers.get("accept", "")
    is_htmx = request.headers.get("hx-request") == "true"
    if exc.status_code == 404 and _is_dashboard_path(request) and wants_page and not is_htmx:
        return _error_page(request, NotFound("There is no page at this address"))
    return await http_error(request, exc)


def install(app: FastAPI) -> None:
    """After ``exception_handlers.install``: these take over the same exceptions."""
    app.add_exception_handler(LeadpipeError, _refusal)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _no_such_page)
