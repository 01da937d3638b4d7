"""``leadpipe webhook``: a workspace's intake webhooks, listed, shown and changed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from leadpipe.cli.common import (
    WorkspaceArg,
    console,
    in_workspace,
    json_option,
    print_curl,
    print_rows,
    say,
)
from leadpipe.config import get_settings
from leadpipe.webhooks.service import DEFAULT_DUPLICATE_WINDOW_MINUTES, webhook

webhook_app = typer.Typer(help="Intake webhooks.", no_args_is_help=True)

WebhookArg = Annotated[str, typer.Argument(help="Webhook id.")]
# webhook create's options that take more than a line to say.
PresetOpt = Annotated[
    str, typer.Option(help="generic, facebook, google, typeform, unbounce, zapier, html_form.")
]
MappingOpt = Annotated[
    str | None,
    typer.Option(
        help='JSON object of payload path → field, e.g. {"customer.personal.firstName": '
        '"firstname"}.'
    ),
]
AlwaysCreateLeadOpt = Annotated[
    bool | None,
    typer.Option(
        help="Open a lead for every delivery, even without status/product/notes "
        "[default: on for a form's preset]."
    ),
]
DuplicateWindowOpt = Annotated[
    int | None,
    typer.Option(
        help="An identical body within this many minutes is one delivery (0: off). [default: 60]"
    ),
]
SignatureModeOpt = Annotated[
    str, typer.Option(help="off, optional (checked when sent) or required.")
]


def webhook_url(webhook_id: str) -> str:
    """Where providers post: from LEADPIPE_PUBLIC_URL, which a shared server needs."""
    url = f"{get_settings().public_url.rstrip('/')}/webhooks/{webhook_id}"
    if "LEADPIPE_PUBLIC_URL" not in os.environ:
        return f"{url}  (set LEADPIPE_PUBLIC_URL to the address providers reach)"
    return url


@webhook_app.command("create")
def webhook_create(
    workspace: WorkspaceArg,
    name: Annotated[str, typer.Option(help="Display name.")] = "Webhook",
    webhook_id: Annotated[str | None, typer.Option("--id", help="Public id.")] = None,
    preset: PresetOpt = "generic",
    lead_type: Annotated[str | None, typer.Option(help="solar, hvac, insurance, ...")] = None,
    mapping: MappingOpt = None,
    require_phone: Annotated[bool, typer.Option(help="Refuse leads without a phone.")] = False,
    always_create_lead: AlwaysCreateLeadOpt = None,
    dedup_scope: Annotated[str, typer.Option(help="workspace or webhook.")] = "workspace",
    duplicate_window_minutes: DuplicateWindowOpt = None,
    signature_mode: SignatureModeOpt = "off",
    provider_required: Annotated[
        bool, typer.Option(help="Take deliveries only with a provider's credential.")
    ] = False,
) -> None:
    """Create an intake webhook; print its URL, a curl example and its signing secret."""
    field_mapping = json_option("--mapping", mapping) if mapping else {}
    if duplicate_window_minutes is None:
        duplicate_window_minutes = DEFAULT_DUPLICATE_WINDOW_MINUTES

    def create(conn: Connection, workspace_id: str) -> tuple[str, str, str]:
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
            duplicate_window_minutes=duplicate_window_minutes,
            signature_mode=signature_mode,
            provider_required=provider_required,
        )
        return workspace_id, created, webhook.first_secret(conn, workspace_id, created)

    workspace_id, created, secret = in_workspace(workspace, create)
    say(f"Webhook created: {webhook_url(created)}")
    say(f"Signing secret (shown once): {secret}")
    print_curl(get_settings().public_url, created, workspace_id)


@webhook_app.command("list")
def webhook_list(
    workspace: WorkspaceArg,
    deleted: Annotated[bool, typer.Option(help="Also the deleted ones.")] = False,
) -> None:
    """A workspace's webhooks."""
    rows = []
    found = in_workspace(
        workspace, lambda conn, ws: webhook.for_workspace(conn, ws, include_deleted=deleted)
    )
    for h in found:
        status = "deleted" if h["deleted_at"] else "enabled" if h["is_active"] else "disabled"
        last = f"{h['last_lead_at']:%Y-%m-%d %H:%M}" if h["last_lead_at"] else "never"
        rows.append((h["id"], h["name"], status, f"{h['total_leads']:,}", last))
    print_rows(("id", "name", "status", "leads", "last lead"), rows)


