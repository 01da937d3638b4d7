"""Seed 000's webhook payloads: the OpenAPI examples, and what the tests post."""

from __future__ import annotations

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
