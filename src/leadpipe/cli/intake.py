"""``leadpipe intake``: the intake log's upkeep."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from leadpipe.config import get_settings
from leadpipe.intake.retention import prune_intake_log
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database

intake_app = typer.Typer(help="The intake log (deliveries to webhooks).", no_args_is_help=True)
console = Console()


@intake_app.command("prune")
def intake_prune(
    days: Annotated[
        int | None,
        typer.Option(
            min=1, help="Keep this many days (default: LEADPIPE_INTAKE_LOG_RETENTION_DAYS)."
        ),
    ] = None,
) -> None:
    """Delete deliveries older than the retention from the intake log, in small batches;
    the leads they made stay. A running server does this every hour."""
    settings = get_settings()
    db = Database.from_settings(settings)
    try:
        migrate.upgrade(db.engine)
        retention_days = days or settings.intake_log_retention_days
        pruned = prune_intake_log(db, retention_days=retention_days)
    finally:
        db.dispose()
    console.print(
        f"Pruned {pruned} deliveries older than {retention_days} days from the intake log",
        highlight=False,
    )
