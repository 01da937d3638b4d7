"""Errors that carry their HTTP status and envelope code (DESIGN §2.9)."""

from __future__ import annotations

from typing import Any


class LeadpipeError(Exception):
    status_code = 500
    code = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers
        # Why, as a stable code the intake log keeps beside the message (the table in
        # docs/operations.md): the envelope's code unless the raiser knows better.
        self.reason = reason or self.code.lower()

    def body(self, request_id: str | None) -> dict[str, Any]:
        return error_envelope(self.message, self.code, request_id, self.details)


def error_envelope(
    message: str, code: str, request_id: str | None, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The body of every refusal and failure (seed 001's, with a code and details)."""
    return {
        "success": False,
        "error": message,
        "code": code,
        "request_id": request_id,
        "details": details or [],
    }


class ValidationFailed(LeadpipeError):
    status_code = 400
    code = "VALIDATION_ERROR"


class Unauthorized(LeadpipeError):
    status_code = 401
    code = "UNAUTHORIZED"


class Forbidden(LeadpipeError):
    status_code = 403
    code = "FORBIDDEN"


class NotFound(LeadpipeError):
    status_code = 404
    code = "NOT_FOUND"


class Conflict(LeadpipeError):
    status_code = 409
    code = "CONFLICT"


class PayloadTooLarge(LeadpipeError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(LeadpipeError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class RequestTimeout(LeadpipeError):
    """The client sent its request's headers or body too slowly; the connection is closed."""

    status_code = 408
    code = "REQUEST_TIMEOUT"


class RateLimited(LeadpipeError):
    status_code = 429
    code = "RATE_LIMITED"


class BadGateway(LeadpipeError):
    """A service we depend on failed (the Graph API): the sender should retry."""

    status_code = 502
    code = "BAD_GATEWAY"


class ServiceUnavailable(LeadpipeError):
    """The database cannot be reached or is busy for now: worth retrying shortly."""

    status_code = 503
    code = "SERVICE_UNAVAILABLE"


def field_error(field: str, message: str) -> dict[str, Any]:
    return {"field": field, "message": message}
