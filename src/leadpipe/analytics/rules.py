"""How the inbound queue's numbers are defined (seed 001's MetricsGrid)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

OPEN_STAGES_EXCLUDED = ("new", "won", "lost", "inactive")


def conversion_rate(converted: int, total: int) -> str:
    """Converted leads over the leads of the same set, as seed 001's ``"15.2%"``: it can
    never exceed 100% (DESIGN §2.11)."""
    if total == 0:
        return "0.0%"
    rate = (Decimal(converted) * 100 / Decimal(total)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{rate}%"


def start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
