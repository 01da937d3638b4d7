"""Deliveries' lines in the log and their counts, once their intake log entries have
committed: gathered per transaction, so that a batch of deliveries is logged at once."""

from __future__ import annotations

from typing import Any

from leadpipe.observability.logging import deliveries_logged, delivery_line
from leadpipe.observability.metrics import count_delivery
from leadpipe.storage.aftercommit import gathered


class CommittedDeliveries:
    """The deliveries one transaction logged in the intake log."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def __call__(self) -> None:
        for line in self.lines:
            count_delivery(line["outcome"])
        deliveries_logged(self.lines)


def when_logged(entry: dict[str, Any]) -> None:
    """Log and count the delivery ``entry`` describes (an intake log row) after its
    transaction commits; a batch rolled back is logged and counted when done again."""
    committed = gathered(CommittedDeliveries)
    if committed is not None:
        committed.lines.append(delivery_line(entry))