@webhook_app.command("show")
def webhook_show(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
    """A webhook's settings, counters, URL and a curl example."""
    hook = in_workspace(workspace, lambda conn, ws: webhook.get(conn, ws, webhook_id))
    shown = {
        k: v for k, v in hook.items() if k not in ("workspace_id",) and not isinstance(v, bytes)
    }
    say(json.dumps(shown, indent=2, default=str))
    say(f"URL: {webhook_url(webhook_id)}")
    print_curl(get_settings().public_url, webhook_id, hook["workspace_id"])


@webhook_app.command("update")
def webhook_update(
    workspace: WorkspaceArg,
    webhook_id: WebhookArg,
    name: Annotated[str | None, typer.Option()] = None,
    mapping: Annotated[str | None, typer.Option(help="Field mapping as JSON.")] = None,
    default_source: Annotated[str | None, typer.Option()] = None,
    lead_type: Annotated[str | None, typer.Option()] = None,
    duplicate_window_minutes: Annotated[int | None, typer.Option()] = None,
    preset: Annotated[str | None, typer.Option(help="facebook, google, typeform, ...")] = None,
    signature_mode: Annotated[str | None, typer.Option(help="off, optional or required.")] = None,
    provider_required: Annotated[
        bool | None, typer.Option(help="Take deliveries only with a provider's credential.")
    ] = None,
    rate_limit: Annotated[int | None, typer.Option(help="Deliveries per window.")] = None,
    rate_window_seconds: Annotated[int | None, typer.Option(help="The window.")] = None,
    required_fields: Annotated[
        list[str] | None, typer.Option("--required-field", help="Repeat for each field.")
    ] = None,
) -> None:
    """Change some of a webhook's settings."""
    given = {
        "name": name,
        "default_source": default_source,
        "lead_type": lead_type,
        "duplicate_window_minutes": duplicate_window_minutes,
        "preset": preset,
        "signature_mode": signature_mode,
        "provider_required": provider_required,
        "rate_limit": rate_limit,
        "rate_window_seconds": rate_window_seconds,
        "required_fields": required_fields,
    }
    changes: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if mapping is not None:
        changes["field_mapping"] = json_option("--mapping", mapping)
    _change(
        workspace,
        webhook_id,
        "updated",
        lambda conn, ws: webhook.update(conn, ws, webhook_id, changes),
    )


@webhook_app.command("add-secret")
def webhook_add_secret(
    workspace: WorkspaceArg,
    webhook_id: WebhookArg,
    secret: Annotated[
        str | None, typer.Option(help="One the sender gave (Typeform's, an app secret).")
    ] = None,
) -> None:
    """Add a signing secret, printed once; the current ones verify for 24 more hours."""
    added, _ = in_workspace(
        workspace, lambda conn, ws: webhook.rotate_secret(conn, ws, webhook_id, secret=secret)
    )
    say(f"Signing secret (shown once): {added}")


@webhook_app.command("enable")
def webhook_enable(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
    """Take deliveries again."""
    _set_active(workspace, webhook_id, active=True)


@webhook_app.command("disable")
def webhook_disable(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
    """Answer deliveries with 404 until enabled."""
    _set_active(workspace, webhook_id, active=False)


@webhook_app.command("delete")
def webhook_delete(
    workspace: WorkspaceArg,
    webhook_id: WebhookArg,
    force: Annotated[bool, typer.Option(help="At once, not restorable.")] = False,
) -> None:
    """Delete a webhook: restorable for 24 hours unless --force. Its leads stay."""
    what = "deleted" if force else "deleted (restorable for 24 hours)"
    _change(
        workspace,
        webhook_id,
        what,
        lambda conn, ws: webhook.delete(conn, ws, webhook_id, force=force),
    )


@webhook_app.command("restore")
def webhook_restore(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
    """Undo a delete within 24 hours."""
    _change(
        workspace, webhook_id, "restored", lambda conn, ws: webhook.restore(conn, ws, webhook_id)
    )


def _set_active(workspace: str, webhook_id: str, *, active: bool) -> None:
    _change(
        workspace,
        webhook_id,
        "enabled" if active else "disabled",
        lambda conn, ws: webhook.update(conn, ws, webhook_id, {"is_active": active}),
    )


def _change(
    workspace: str, webhook_id: str, what: str, work: Callable[[Connection, str], Any]
) -> None:
    """``work`` done to the webhook in its workspace, then said (``what``: its past)."""
    in_workspace(workspace, work)
    console.print(f"Webhook {webhook_id} {what}", highlight=False)
