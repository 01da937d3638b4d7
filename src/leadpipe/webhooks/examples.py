"""Seed 000's webhook payloads: the OpenAPI examples, and what the tests post."""

from __future__ import annotations

import json
import shlex
from typing import Any

SEED_NEW_LEAD: dict[str, Any] = {
    "firstname": "Carlos",
    "lastname": "Rodriguez",
    "email": "carlos@example.com",
    "phone_number": "3055551234",
    "crm_id": "CRM123456",
    "productid": "Pool Installation",
    "lead_status": "New",
    "source": "Facebook Ads",
    "adate": "2025-09-30",
    "atime": "2:00 PM",
    "appointment_status": "scheduled",
}

SEED_STATUS_UPDATE: dict[str, Any] = {
    "crm_id": "CRM123456",
    "productid": "Pool Installation",
    "lead_status": "Converted",
    "appointment_status": "completed",
}


# Where the shell puts the time: the printed curl sends a new body each time it is run,
# so pasting it again makes another lead rather than a duplicate of the first delivery.
_NOW = "@NOW@"
_SHELL_TIME = "'\"$(date +%H:%M:%S)\"'"  # leaves the single quotes, the shell fills it in


def curl_example(public_url: str, webhook_id: str, workspace_id: str) -> str:
    """A command that posts a lead to the webhook, as printed at start and on the
    dashboard's webhook page; its notes carry the time it is run (a POSIX shell's
    ``date``), so each run is a new delivery."""
    payload = {
        "firstname": "John",
        "lastname": "Doe",
        "email": "john@example.com",
        "phone_number": "5551234567",
        "productid": "Solar Panels",
        "lead_status": "New",
        "source": "Website",
        "notes": f"Sent at {_NOW}",
    }
    url = f"{public_url.rstrip('/')}/webhooks/{webhook_id}"
    body = shlex.quote(json.dumps(payload)).replace(_NOW, _SHELL_TIME)
    return (
        f"curl -X POST {shlex.quote(url)} -H 'Content-Type: application/json' "
        f"-H 'x-workspace-id: {workspace_id}' -d {body}"
    )
