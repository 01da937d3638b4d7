"""The limits of every stored field, in one place: the webhook and the API apply the same.

Each length is its column's (``storage/models``); text without a column limit is capped so
that one value cannot fill the database. A value past its limit is refused by the API
(the person typing can fix it) and kept as sent by webhook intake, where refusing would
lose a paid lead (DESIGN §2.12).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# Characters of text per field, by canonical name (webhook) and API field name alike.
TEXT_LIMITS: dict[str, int] = {
    "firstname": 255,
    "lastname": 255,
    "fullname": 511,
    "email": 320,
    "phone": 40,
    "phone_number": 40,
    "crm_id": 255,
    "address": 500,
    "address2": 500,
    "city": 255,
    "state": 100,
    "zip_code": 20,
    "notes": 10_000,
    "source": 255,
    "lead_source": 255,
    "sub_source": 255,
    "product": 255,
    "product_interest": 255,
    "status": 255,
    "utm_source": 255,
    "utm_medium": 255,
    "utm_campaign": 255,
    "utm_term": 255,
    "utm_content": 255,
    "campaign_id": 255,
    "landing_page_url": 2_000,
    "conversion_event": 255,
    "appointment_date": 100,
    "appointment_time": 100,
    "appointment_status": 100,
    "consent_description": 5_000,
    "timeline": 100,
    "budget_range": 100,
    "service_type": 255,
    "lead_type": 50,
    "qualification_status": 100,
    "assigned_to": 64,
    "lost_reason": 500,
    "initial_inquiry": 10_000,
    "ip_address": 64,
    "user_agent": 1_000,
    "tag": 100,
    "title": 255,
    "description": 5_000,
    "label": 200,
}

# Free text of a field with no limit of its own (a note, a custom field's value).
MAX_TEXT = 10_000

# Money columns are NUMERIC(15, 2): up to 13 digits before the point.
MAX_MONEY = Decimal("9999999999999.99")
CENT = Decimal("0.01")

# Objects and lists nested deeper than this are refused in any JSON we keep (custom
# fields, activity data, a webhook's raw payload): no form or CRM nests this deep, and
# past 254 levels the JSON encoder cannot write the value back.
MAX_JSON_DEPTH = 32


def money(value: Decimal) -> Decimal | None:
    """``value`` rounded to cents, or None when it is not a storable amount (negative,
    not finite, or too large for the column)."""
    if not value.is_finite() or value < 0 or value > MAX_MONEY:
        return None
    return value.quantize(CENT)


def text_limit(name: str) -> int:
    """How many characters field ``name`` holds."""
    return TEXT_LIMITS.get(name, MAX_TEXT)


def too_long(name: str, text: str) -> int | None:
    """The limit ``text`` exceeds for field ``name``, or None when it fits."""
    limit = TEXT_LIMITS.get(name)
    return limit if limit is not None and len(text) > limit else None


def too_deep(value: Any, *, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON value nests objects or lists deeper than ``limit`` levels. Walks
    without recursion: the value may be nested deeper than Python's own stack."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def nul_paths(value: Any, path: str = "") -> list[str]:
    """The paths of a JSON value whose text (a key or a string) holds a NUL character,
    which no database column can store."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, here = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                found.append(here)
        elif isinstance(node, dict):
            for key, item in node.items():
                where = f"{here}.{key}" if here else str(key)
                if "\x00" in str(key):
                    found.append(where.replace("\x00", "\\u0000"))
                else:
                    stack.append((item, where))
        elif isinstance(node, list):
            stack.extend((item, f"{here}[{i}]") for i, item in enumerate(node))
    return sorted(found)
