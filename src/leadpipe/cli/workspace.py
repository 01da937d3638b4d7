"""``leadpipe workspace``: the workspaces (tenants)."""

from __future__ import annotations

from typing import Annotated

import typer

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.accounts.service import account
from leadpipe.cli.common import console, in_a_transaction, print_rows

workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="Display name.")],
    workspace_id: Annotated[str | None, typer.Option("--id", help="Text id, e.g. 39135.")] = None,
    region: Annotated[str, typer.Option(help="Default phone region (ISO 3166).")] = "US",
    lead_window_days: Annotated[int, typer.Option(help="Update window for leads.")] = 30,
) -> None:
    """Create a workspace with the default pipeline."""
    created = in_a_transaction(
        lambda conn: account.create_workspace(
            conn,
            name=name,
            workspace_id=workspace_id,
            default_region=region,
            lead_window_days=lead_window_days,
        )
    )
    console.print(f"Workspace created: {created}")


@workspace_app.command("list")
def workspace_list() -> None:
    """Every workspace."""
    rows = [
        (w.id, w.name, w.default_region, f"{w.lead_window_days} d", f"{w.created_at:%Y-%m-%d}")
        for w in in_a_transaction(lambda conn: WorkspaceRepository(conn).all())
    ]
    print_rows(("id", "name", "region", "lead window", "created"), rows)
