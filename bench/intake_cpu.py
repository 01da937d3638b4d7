"""Intake's CPU per delivery, in process: realistic payloads (leadpipe.cli.demo's
PayloadFactory) through the intake driver in batches of 32 on a fresh embedded SQLite
database, without HTTP, so that the figure moves with the code more than with the
machine. Run it beside an older checkout, alternating, to compare (``PYTHONPATH=OLD/src``):

    python bench/intake_cpu.py 4000
"""

from __future__ import annotations

import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from leadpipe.accounts.service import account
from leadpipe.cli.demo import PayloadFactory
from leadpipe.config import Settings
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.limits import IntakeLimits
from leadpipe.intake.schemas import Delivery
from leadpipe.intake.service import IntakeService
from leadpipe.kit.ids import request_id
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database

try:
    from leadpipe.webhooks.service import webhook
except ImportError:  # an older checkout, before intake's split
    from leadpipe.intake.webhooks import webhook  # type: ignore[no-redef]

BATCH = 32


def delivery(webhook_id: str, payload: dict[str, Any]) -> Delivery:
    return Delivery(
        webhook_id=webhook_id,
        payload=payload,
        problem=None,
        workspace_header=None,
        delivery_key=None,
        content_type="application/json",
        ip_address="203.0.113.1",
        user_agent="bench",
        request_id=request_id(),
        started=time.perf_counter(),
        body=orjson.dumps(payload),
        headers={},
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 4000
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_settings(Settings(database_url=f"sqlite:///{Path(tmp) / 'b.db'}"))
        migrate.upgrade(db.engine)
        with db.transaction() as conn:
            workspace_id = account.create_workspace(conn, name="Bench")
            webhook_id = webhook.create(conn, workspace_id=workspace_id, name="Feed")
        factory = PayloadFactory(3)
        payloads = [factory.next() for _ in range(count)]
        intake = IntakeService(guard=IntakeGuard(IntakeLimits(ip_limit="100000000/minute")))
        intake.ingest_together(db, [delivery(webhook_id, p) for p in payloads[:64]])  # warm
        gc.collect()
        gc.freeze()
        cpu, wall = time.process_time(), time.perf_counter()
        for start in range(64, count, BATCH):
            batch = [delivery(webhook_id, p) for p in payloads[start : start + BATCH]]
            refused = [o for o in intake.ingest_together(db, batch) if isinstance(o, Exception)]
            assert not refused, refused[:1]
        done = count - 64
        cpu_ms = (time.process_time() - cpu) * 1000 / done
        wall_ms = (time.perf_counter() - wall) * 1000 / done
        print(f"CPU {cpu_ms:.3f} ms per delivery, wall {wall_ms:.3f} ms ({done:,} deliveries)")
        db.dispose()


if __name__ == "__main__":
    main()
