"""``leadpipe contact``: a person's data, as the operator handles it."""

from __future__ import annotations

import uuid
from typing import Annotated

import typer
from rich.console import Console

from leadpipe.config import get_settings
from leadpipe.errors import LeadpipeError
from leadpipe.privacy.service import person
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database

contact_app = typer.Typer(help="Contacts (people) and their data.", no_args_is_help=True)
console = Console()
# Who erased, in the audit log: a shell on the host, not an API key or a user.
CLI_ACTOR = "cli"


@contact_app.command("erase")
def contact_erase(
    workspace: Annotated[str, typer.Argument(help="The contact's workspace id.")],
    contact_id: Annotated[uuid.UUID, typer.Argument(help="The contact's id.")],
) -> None:
    """Erase a person: delete the contact with its leads, redact their values in the
    intake log, and record it in the audit log (as DELETE ...?erase=true)."""
    db = Database.from_settings(get_settings())
    try:
        migrate.upgrade(db.engine)
        with db.transaction() as conn:
            erased = person.erase(conn, workspace, contact_id, CLI_ACTOR)
    except LeadpipeError as exc:
        console.print(f"[red]{exc.message}[/red]", highlight=False)
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    counts = erased["counts"]
    console.print(
        f"Erased contact {contact_id}: {counts['leads_deleted']} leads deleted, "
        f"{counts['values_redacted']} values redacted in {counts['log_entries_redacted']} "
        f"intake-log entries; audit entry {erased['audit_id']}",
        highlight=False,
    )
