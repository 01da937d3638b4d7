"""The admin commands that list, show and change what exists: workspaces, webhooks and
API keys. A workspace is given by its id or its name."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from leadpipe.accounts.repository import ApiKeyRepository, WorkspaceRepository
from leadpipe.accounts.service import account
from leadpipe.config import get_settings
from leadpipe.providers.service import provider
from leadpipe.realtime.hub import announce
from leadpipe.webhooks.examples import curl_example
from leadpipe.webhooks.service import webhook


def webhook_url(webhook_id: str) -> str:
    """Where providers post: from LEADPIPE_PUBLIC_URL, which a shared server needs."""
    url = f"{get_settings().public_url.rstrip('/')}/webhooks/{webhook_id}"
    if "LEADPIPE_PUBLIC_URL" not in os.environ:
        return f"{url}  (set LEADPIPE_PUBLIC_URL to the address providers reach)"
    return url


def print_rows(console: Any, headers: tuple[str, ...], rows: Sequence[tuple[Any, ...]]) -> None:
    """Aligned columns, never wrapped or cut: ids are copied from them."""
    widths = [max(len(str(v)) for v in column) for column in zip(headers, *rows, strict=False)]
    for row in (headers, *rows):
        line = "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        console.print(line, soft_wrap=True, highlight=False, markup=False)
    if not rows:
        console.print("(none)")


WorkspaceArg = Annotated[str, typer.Argument(help="Workspace id or name.")]
WebhookArg = Annotated[str, typer.Argument(help="Webhook id.")]


def register(
    console: Any,
    in_a_transaction: Callable[[Callable[[Connection], Any]], Any],
    workspace_app: typer.Typer,
    webhook_app: typer.Typer,
    apikey_app: typer.Typer,
    provider_app: typer.Typer,
) -> None:
    """Adds the commands to the ``leadpipe`` command's groups."""

    @workspace_app.command("list")
    def workspace_list() -> None:
        """Every workspace."""
        rows = [
            (w.id, w.name, w.default_region, f"{w.lead_window_days} d", f"{w.created_at:%Y-%m-%d}")
            for w in in_a_transaction(lambda conn: WorkspaceRepository(conn).all())
        ]
        print_rows(console, ("id", "name", "region", "lead window", "created"), rows)

    @webhook_app.command("list")
    def webhook_list(
        workspace: WorkspaceArg,
        deleted: Annotated[bool, typer.Option(help="Also the deleted ones.")] = False,
    ) -> None:
        """A workspace's webhooks."""

        def read(conn: Connection) -> list[dict[str, Any]]:
            workspace_id = account.resolve_workspace(conn, workspace)
            return webhook.for_workspace(conn, workspace_id, include_deleted=deleted)

        rows = []
        for h in in_a_transaction(read):
            status = "deleted" if h["deleted_at"] else "enabled" if h["is_active"] else "disabled"
            last = f"{h['last_lead_at']:%Y-%m-%d %H:%M}" if h["last_lead_at"] else "never"
            rows.append((h["id"], h["name"], status, f"{h['total_leads']:,}", last))
        print_rows(console, ("id", "name", "status", "leads", "last lead"), rows)

    def one_webhook(workspace: str, webhook_id: str) -> Callable[[Connection], dict[str, Any]]:
        def read(conn: Connection) -> dict[str, Any]:
            return webhook.get(conn, account.resolve_workspace(conn, workspace), webhook_id)

        return read

    @webhook_app.command("show")
    def webhook_show(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
        """A webhook's settings, counters, URL and a curl example."""
        hook = in_a_transaction(one_webhook(workspace, webhook_id))
        shown = {
            k: v for k, v in hook.items() if k not in ("workspace_id",) and not isinstance(v, bytes)
        }
        console.print(json.dumps(shown, indent=2, default=str), highlight=False, markup=False)
        console.print(f"URL: {webhook_url(webhook_id)}", highlight=False, markup=False)
        console.print(
            curl_example(get_settings().public_url, webhook_id, hook["workspace_id"]),
            soft_wrap=True,
            highlight=False,
            markup=False,
        )

    def change(workspace: str, webhook_id: str, what: str, fn: Callable[..., Any]) -> None:
        def run(conn: Connection) -> Any:
            return fn(conn, account.resolve_workspace(conn, workspace))

        in_a_transaction(run)
        console.print(f"Webhook {webhook_id} {what}", highlight=False)

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
        signature_mode: Annotated[
            str | None, typer.Option(help="off, optional or required.")
        ] = None,
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
        changes: dict[str, Any] = {
            key: value
            for key, value in {
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
            }.items()
            if value is not None
        }
        if mapping is not None:
            try:
                changes["field_mapping"] = json.loads(mapping)
            except json.JSONDecodeError as exc:
                console.print(f"[red]error:[/red] --mapping is not JSON: {exc}")
                raise typer.Exit(code=1) from None
        change(
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

        def rotate(conn: Connection) -> str:
            workspace_id = account.resolve_workspace(conn, workspace)
            return webhook.rotate_secret(conn, workspace_id, webhook_id, secret=secret)[0]

        added = in_a_transaction(rotate)
        console.print(f"Signing secret (shown once): {added}", highlight=False, markup=False)

    @webhook_app.command("enable")
    def webhook_enable(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
        """Take deliveries again."""
        change(
            workspace,
            webhook_id,
            "enabled",
            lambda conn, ws: webhook.update(conn, ws, webhook_id, {"is_active": True}),
        )

    @webhook_app.command("disable")
    def webhook_disable(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
        """Answer deliveries with 404 until enabled."""
        change(
            workspace,
            webhook_id,
            "disabled",
            lambda conn, ws: webhook.update(conn, ws, webhook_id, {"is_active": False}),
        )

    @webhook_app.command("delete")
    def webhook_delete(
        workspace: WorkspaceArg,
        webhook_id: WebhookArg,
        force: Annotated[bool, typer.Option(help="At once, not restorable.")] = False,
    ) -> None:
        """Delete a webhook: restorable for 24 hours unless --force. Its leads stay."""
        what = "deleted" if force else "deleted (restorable for 24 hours)"
        change(
            workspace,
            webhook_id,
            what,
            lambda conn, ws: webhook.delete(conn, ws, webhook_id, force=force),
        )

    @webhook_app.command("restore")
    def webhook_restore(workspace: WorkspaceArg, webhook_id: WebhookArg) -> None:
        """Undo a delete within 24 hours."""
        change(
            workspace,
            webhook_id,
            "restored",
            lambda conn, ws: webhook.restore(conn, ws, webhook_id),
        )

    @apikey_app.command("list")
    def apikey_list(workspace: WorkspaceArg) -> None:
        """A workspace's API keys (their prefixes: keys are stored hashed)."""

        def read(conn: Connection) -> list[dict[str, Any]]:
            return ApiKeyRepository(conn).for_workspace(account.resolve_workspace(conn, workspace))

        rows = [
            (
                str(k["id"]),
                k["name"],
                k["prefix"] + "…",
                ",".join(k["scopes"] or []),
                f"{k['created_at']:%Y-%m-%d}",
                f"{k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "-",
            )
            for k in in_a_transaction(read)
        ]
        print_rows(console, ("id", "name", "prefix", "scopes", "created", "revoked"), rows)

    @apikey_app.command("revoke")
    def apikey_revoke(
        key_id: Annotated[str, typer.Argument(help="The key's id (apikey list).")],
    ) -> None:
        """Refuse a key from now on; the live sockets it opened close."""
        revoked = in_a_transaction(lambda conn: account.revoke_api_key(conn, key_id))
        announce(get_settings(), [revoked])
        console.print(f"API key {key_id} revoked", highlight=False)

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

        def create(conn: Connection) -> tuple[dict[str, Any], str]:
            return provider.create(
                conn,
                account.resolve_workspace(conn, workspace),
                name=name,
                provider_id=provider_id,
                company=company,
                contact_name=contact_name,
                email=email,
                phone=phone,
                allowed_webhooks=webhook_ids or None,
                hourly_limit=hourly_limit,
                notes=notes,
            )

        made, key = in_a_transaction(create)
        console.print(f"Provider created: {made['id']}", highlight=False, markup=False)
        console.print(f"Credential (shown once): {key}", highlight=False, markup=False)
        console.print("It sends: Authorization: Bearer <credential>", highlight=False, markup=False)

    @provider_app.command("list")
    def provider_list(workspace: WorkspaceArg) -> None:
        """A workspace's providers."""

        def read(conn: Connection) -> list[dict[str, Any]]:
            return provider.for_workspace(conn, account.resolve_workspace(conn, workspace))

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
            for p in in_a_transaction(read)
        ]
        headers = ("id", "name", "company", "status", "webhooks", "limit", "last used")
        print_rows(console, headers, rows)

    @provider_app.command("rotate")
    def provider_rotate(
        workspace: WorkspaceArg,
        provider_id: Annotated[str, typer.Argument(help="The provider's id.")],
    ) -> None:
        """A new credential, shown once; the old one stops working at once."""

        def rotate(conn: Connection) -> tuple[dict[str, Any], str]:
            return provider.rotate(conn, account.resolve_workspace(conn, workspace), provider_id)

        _, key = in_a_transaction(rotate)
        console.print(f"New credential (shown once): {key}", highlight=False, markup=False)
