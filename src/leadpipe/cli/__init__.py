"""The ``leadpipe`` command."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from sqlalchemy import Connection

from leadpipe.bootstrap import Started, prepare
from leadpipe.cli import admin, backup
from leadpipe.cli.contact import contact_app
from leadpipe.cli.export import export_app
from leadpipe.cli.imports import import_app
from leadpipe.cli.intake import intake_app
from leadpipe.config import Settings, get_settings
from leadpipe.errors import LeadpipeError
from leadpipe.storage import migrate
from leadpipe.storage.dialect import has_one_writer
from leadpipe.storage.engine import Database
from leadpipe.webhooks.examples import curl_example

APP = "leadpipe.app:create_app"

app = typer.Typer(help="leadpipe: lead intake, dedup, pipeline and timeline.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
webhook_app = typer.Typer(help="Intake webhooks.", no_args_is_help=True)
provider_app = typer.Typer(help="Lead providers and their credentials.", no_args_is_help=True)
user_app = typer.Typer(help="Dashboard users and their roles.", no_args_is_help=True)
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

console = Console()

T = TypeVar("T")


def _database(*, migrated: bool = False) -> tuple[Settings, Database]:
    """The configured database; ``migrated`` first brings its schema to head, so that admin
    commands work on a fresh database before anyone has run ``serve`` or ``db upgrade``."""
    settings = get_settings()
    db = Database.from_settings(settings)
    if migrated:
        migrate.upgrade(db.engine)
    return settings, db


def _in_a_transaction(work: Callable[[Connection], T]) -> T:
    """Run an admin command's ``work`` in one transaction on the migrated database; a
    refusal is printed and exits with status 1."""
    _, db = _database(migrated=True)
    try:
        with db.transaction() as conn:
            return work(conn)
    except LeadpipeError as exc:
        raise _fail(exc) from None


def _fail(exc: LeadpipeError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc.message}")
    for detail in exc.details:
        console.print(f"  - {detail.get('field')}: {detail.get('message')}")
    return typer.Exit(code=1)


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

    settings, db = _database()
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
        console.print(
            curl_example(settings.public_url, webhook_id, workspace_id),
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
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
    settings, db = _database()
    migrate.upgrade(db.engine, revision)
    console.print(f"Database at {revision}: {settings.database_url}")


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="Display name.")],
    workspace_id: Annotated[str | None, typer.Option("--id", help="Text id, e.g. 39135.")] = None,
    region: Annotated[str, typer.Option(help="Default phone region (ISO 3166).")] = "US",
    lead_window_days: Annotated[int, typer.Option(help="Update window for leads.")] = 30,
) -> None:
    """Create a workspace with the default pipeline."""
    from leadpipe.accounts.service import account

    created = _in_a_transaction(
        lambda conn: account.create_workspace(
            conn,
            name=name,
            workspace_id=workspace_id,
            default_region=region,
            lead_window_days=lead_window_days,
        )
    )
    console.print(f"Workspace created: {created}")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The address the user signs in with.")],
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace to join: id or name.")],
    role: Annotated[str, typer.Option(help="owner, admin, agent or viewer.")] = "agent",
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password: Annotated[
        str | None, typer.Option(help="At least 12 characters; generated when left out.")
    ] = None,
) -> None:
    """Create a user, a member of a workspace; a generated password is printed once."""
    from leadpipe.accounts.service import CreatedUser, account, user

    def create(conn: Connection) -> tuple[CreatedUser, str]:
        workspace_id = account.resolve_workspace(conn, workspace)
        made = user.create(
            conn, email=email, name=name, password=password, workspace_id=workspace_id, role=role
        )
        return made, workspace_id

    created, workspace_id = _in_a_transaction(create)
    console.print(f"User created: {created.email} ({role} of {workspace_id})", highlight=False)
    if created.password:
        console.print(f"Password (shown once): {created.password}", highlight=False)


@user_app.command("role")
def user_role(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    workspace: Annotated[str, typer.Option("--workspace", help="The workspace: id or name.")],
    role: Annotated[str, typer.Option(help="owner, admin, agent or viewer.")],
) -> None:
    """Add a user to a workspace, or change the role it has there."""
    from leadpipe.accounts.service import account, user

    def set_role(conn: Connection) -> str:
        workspace_id = account.resolve_workspace(conn, workspace)
        user.set_role(conn, email=email, workspace_id=workspace_id, role=role)
        return workspace_id

    workspace_id = _in_a_transaction(set_role)
    console.print(f"{email.strip()} is {role} of {workspace_id}", highlight=False)


@user_app.command("reset-password")
def user_reset_password(
    email: Annotated[str, typer.Argument(help="The user's email.")],
    password: Annotated[
        str | None, typer.Option(help="At least 12 characters; generated when left out.")
    ] = None,
) -> None:
    """Set a new password and lift a lockout; a generated one is printed once. The user's
    sessions end, and their live sockets close."""
    from leadpipe.accounts.service import user
    from leadpipe.realtime.events import Revocation
    from leadpipe.realtime.hub import announce

    def reset(conn: Connection) -> tuple[str | None, Revocation]:
        generated = user.reset_password(conn, email=email, password=password)
        return generated, user.revocation(conn, email)

    generated, signed_out = _in_a_transaction(reset)
    announce(get_settings(), [signed_out])
    console.print(f"Password changed for {email.strip()}", highlight=False)
    if generated:
        console.print(f"New password (shown once): {generated}", highlight=False)


@user_app.command("disable")
def user_disable(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Stop a user from signing in; their sessions end and their live sockets close."""
    _set_active(email, active=False)
    console.print(f"{email.strip()} is disabled", highlight=False)


