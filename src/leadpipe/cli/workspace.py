"""``leadpipe workspace``: the workspaces (tenants)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Connection

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.accounts.rules import DEFAULT_TIME_ZONE, time_zone_of
from leadpipe.accounts.service import account
from leadpipe.cli.common import console, in_a_transaction, print_rows

workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
TIME_ZONE_HELP = "IANA time zone the dashboard shows dates in, e.g. America/Chicago."


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="Display name.")],
    workspace_id: Annotated[str | None, typer.Option("--id", help="Text id, e.g. 39135.")] = None,
    region: Annotated[str, typer.Option(help="Default phone region (ISO 3166).")] = "US",
    lead_window_days: Annotated[int, typer.Option(help="Update window for leads.")] = 30,
    time_zone: Annotated[str, typer.Option(help=TIME_ZONE_HELP)] = DEFAULT_TIME_ZONE,
) -> None:
    """Create a workspace with the default pipeline."""
    created = in_a_transaction(
        lambda conn: account.create_workspace(
            conn,
            name=name,
            workspace_id=workspace_id,
            default_region=region,
            lead_window_days=lead_window_days,
            settings={"time_zone": time_zone},
        )
    )
    console.print(f"Workspace created: {created}")


@workspace_app.command("update")
def workspace_update(
    workspace: Annotated[str, typer.Argument(help="Workspace id or name.")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    region: Annotated[str | None, typer.Option(help="Default phone region (ISO 3166).")] = None,
    lead_window_days: Annotated[int | None, typer.Option(help="Update window for leads.")] = None,
    time_zone: Annotated[str | None, typer.Option(help=TIME_ZONE_HELP)] = None,
) -> None:
    """Change a workspace's settings (those not given stay as they are)."""

    def change(conn: Connection) -> None:
        workspace_id = account.resolve_workspace(conn, workspace)
        found = WorkspaceRepository(conn).get(workspace_id)
        account.change_workspace(
            conn,
            workspace_id,
            name=name or found.name,
            default_region=(region or found.default_region).upper(),
            lead_window_days=lead_window_days or found.lead_window_days,
            time_zone=time_zone or time_zone_of(found.settings),
        )

    in_a_transaction(change)
    console.print(f"Workspace updated: {workspace}")


@workspace_app.command("list")
def workspace_list() -> None:
    """Every workspace."""
    rows = [
        (
            w.id,
            w.name,
            w.default_region,
            time_zone_of(w.settings),
            f"{w.lead_window_days} d",
            f"{w.created_at:%Y-%m-%d}",
        )
        for w in in_a_transaction(lambda conn: WorkspaceRepository(conn).all())
    ]
    print_rows(("id", "name", "region", "time zone", "lead window", "created"), rows)
