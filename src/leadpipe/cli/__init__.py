"""The ``leadpipe`` command."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.accounts.rules import new_password
from leadpipe.bootstrap import Started, owner_of, prepare
from leadpipe.cli import backup
from leadpipe.cli.apikey import apikey_app
from leadpipe.cli.common import console, database, fail, print_curl, say
from leadpipe.cli.contact import contact_app
from leadpipe.cli.export import export_app
from leadpipe.cli.imports import import_app
from leadpipe.cli.intake import intake_app
from leadpipe.cli.provider import provider_app
from leadpipe.cli.user import user_app
from leadpipe.cli.webhook import webhook_app
from leadpipe.cli.workspace import workspace_app
from leadpipe.config import Settings
from leadpipe.errors import LeadpipeError
from leadpipe.storage import migrate
from leadpipe.storage.dialect import has_one_writer
from leadpipe.storage.engine import Database

if TYPE_CHECKING:  # the demo's module is imported by the commands that use it: it is big
    from leadpipe.cli.demo import DemoSummary

APP = "leadpipe.app:create_app"

app = typer.Typer(help="leadpipe: lead intake, dedup, pipeline and timeline.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workspace_app, name="workspace")
app.add_typer(apikey_app, name="apikey")
app.add_typer(webhook_app, name="webhook")
app.add_typer(provider_app, name="provider")
app.add_typer(user_app, name="user")
app.add_typer(intake_app, name="intake")
app.add_typer(contact_app, name="contact")
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")


DEMO_WORKSPACE = "demo"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (use PostgreSQL for >1).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Serve the demo workspace (made the first time, with its team), the owner "
            "as its owner.",
        ),
    ] = False,
    demo_leads: Annotated[
        int, typer.Option(help="With --demo: the deliveries it posts when it makes the demo.")
    ] = 3000,
) -> None:
    """Migrate the database, create a first workspace if there is none, and serve the API."""
    import os

    from leadpipe import server

    settings, db = database()
    if "LEADPIPE_PUBLIC_URL" not in os.environ:
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings.public_url = f"http://{shown_host}:{port}"
        os.environ["LEADPIPE_PUBLIC_URL"] = settings.public_url
    welcome = _prepare_demo(db, settings, demo_leads) if demo else Welcome(prepare(db, settings))
    one_writer = has_one_writer(db.dialect)
    db.dispose()
    if one_writer and workers > 1:
        console.print(
            f"[yellow]note:[/yellow] {workers} workers share one SQLite file: each waits "
            "for the others' writes, and one worker is faster. Use PostgreSQL to scale out.",
            highlight=False,
        )
    from leadpipe.observability import logging as logs
    from leadpipe.observability import metrics

    config = server.server_config(
        APP,
        settings,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        log_config=logs.log_config(settings.log_format, settings.log_level),
    )
    with metrics.shared_by_workers(workers):
        # Printed once the port accepts connections: its curl, pasted at once, must work.
        server.serve(config, on_ready=lambda: _print_welcome(settings, welcome))


@dataclass(frozen=True, slots=True)
class Welcome:
    """What the start's banner shows: the workspace, and for the demo its team."""

    started: Started
    demo: DemoSummary | None = None
    demo_password: str | None = None  # the one every user the demo made signs in with


def _prepare_demo(db: Database, settings: Settings, deliveries: int) -> Welcome:
    """The demo workspace (made the first time) and its owner, for the banner."""
    from leadpipe.cli.demo import run_demo

    password = settings.demo_password or new_password()
    migrate.upgrade(db.engine)
    with db.transaction(write=False) as conn:
        new = WorkspaceRepository(conn).get(DEMO_WORKSPACE) is None
    if new:
        console.print(
            f"Making the demo workspace ({deliveries:,} deliveries and a team; about a minute)",
            highlight=False,
        )
    try:
        summary = run_demo(
            db, workspace_id=DEMO_WORKSPACE, deliveries=deliveries, seed=7, password=password
        )
    except LeadpipeError as exc:
        raise fail(exc) from None
    started = prepare(db, settings, workspace_id=DEMO_WORKSPACE, owner_password=password)
    started = dataclasses.replace(started, api_key=summary.api_key)
    return Welcome(started, summary, password)


