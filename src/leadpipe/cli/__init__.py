"""The ``leadpipe`` command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.panel import Panel

from leadpipe.bootstrap import Started, prepare
from leadpipe.cli import backup
from leadpipe.cli.apikey import apikey_app
from leadpipe.cli.common import console, database, fail, print_curl
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


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (use PostgreSQL for >1).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Migrate the database, create a first workspace if there is none, and serve the API."""
    import os

    from leadpipe import server

    settings, db = database()
    if "LEADPIPE_PUBLIC_URL" not in os.environ:
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        settings.public_url = f"http://{shown_host}:{port}"
        os.environ["LEADPIPE_PUBLIC_URL"] = settings.public_url
    started = prepare(db, settings)
    one_writer = has_one_writer(db.dialect)
    db.dispose()
    _print_welcome(settings, started)
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
        server.serve(config)


def _print_welcome(settings: Settings, started: Started) -> None:
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
    if started.owner is not None:
        shown = started.owner.password or "(LEADPIPE_OWNER_PASSWORD)"
        lines.append(f"Owner:      {started.owner.email}")
        lines.append(f"Password:   {shown}   (for the dashboard; shown once)")
    console.print(Panel("\n".join(lines), title="leadpipe is starting", expand=False))
    if webhook_id:
        console.print("Post a lead (it appears on the dashboard at once):")
        print_curl(settings.public_url, webhook_id, workspace_id)
    if api_key:
        console.print("See it:")
        console.print(
            f"curl -H 'X-API-Key: {api_key}' {base}/api/v3/leads",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )


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
    """Create a demo workspace with a webhook and realistic leads over the last 90 days."""
    from leadpipe.cli.demo import run_demo

    _, db = database(migrated=True)
    try:
        summary = run_demo(db, workspace_id=workspace_id, deliveries=leads, seed=seed)
    except LeadpipeError as exc:
        raise fail(exc) from None
    console.print(
        f"Demo workspace '{workspace_id}': {summary.contacts} contacts, "
        f"{summary.leads} leads, {summary.updates} status updates, "
        f"webhook {summary.webhook_id}"
    )
    if summary.api_key:
        console.print(f"API key (shown once): {summary.api_key}", highlight=False)


def main() -> None:
    app()
