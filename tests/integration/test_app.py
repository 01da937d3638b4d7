"""What starting the application does."""

from __future__ import annotations

import gc

from leadpipe.app import create_app
from leadpipe.config import Settings
from leadpipe.storage.engine import Database


async def test_startup_keeps_its_objects_out_of_full_collections(
    settings: Settings, db: Database
) -> None:
    # A full collection walking the ~100k objects of a started app paused every request
    # for ~100 ms (bench/intake.py's p99); frozen, they are not walked.
    app = create_app(settings, db)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
