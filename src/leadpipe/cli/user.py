"""``leadpipe user``: dashboard users and their roles in workspaces."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Connection

from leadpipe.accounts.service import CreatedUser, user
from leadpipe.cli.common import console, in_a_transaction, in_workspace
from leadpipe.config import get_settings
from leadpipe.realtime.events import Revocation
from leadpipe.realtime.hub import announce

user_app = typer.Typer(help="Dashboard users and their roles.", no_args_is_help=True)

EmailArg = Annotated[str, typer.Argument(help="The user's email.")]
RoleHelp = "owner, admin, agent or viewer."
PasswordOpt = Annotated[
    str | None, typer.Option(help="At least 12 characters; generated when left out.")
]


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The address the user signs in with.")],
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace to join: id or name.")],
    role: Annotated[str, typer.Option(help=RoleHelp)] = "agent",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password: PasswordOpt = None,
) -> None:
    """Create a user, a member of a workspace; a generated password is printed once."""

    def create(conn: Connection, workspace_id: str) -> tuple[CreatedUser, str]:
        made = user.create(
            conn, email=email, name=name, password=password, workspace_id=workspace_id, role=role
        )
        return made, workspace_id

    created, workspace_id = in_workspace(workspace, create)
    console.print(f"User created: {created.email} ({role} of {workspace_id})", highlight=False)
    if created.password:
        console.print(f"Password (shown once): {created.password}", highlight=False)


@user_app.command("role")
def user_role(
    email: EmailArg,
    workspace: Annotated[str, typer.Option("--workspace", help="The workspace: id or name.")],
    role: Annotated[str, typer.Option(help=RoleHelp)],
) -> None:
    """Add a user to a workspace, or change the role it has there."""

    def set_role(conn: Connection, workspace_id: str) -> str:
        user.set_role(conn, email=email, workspace_id=workspace_id, role=role)
        return workspace_id

    workspace_id = in_workspace(workspace, set_role)
    console.print(f"{email.strip()} is {role} of {workspace_id}", highlight=False)


@user_app.command("reset-password")
def user_reset_password(email: EmailArg, password: PasswordOpt = None) -> None:
    """Set a new password and lift a lockout; a generated one is printed once. The user's
    sessions end, and their live sockets close."""

    def reset(conn: Connection) -> tuple[str | None, Revocation]:
        generated = user.reset_password(conn, email=email, password=password)
        return generated, user.revocation(conn, email)

    generated, signed_out = in_a_transaction(reset)
    announce(get_settings(), [signed_out])
    console.print(f"Password changed for {email.strip()}", highlight=False)
    if generated:
        console.print(f"New password (shown once): {generated}", highlight=False)


@user_app.command("disable")
def user_disable(email: EmailArg) -> None:
    """Stop a user from signing in; their sessions end and their live sockets close."""
    _set_active(email, active=False)
    console.print(f"{email.strip()} is disabled", highlight=False)


@user_app.command("enable")
def user_enable(email: EmailArg) -> None:
    """Let a disabled user sign in again."""
    _set_active(email, active=True)
    console.print(f"{email.strip()} may sign in again", highlight=False)


def _set_active(email: str, *, active: bool) -> None:
    changed = in_a_transaction(lambda conn: user.set_active(conn, email, active=active))
    announce(get_settings(), [changed])