def _print_welcome(settings: Settings, welcome: Welcome) -> None:
    started = welcome.started
    workspace_id, webhook_id, api_key = started.workspace_id, started.webhook_id, started.api_key
    base = settings.public_url.rstrip("/")
    lines = [
        f"Dashboard:  {base}/login",
        f"Database:   {settings.database_url}",
        f"Workspace:  {workspace_id}",
    ]
    if webhook_id:
        lines.append(f"Webhook:    {base}/webhooks/{webhook_id}")
    if api_key:
        lines.append(f"API key:    {api_key}   (shown once: store it now)")
    else:
        lines.append("API key:    shown on first start; make another with `leadpipe apikey create`")
    lines.append(f"API docs:   {base}/docs")
    lines += _sign_in_lines(settings, welcome)
    console.print(Panel("\n".join(lines), title="leadpipe is running", expand=False))
    if webhook_id:
        console.print("Post a lead (it appears on the dashboard at once):")
        print_curl(settings.public_url, webhook_id, workspace_id)
        console.print(
            "(Its notes carry the time, so each paste is a new lead; the same body again "
            "within the webhook's duplicate window is answered as a duplicate.)"
        )
    if api_key:
        console.print("See it:")
        console.print(
            f"curl -H 'X-API-Key: {api_key}' {base}/api/v3/leads",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    console.print(f"{READY_LINE}.", highlight=False)


# The banner's last line: what a script starting leadpipe waits for.
READY_LINE = "leadpipe is ready; press Ctrl+C to stop it"


def _sign_in_lines(settings: Settings, welcome: Welcome) -> list[str]:
    """Who signs in to the dashboard, and with which password (shown once)."""
    from leadpipe.cli.demo import team_sign_ins

    owner, demo = welcome.started.owner, welcome.demo
    lines = []
    owner_password = None
    if owner is not None:
        owner_password = owner.password or settings.owner_password or welcome.demo_password
        lines.append(f"Owner:      {owner.email}")
    if demo is None:
        if owner is not None:
            shown = owner.password or "(LEADPIPE_OWNER_PASSWORD)"
            lines.append(f"Password:   {shown}   (for the dashboard; shown once)")
        return lines
    if owner is None:
        lines.append(f"Owner:      {settings.owner_email}   (your password)")
    for email, role in team_sign_ins():
        lines.append(f"Team:       {email} ({role})")
    if demo.team_password is None:
        lines.append(
            "Password:   the one shown when the demo was made (or LEADPIPE_DEMO_PASSWORD); "
            "`leadpipe user reset-password EMAIL` sets another"
        )
    elif owner is not None and owner_password != demo.team_password:
        lines.append(f"Password:   {owner_password}   (the owner's; shown once)")
        lines.append(f"Password:   {demo.team_password}   (the team's; shown once)")
    else:
        whose = "everyone's" if owner is not None else "the team's"
        lines.append(f"Password:   {demo.team_password}   ({whose}; shown once)")
    return lines


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings, db = database()
    migrate.upgrade(db.engine, revision)
    console.print(f"Database at {revision}: {settings.database_url}")


backup.register(app, console)


@app.command()
def demo(
    leads: Annotated[int, typer.Option(help="How many deliveries to post.")] = 3000,
    workspace_id: Annotated[str, typer.Option("--workspace", help="Demo workspace id.")] = "demo",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Create a demo workspace with a webhook, realistic leads over the last 90 days and a
    team who work them, the owner as its owner; one that exists is left as it is."""
    from leadpipe.cli.demo import run_demo, team_sign_ins

    settings, db = database(migrated=True)
    password = settings.demo_password or new_password()
    try:
        summary = run_demo(
            db, workspace_id=workspace_id, deliveries=leads, seed=seed, password=password
        )
        with db.transaction() as conn:
            owner = owner_of(conn, settings.owner_email, workspace_id, password)
    except LeadpipeError as exc:
        raise fail(exc) from None
    if summary.made:
        say(
            f"Demo workspace '{workspace_id}': {summary.contacts} contacts, "
            f"{summary.leads} leads, {summary.updates} status updates, "
            f"webhook {summary.webhook_id}"
        )
    else:
        say(
            f"Demo workspace '{workspace_id}' is there already, left as it is: "
            f"{summary.contacts} contacts, {summary.leads} leads, webhook {summary.webhook_id}"
        )
    if summary.api_key:
        say(f"API key (shown once): {summary.api_key}")
    say(f"Owner: {settings.owner_email}" + ("" if owner is None else " (new)"))
    for email, role in team_sign_ins():
        say(f"Team:  {email} ({role})")
    if summary.team_password is not None:
        whose = "the team's and the new owner's" if owner is not None else "the team's"
        say(f"Password ({whose}; shown once): {summary.team_password}")
    else:
        say("Password: the one shown when the demo was made (or LEADPIPE_DEMO_PASSWORD)")


def main() -> None:
    app()
