"""Signed deliveries: which secrets verify a webhook's deliveries, and checking a signature
over the raw body in the schemes senders use.

- Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
  v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, within 5 minutes of now. A secret
  written ``whsec_<base64>`` signs with its decoded bytes, as the specification says.
- ``X-Webhook-Signature: sha256=<hex HMAC-SHA256 of the body>`` (and Facebook's
  ``X-Hub-Signature-256`` in the same form), keyed with the secret's text.
- Typeform's ``Typeform-Signature: sha256=<base64 HMAC-SHA256 of the body>``.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets as random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leadpipe.errors import Unauthorized
from leadpipe.kit.coerce import ascii_int

MODES = ("off", "optional", "required")
TOLERANCE_SECONDS = 5 * 60
# A timestamp in seconds has 10 digits until the year 2286.
_TIMESTAMP_DIGITS = 12
SECRET_PREFIX = "whsec_"
# How long a replaced secret keeps verifying when its rotation names no date.
DEFAULT_OVERLAP = timedelta(hours=24)
MIN_SECRET_LENGTH = 16

STANDARD = "standard-webhooks"
HEX = "x-webhook-signature"
HUB = "x-hub-signature-256"
TYPEFORM = "typeform-signature"


@dataclass(frozen=True, slots=True)
class Verified:
    """A delivery whose signature checked out: in which scheme, and for Standard Webhooks
    the timestamp it was signed at (its id and time again is a replay)."""

    scheme: str
    signed_at: int | None = None


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(32)).decode()


def secret_problem(secret: str) -> str | None:
    if len(secret) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters"
    if secret.startswith(SECRET_PREFIX) and _standard_key(secret) is None:
        return f"a secret starting with '{SECRET_PREFIX}' must hold base64 after it"
    return None


def rotated(
    held: list[dict[str, Any]], secret: str, now: datetime, old_until: datetime
) -> list[dict[str, Any]]:
    """The secrets after adding ``secret``: the ones still valid keep verifying until
    ``old_until`` (or their own earlier end); expired ones are dropped."""
    kept = [
        {**s, "expires_at": min(_expiry(s) or old_until, old_until).isoformat()}
        for s in held
        if _valid(s, now)
    ]
    return [*kept, {"secret": secret, "created_at": now.isoformat(), "expires_at": None}]


def described(held: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The secrets as the API shows them: never the secret, only its start."""
    return [
        {
            "preview": s["secret"][: len(SECRET_PREFIX) + 4] + "…",
            "created_at": datetime.fromisoformat(s["created_at"]),
            "expires_at": _expiry(s),
            "valid": _valid(s, now),
        }
        for s in held
    ]


def valid_secrets(held: list[dict[str, Any]], now: datetime) -> list[str]:
    return [s["secret"] for s in held if _valid(s, now)]


def _expiry(secret: dict[str, Any]) -> datetime | None:
    at = secret.get("expires_at")
    return datetime.fromisoformat(at) if at else None


def _valid(secret: dict[str, Any], now: datetime) -> bool:
    expiry = _expiry(secret)
    return expiry is None or expiry > now


def verify(
    mode: str,
    secrets: list[str],
    headers: Mapping[str, str],
    body: bytes,
    now_seconds: float,
) -> Verified | None:
    """The scheme a delivery's signature verified in; None when it carries none and
    ``mode`` lets it in unsigned. Raises ``Unauthorized`` for a bad, stale or missing
    (when required) signature."""
    if mode == "off":
        return None
    if "webhook-signature" in headers:
        return _standard(secrets, headers, body, now_seconds)
    for scheme, header, decode in (
        (HEX, "x-webhook-signature", _hex),
        (HUB, "x-hub-signature-256", _hex),
        (TYPEFORM, "typeform-signature", _base64),
    ):
        if header in headers:
            return _body_signature(scheme, secrets, headers[header], body, decode)
    if mode == "required":
        raise Unauthorized(
            "This webhook requires a signature: send webhook-signature (Standard Webhooks) "
            "or X-Webhook-Signature",
            reason="signature_missing",
        )
    return None


def _standard(
    secrets: list[str], headers: Mapping[str, str], body: bytes, now_seconds: float
) -> Verified:
    msg_id, stamp = headers.get("webhook-id"), headers.get("webhook-timestamp", "")
    # Seconds since 1970 in ASCII digits; anything else (a superscript, 5,000 digits)
    # is a bad signature, not a failure to read it.
    signed_at = ascii_int(stamp, max_digits=_TIMESTAMP_DIGITS)
    if not msg_id or signed_at is None:
        raise Unauthorized(
            "A webhook-signature needs webhook-id and webhook-timestamp (seconds since 1970) "
            "headers"
        )
    if abs(now_seconds - signed_at) > TOLERANCE_SECONDS:
        raise Unauthorized(
            "webhook-timestamp is more than 5 minutes away from now", reason="signature_expired"
        )
    sent = [
        _base64(sig)
        for version, _, sig in (
            part.partition(",") for part in headers["webhook-signature"].split()
        )
        if version == "v1"
    ]
    signed = f"{msg_id}.{stamp}.".encode() + body
    for secret in secrets:
        expected = hmac.digest(_standard_key(secret) or secret.encode(), signed, hashlib.sha256)
        if any(s is not None and hmac.compare_digest(s, expected) for s in sent):
            return Verified(STANDARD, signed_at)
    raise Unauthorized("webhook-signature does not match the body", reason="signature_invalid")


def _body_signature(
    scheme: str, secrets: list[str], header: str, body: bytes, decode: Any
) -> Verified:
    algorithm, _, value = header.partition("=")
    sent = decode(value) if algorithm.strip().lower() == "sha256" else None
    if sent is not None:
        for secret in secrets:
            expected = hmac.digest(secret.encode(), body, hashlib.sha256)
            if hmac.compare_digest(sent, expected):
                return Verified(scheme)
    raise Unauthorized(
        f"{scheme} does not match the body (expected sha256=...)", reason="signature_invalid"
    )


@functools.lru_cache(maxsize=1024)
def _standard_key(secret: str) -> bytes | None:
    """A ``whsec_`` secret's key bytes (decoded once per secret, not per delivery)."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    return _base64(secret.removeprefix(SECRET_PREFIX))


def _base64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _hex(value: str) -> bytes | None:
    try:
        return bytes.fromhex(value.strip())
    except ValueError:
        return None


# -- signing, for senders and tests --------------------------------------------------


def sign_standard(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = _standard_key(secret) or secret.encode()
    digest = hmac.digest(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(digest).decode()


def sign_hex(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_base64(secret: str, body: bytes) -> str:
    digest = hmac.digest(secret.encode(), body, hashlib.sha256)
    return "sha256=" + base64.b64encode(digest).decode()
