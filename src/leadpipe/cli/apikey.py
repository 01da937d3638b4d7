"""``leadpipe apikey``: a workspace's API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from leadpipe.accounts.repository import ApiKeyRepository
from leadpipe.accounts.rules import SCOPES
from leadpipe.accounts.service import account
from leadpipe.cli.common import WorkspaceArg, console, in_a_transaction, in_workspace, print_rows
from leadpipe.config import get_settings
from leadpipe.realtime.hub import announce

apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)


@apikey_app.command("create")
def apikey_create(
    workspace_id: Annotated[str, typer.Argument(help="Workspace (id or name) of the key.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "CLI key",
    scope: Annotated[list[str] | None, typer.Option(help="read, write, admin (repeat).")] = None,
) -> None:
    """Create an API key; it is printed once and stored hashed."""
    created = in_workspace(
        workspace_id,
        lambda conn, ws: account.create_api_key(
            conn, workspace_id=ws, name=name, scopes=tuple(scope or SCOPES)
        ),
    )
    console.print(f"API key (shown once): {created.key}", highlight=False)
    console.print(f"Scopes: {', '.join(created.scopes)}")


@apikey_app.command("list")
def apikey_list(workspace: WorkspaceArg) -> None:
    """A workspace's API keys (their prefixes: keys are stored hashed)."""
    rows = [
        (
            str(k["id"]),
            k["name"],
            k["prefix"] + "…",
            ",".join(k["scopes"] or []),
            f"{k['created_at']:%Y-%m-%d}",
            f"{k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "-",
        )
        for k in in_workspace(workspace, lambda conn, ws: ApiKeyRepository(conn).for_workspace(ws))
    ]
    print_rows(("id", "name", "prefix", "scopes", "created", "revoked"), rows)


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (apikey list).")],
) -> None:
    """Refuse a key from now on; the live sockets it opened close."""
    revoked = in_a_transaction(lambda conn: account.revoke_api_key(conn, key_id))
    announce(get_settings(), [revoked])
    console.print(f"API key {key_id} revoked", highlight=False)
