"""``leadpipe provider``: a workspace's lead providers and their credentials."""

from __future__ import annotations

from typing import Annotated

import typer

from leadpipe.cli.common import WorkspaceArg, in_workspace, print_rows, say
from leadpipe.providers.service import provider

provider_app = typer.Typer(help="Lead providers and their credentials.", no_args_is_help=True)


@provider_app.command("create")
def provider_create(
    workspace: WorkspaceArg,
    name: Annotated[str, typer.Option(help="The provider's name.")],
    provider_id: Annotated[str | None, typer.Option("--id", help="Its id.")] = None,
    company: Annotated[str | None, typer.Option()] = None,
    contact_name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    phone: Annotated[str | None, typer.Option()] = None,
    webhook_ids: Annotated[
        list[str] | None,
        typer.Option("--webhook", help="A webhook it may deliver to (repeat; none: all)."),
    ] = None,
    hourly_limit: Annotated[int, typer.Option(help="Deliveries per hour.")] = 1000,
    notes: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a provider and print its credential, shown once."""
    made, key = in_workspace(
        workspace,
        lambda conn, ws: provider.create(
            conn,
            ws,
            name=name,
            provider_id=provider_id,
            company=company,
            contact_name=contact_name,
            email=email,
            phone=phone,
            allowed_webhooks=webhook_ids or None,
            hourly_limit=hourly_limit,
            notes=notes,
        ),
    )
    say(f"Provider created: {made['id']}")
    say(f"Credential (shown once): {key}")
    say("It sends: Authorization: Bearer <credential>")


@provider_app.command("list")
def provider_list(workspace: WorkspaceArg) -> None:
    """A workspace's providers."""
    rows = [
        (
            p["id"],
            p["name"],
            p["company"] or "-",
            "active" if p["is_active"] else "inactive",
            ",".join(p["allowed_webhooks"] or []) or "all",
            f"{p['hourly_limit']:,}/h",
            f"{p['last_used_at']:%Y-%m-%d %H:%M}" if p["last_used_at"] else "never",
        )
        for p in in_workspace(workspace, provider.for_workspace)
    ]
    headers = ("id", "name", "company", "status", "webhooks", "limit", "last used")
    print_rows(headers, rows)


@provider_app.command("rotate")
def provider_rotate(
    workspace: WorkspaceArg,
    provider_id: Annotated[str, typer.Argument(help="The provider's id.")],
) -> None:
    """A new credential, shown once; the old one stops working at once."""
    _, key = in_workspace(workspace, lambda conn, ws: provider.rotate(conn, ws, provider_id))
    say(f"New credential (shown once): {key}")
