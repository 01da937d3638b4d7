"""Lead providers: their credentials, where they may deliver, and their usage."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadpipe.errors import Forbidden, Unauthorized
from leadpipe.kit.ids import token

KEY_PREFIX = "lpp_"
DEFAULT_HOURLY_LIMIT = 1000  # seed 002's lead_source_providers.rate_limit
HOUR_SECONDS = 3600

# How each delivery outcome is counted in a provider's usage.
USAGE_COLUMNS = {"success": "accepted", "error": "refused", "duplicate": "duplicates"}


def new_provider_key() -> str:
    return token(KEY_PREFIX, 24)


def provider_key(headers: Mapping[str, str]) -> str | None:
    """The provider credential a delivery carries: ``X-Provider-Key``, or a bearer token
    in our format (another service's ``Authorization`` is not ours to judge)."""
    key = headers.get("x-provider-key")
    if key:
        return key.strip()
    scheme, _, value = headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(KEY_PREFIX):
        return value
    return None


def check_provider(
    provider: Mapping[str, Any] | None, *, sent: bool, required: bool, webhook_id: str
) -> None:
    """Refuse a delivery whose provider may not deliver here: 401 when its credential is
    missing (where one is required), unknown or inactive; 403 when the webhook is not in
    its allowed list (none listed: all of its workspace's)."""
    if not sent:
        if required:
            raise Unauthorized(
                "This webhook requires a provider credential: "
                "send Authorization: Bearer <key> or X-Provider-Key",
                reason="provider_missing",
            )
        return
    if provider is None or not provider["is_active"]:
        raise Unauthorized("Unknown or inactive provider credential", reason="provider_invalid")
    allowed = provider["allowed_webhooks"]
    if allowed and webhook_id not in allowed:
        raise Forbidden(
            f"This provider may not deliver to webhook '{webhook_id}'",
            reason="provider_not_allowed",
        )


def conversion_rate(leads: int, won: int) -> float:
    return round(won * 100 / leads, 1) if leads else 0.0
