"""What the ``leadpipe`` command's admin groups share: the console, the migrated database
and a transaction on it, a refusal printed, and plain output (ids are copied from it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Connection

from leadpipe.accounts.service import account
from leadpipe.config import Settings, get_settings
from leadpipe.errors import LeadpipeError
from leadpipe.storage import migrate
from leadpipe.storage.engine import Database
from leadpipe.webhooks.examples import curl_example

console = Console()

T = TypeVar("T")

WorkspaceArg = Annotated[str, typer.Argument(help="Workspace id or name.")]


def database(*, migrated: bool = False) -> tuple[Settings, Database]:
    """The configured database; ``migrated`` first brings its schema to head, so that admin
    commands work on a fresh database before anyone has run ``serve`` or ``db upgrade``."""
    settings = get_settings()
    db = Database.from_settings(settings)
    if migrated:
        migrate.upgrade(db.engine)
    return settings, db


def in_a_transaction(work: Callable[[Connection], T]) -> T:
    """Run an admin command's ``work`` in one transaction on the migrated database; a
    refusal is printed and exits with status 1."""
    _, db = database(migrated=True)
    try:
        with db.transaction() as conn:
            return work(conn)
    except LeadpipeError as exc:
        raise fail(exc) from None


def in_workspace(workspace: str, work: Callable[[Connection, str], T]) -> T:
    """``in_a_transaction``, ``work`` given the id of ``workspace`` (an id or a name)."""
    return in_a_transaction(lambda conn: work(conn, account.resolve_workspace(conn, workspace)))


def fail(exc: LeadpipeError) -> typer.Exit:
    """The refusal printed with its details; the exit to raise."""
    console.print(f"[red]error:[/red] {exc.message}")
    for detail in exc.details:
        console.print(f"  - {detail.get('field')}: {detail.get('message')}")
    return typer.Exit(code=1)


def say(text: str) -> None:
    """A line as it is: no markup read in it, no highlighting (it holds ids and secrets)."""
    console.print(text, highlight=False, markup=False)


def print_curl(public_url: str, webhook_id: str, workspace_id: str) -> None:
    """A curl command that posts a lead to the webhook, on one line to copy."""
    console.print(
        curl_example(public_url, webhook_id, workspace_id),
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


def json_option(option: str, value: str) -> Any:
    """An option's JSON, or a printed error naming the option and exit status 1."""
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        console.print(f"[red]error:[/red] {option} is not JSON: {exc}")
        raise typer.Exit(code=1) from None


def print_rows(headers: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """Aligned columns, never wrapped or cut: ids are copied from them."""
    widths = [max(len(str(v)) for v in column) for column in zip(headers, *rows, strict=False)]
    for row in (headers, *rows):
        line = "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    if not rows:
        console.print("(none)")