@user_app.command("enable")
def user_enable(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """Let a disabled user sign in again."""
    _set_active(email, active=True)
    console.print(f"{email.strip()} may sign in again", highlight=False)


def _set_active(email: str, *, active: bool) -> None:
    from leadpipe.accounts.service import user
    from leadpipe.realtime.hub import announce

    changed = _in_a_transaction(lambda conn: user.set_active(conn, email, active=active))
    announce(get_settings(), [changed])


@apikey_app.command("create")
def apikey_create(
    workspace_id: Annotated[str, typer.Argument(help="Workspace (id or name) of the key.")],
    name: Annotated[str, typer.Option(help="What the key is for.")] = "CLI key",
    scope: Annotated[list[str] | None, typer.Option(help="read, write, admin (repeat).")] = None,
) -> None:
    """Create an API key; it is printed once and stored hashed."""
    from leadpipe.accounts.rules import SCOPES
    from leadpipe.accounts.service import account

    created = _in_a_transaction(
        lambda conn: account.create_api_key(
            conn,
            workspace_id=account.resolve_workspace(conn, workspace_id),
            name=name,
            scopes=tuple(scope or SCOPES),
        )
    )
    console.print(f"API key (shown once): {created.key}", highlight=False)
    console.print(f"Scopes: {', '.join(created.scopes)}")


@webhook_app.command("create")
def webhook_create(
    workspace: Annotated[str, typer.Argument(help="Workspace id or name.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "Webhook",
    webhook_id: Annotated[str | None, typer.Option("--id", help="Public id.")] = None,
    preset: Annotated[
        str,
        typer.Option(help="generic, facebook, google, typeform, unbounce, zapier, html_form."),
    ] = "generic",
    lead_type: Annotated[str | None, typer.Option(help="solar, hvac, insurance, ...")] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            help='JSON object of payload path → field, e.g. {"customer.personal.firstName": '
            '"firstname"}.'
        ),
    ] = None,
    require_phone: Annotated[bool, typer.Option(help="Refuse leads without a phone.")] = False,
    always_create_lead: Annotated[
        bool | None,
        typer.Option(
            help="Open a lead for every delivery, even without status/product/notes "
            "[default: on for a form's preset]."
        ),
    ] = None,
    dedup_scope: Annotated[str, typer.Option(help="workspace or webhook.")] = "workspace",
    duplicate_window_minutes: Annotated[
        int | None,
        typer.Option(
            help="An identical body within this many minutes is one delivery (0: off). "
            "[default: 60]"
        ),
    ] = None,
    signature_mode: Annotated[
        str, typer.Option(help="off, optional (checked when sent) or required.")
    ] = "off",
    provider_required: Annotated[
        bool, typer.Option(help="Take deliveries only with a provider's credential.")
    ] = False,
) -> None:
    """Create an intake webhook; print its URL, a curl example and its signing secret."""
    from leadpipe.accounts.service import account
    from leadpipe.webhooks.service import DEFAULT_DUPLICATE_WINDOW_MINUTES, webhook

    settings, _ = _database(migrated=True)
    try:
        field_mapping = json.loads(mapping) if mapping else {}
    except json.JSONDecodeError as exc:
        console.print(f"[red]error:[/red] --mapping is not JSON: {exc}")
        raise typer.Exit(code=1) from None

    def create(conn: Connection) -> tuple[str, str, str]:
        workspace_id = account.resolve_workspace(conn, workspace)
        created = webhook.create(
            conn,
            workspace_id=workspace_id,
            name=name,
            webhook_id=webhook_id,
            preset=preset,
            lead_type=lead_type,
            field_mapping=field_mapping,
            require_phone=require_phone,
            always_create_lead=always_create_lead,
            dedup_scope=dedup_scope,
            duplicate_window_minutes=(
                DEFAULT_DUPLICATE_WINDOW_MINUTES
                if duplicate_window_minutes is None
                else duplicate_window_minutes
            ),
            signature_mode=signature_mode,
            provider_required=provider_required,
        )
        return workspace_id, created, webhook.first_secret(conn, workspace_id, created)

    workspace_id, created, secret = _in_a_transaction(create)
    console.print(f"Webhook created: {admin.webhook_url(created)}", highlight=False, markup=False)
    console.print(f"Signing secret (shown once): {secret}", highlight=False, markup=False)
    console.print(
        curl_example(settings.public_url, created, workspace_id),
        soft_wrap=True,
        highlight=False,
        markup=False,
    )


admin.register(console, _in_a_transaction, workspace_app, webhook_app, apikey_app, provider_app)
backup.register(app, console)


@app.command()
def demo(
    leads: Annotated[int, typer.Option(help="How many deliveries to post.")] = 3000,
    workspace_id: Annotated[str, typer.Option("--workspace", help="Demo workspace id.")] = "demo",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
) -> None:
    """Create a demo workspace with a webhook and realistic leads over the last 90 days."""
    from leadpipe.cli.demo import run_demo

    _, db = _database(migrated=True)
    try:
        summary = run_demo(db, workspace_id=workspace_id, deliveries=leads, seed=seed)
    except LeadpipeError as exc:
        raise _fail(exc) from None
    console.print(
        f"Demo workspace '{workspace_id}': {summary.contacts} contacts, "
        f"{summary.leads} leads, {summary.updates} status updates, "
        f"webhook {summary.webhook_id}"
    )
    if summary.api_key:
        console.print(f"API key (shown once): {summary.api_key}", highlight=False)


def main() -> None:
    app()
