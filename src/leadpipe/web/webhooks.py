"""The webhook pages: the list, a webhook's settings (preset, who may deliver, secrets,
intake rules), its stats, the dry-run box, and its deliveries with replay."""

from __future__ import annotations

import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Connection

from leadpipe.accounts.sessions import SignedIn
from leadpipe.conditions.rules import in_match_order
from leadpipe.config import Settings
from leadpipe.deps import DASHBOARD_TAG, DatabaseDep, RequestId, SettingsDep
from leadpipe.errors import ValidationFailed, field_error
from leadpipe.intake.deliveries import deliveries
from leadpipe.intake.dry_run import dry_run
from leadpipe.intake.endpoints import graph_of, intake_line_of
from leadpipe.intake.parsing import kept_as_text_warnings
from leadpipe.kit.jsonvalues import NotJson, loads_as_sent
from leadpipe.pipeline.repository import StageRepository
from leadpipe.storage.engine import Database
from leadpipe.web.auth import Admin, Viewer
from leadpipe.web.forms import body_of, form_values
from leadpipe.web.render import page, redirect
from leadpipe.web.rules import (
    DELIVERIES_PER_PAGE,
    DELIVERY_OUTCOMES,
    DeliveryQuery,
    day_end,
    day_start,
    page_count,
    parse_delivery_query,
    zone,
)
from leadpipe.web.tables import memberships_of, time_zone_of_workspace
from leadpipe.webhooks.examples import curl_example
from leadpipe.webhooks.presets import PRESETS
from leadpipe.webhooks.schemas import WebhookPatch
from leadpipe.webhooks.service import webhook

router = APIRouter(tags=[DASHBOARD_TAG], include_in_schema=False)

# The preset settings the webhook page's form may send.
PRESET_FIELDS = ("verify_token", "page_token", "google_key", "redirect_url")


@router.get("/app/webhooks", response_class=HTMLResponse)
async def webhooks_page(
    request: Request, who: Viewer, db: DatabaseDep, settings: SettingsDep
) -> Response:
    def read(conn: Connection) -> dict[str, Any]:
        assert who.workspace_id is not None
        hooks = webhook.for_workspace(conn, who.workspace_id, include_deleted=True)
        return {
            "webhooks": hooks,
            "memberships": memberships_of(conn, who),
            "presets": PRESETS,
            "time_zone": time_zone_of_workspace(conn, who.workspace_id),
        }

    data = await db.read(read)
    base = settings.public_url.rstrip("/")
    for hook in data["webhooks"]:
        hook["url"] = f"{base}/webhooks/{hook['id']}"
        hook["curl"] = curl_example(settings.public_url, hook["id"], hook["workspace_id"])
    return page(request, "webhooks.html", data)


@router.post("/app/webhooks")
async def create_webhook(request: Request, who: Admin, db: DatabaseDep) -> Response:
    values = await form_values(request)
    name = values.get("name", "")
    if not name:
        raise ValidationFailed("Invalid webhook", [field_error("name", "give it a name")])

    def create(conn: Connection) -> str:
        assert who.workspace_id is not None
        return webhook.create(
            conn,
            workspace_id=who.workspace_id,
            name=name[:200],
            preset=values.get("preset", "generic"),
            lead_type=values.get("lead_type") or None,
            default_source=values.get("default_source") or None,
            require_phone=values.get("require_phone") == "on",
            always_create_lead=True if values.get("always_create_lead") == "on" else None,
        )

    created = await db.write(create)
    return redirect(f"/app/webhooks/{created}", request)


@router.post("/app/webhooks/{webhook_id}/status")
async def set_webhook_status(
    webhook_id: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    enabled = (await form_values(request)).get("enabled") == "true"

    def change(conn: Connection) -> None:
        assert who.workspace_id is not None
        webhook.update(conn, who.workspace_id, webhook_id, {"is_active": enabled})

    await db.write(change)
    back = request.headers.get("referer", "")
    target = f"/app/webhooks/{webhook_id}" if webhook_id in back else "/app/webhooks"
    return redirect(target, request)


@router.post("/app/webhooks/{webhook_id}/delete")
async def delete_webhook(
    webhook_id: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    """Deleted softly: it stops taking deliveries and can be restored for a day."""

    def delete(conn: Connection) -> None:
        assert who.workspace_id is not None
        webhook.delete(conn, who.workspace_id, webhook_id)

    await db.write(delete)
    return redirect("/app/webhooks", request)


@router.post("/app/webhooks/{webhook_id}/restore")
async def restore_webhook(
    webhook_id: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    def restore(conn: Connection) -> None:
        assert who.workspace_id is not None
        webhook.restore(conn, who.workspace_id, webhook_id)

    await db.write(restore)
    return redirect(f"/app/webhooks/{webhook_id}", request)


@router.get("/app/webhooks/{webhook_id}", response_class=HTMLResponse)
async def webhook_page(
    webhook_id: str, request: Request, who: Viewer, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """The webhook's page, its delivery log filtered (``status``, ``created_from``,
    ``created_to``) and paged (``page``) as its query string says."""
    query, ignored = parse_delivery_query(request.query_params)
    shown = {"ignored": ignored}
    return await _webhook_page(request, who, db, settings, webhook_id, query=query, shown=shown)


async def _webhook_page(
    request: Request,
    who: SignedIn,
    db: Database,
    settings: Settings,
    webhook_id: str,
    *,
    query: DeliveryQuery | None = None,
    shown: dict[str, Any] | None = None,
) -> Response:
    """The webhook's page; ``shown``: what an action shows once (a new secret, a dry
    run's outcome)."""
    query = query or DeliveryQuery()

    def read(conn: Connection) -> dict[str, Any]:
        assert who.workspace_id is not None
        hook = webhook.get(conn, who.workspace_id, webhook_id)
        time_zone = time_zone_of_workspace(conn, who.workspace_id)
        return {
            "hook": hook,
            "stats": deliveries.periods(conn, webhook_id),
            "stages": StageRepository(conn).active_stages(who.workspace_id),
            **_delivery_log(conn, who.workspace_id, webhook_id, query, zone(time_zone)),
            "memberships": memberships_of(conn, who),
            "time_zone": time_zone,
        }

    data = await db.read(read)
    data["url"] = f"{settings.public_url.rstrip('/')}/webhooks/{webhook_id}"
    data["curl"] = curl_example(settings.public_url, webhook_id, data["hook"]["workspace_id"])
    data["presets"] = PRESETS
    data["rules_json"] = json.dumps(
        [_rule_as_written(r) for r in data["hook"]["intake_rules"]], indent=2
    )
    data["rules_in_match_order"] = in_match_order(data["hook"]["intake_rules"])
    data["preset"] = PRESETS.get(data["hook"]["preset"], PRESETS["generic"])
    return page(request, "webhook.html", {**data, **(shown or {})})


def _delivery_log(
    conn: Connection, workspace_id: str, webhook_id: str, query: DeliveryQuery, tz: ZoneInfo
) -> dict[str, Any]:
    """A page of the webhook's deliveries as ``query`` filters them (its days in ``tz``),
    how many match, and how many leads they created or updated."""
    status = query.status or None
    start = day_start(query.created_from, tz) if query.created_from else None
    end = day_end(query.created_to, tz) if query.created_to else None
    rows, total = deliveries.page(
        conn,
        workspace_id,
        webhook_id,
        status=status,
        created_from=start,
        created_to=end,
        limit=DELIVERIES_PER_PAGE,
        offset=query.offset,
    )
    touched = deliveries.leads_touched(
        conn, workspace_id, webhook_id, status=status, created_from=start, created_to=end
    )
    return {
        "deliveries": rows,
        "total": total,
        "leads_touched": touched,
        "query": query,
        "pages": page_count(total, DELIVERIES_PER_PAGE),
        "per_page": DELIVERIES_PER_PAGE,
        "outcomes": DELIVERY_OUTCOMES,
    }


@router.post("/app/webhooks/{webhook_id}/intake")
async def set_webhook_intake(
    webhook_id: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    """Who may deliver and how often, and the preset with its settings."""
    values = await form_values(request)
    preset_settings = {k: values.pop(k) for k in PRESET_FIELDS if k in values}
    changes: dict[str, Any] = {
        "preset": values.get("preset", "generic"),
        "signature_mode": values.get("signature_mode", "off"),
        "provider_required": values.get("provider_required") == "on",
        "rate_limit": values.get("rate_limit"),
        "rate_window_seconds": values.get("rate_window_seconds"),
        "preset_settings": preset_settings,
        "required_fields": [
            f.strip() for f in values.get("required_fields", "").split(",") if f.strip()
        ],
    }
    await _change_webhook(who, db, webhook_id, changes)
    return redirect(f"/app/webhooks/{webhook_id}", request)


@router.post("/app/webhooks/{webhook_id}/rules")
async def set_webhook_rules(
    webhook_id: str, request: Request, who: Admin, db: DatabaseDep
) -> Response:
    """The default status of new contacts' leads, and the intake rules as JSON."""
    values = await form_values(request)
    try:
        rules = json.loads(values.get("intake_rules", "[]"))
    except (ValueError, RecursionError) as exc:  # thousands of digits; nested past the stack
        raise ValidationFailed(
            "Invalid webhook", [field_error("intake_rules", f"is not JSON: {exc}")]
        ) from None
    changes = {"default_status": values.get("default_status"), "intake_rules": rules}
    await _change_webhook(who, db, webhook_id, changes)
    return redirect(f"/app/webhooks/{webhook_id}#rules", request)


async def _change_webhook(
    who: SignedIn, db: Database, webhook_id: str, changes: dict[str, Any]
) -> None:
    """A form's settings, checked as the API's PATCH body, then saved."""
    body = body_of(WebhookPatch, changes, "webhook")

    def change(conn: Connection) -> None:
        assert who.workspace_id is not None
        webhook.update(conn, who.workspace_id, webhook_id, body.model_dump(exclude_unset=True))

    await db.write(change)


@router.post("/app/webhooks/{webhook_id}/secrets", response_class=HTMLResponse)
async def rotate_webhook_secret(
    webhook_id: str, request: Request, who: Admin, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """A new signing secret, shown on the page this once; the old ones verify for a day."""
    values = await form_values(request)

    def rotate(conn: Connection) -> str:
        assert who.workspace_id is not None
        secret, _ = webhook.rotate_secret(
            conn, who.workspace_id, webhook_id, secret=values.get("secret")
        )
        return secret

    secret = await db.write(rotate)
    return await _webhook_page(request, who, db, settings, webhook_id, shown={"new_secret": secret})


@router.post("/app/webhooks/{webhook_id}/test", response_class=HTMLResponse)
async def test_webhook_payload(
    webhook_id: str,
    request: Request,
    who: Viewer,
    db: DatabaseDep,
    settings: SettingsDep,
    request_id: RequestId,
) -> Response:
    """The dry run of a pasted payload, shown under the box it was pasted into."""
    text = (await form_values(request)).get("payload", "")
    problem: str | None = None
    try:
        read = loads_as_sent(text)  # as intake reads a delivery: the same verdict
    except NotJson as exc:
        read, problem = None, f"This is not JSON: {exc}"
    if read is not None and not isinstance(read.value, dict):
        problem = "Paste a JSON object: { ... }"
    outcome = None
    if read is not None and problem is None:
        assert who.workspace_id is not None
        workspace_id, payload = who.workspace_id, read.value
        warnings = kept_as_text_warnings(read.kept_as_text)
        try:
            outcome = await db.read(
                lambda conn: dry_run(conn, workspace_id, webhook_id, payload, request_id, warnings)
            )
        except ValidationFailed as exc:  # a body intake could not read (NUL, too deep)
            problem = "; ".join(
                [exc.message, *(f"{d['field']} {d['message']}" for d in exc.details)]
            )
    shown = {"dry_run": outcome, "dry_run_problem": problem, "dry_run_payload": text}
    return await _webhook_page(request, who, db, settings, webhook_id, shown=shown)


def _rule_as_written(rule: dict[str, Any]) -> dict[str, Any]:
    """A stored rule as an administrator writes it (without the assignee's user id)."""
    actions = {k: v for k, v in rule["actions"].items() if k != "assigned_user_id"}
    return {**rule, "actions": actions}


@router.get("/app/webhooks/{webhook_id}/deliveries/{delivery_id}", response_class=HTMLResponse)
async def delivery_page(
    webhook_id: str, delivery_id: uuid.UUID, request: Request, who: Viewer, db: DatabaseDep
) -> Response:
    def read(conn: Connection) -> dict[str, Any]:
        assert who.workspace_id is not None
        return {
            "hook": webhook.get(conn, who.workspace_id, webhook_id),
            "d": deliveries.one(conn, who.workspace_id, webhook_id, delivery_id),
            "memberships": memberships_of(conn, who),
            "time_zone": time_zone_of_workspace(conn, who.workspace_id),
        }

    return page(request, "delivery.html", await db.read(read))


@router.post("/app/webhooks/{webhook_id}/deliveries/{delivery_id}/replay")
async def replay(
    webhook_id: str,
    delivery_id: uuid.UUID,
    request: Request,
    who: Admin,
    db: DatabaseDep,
    request_id: RequestId,
) -> Response:
    """Run a refused delivery again, as the API's replay does."""
    assert who.workspace_id is not None
    outcome = await deliveries.replay(
        db,
        intake_line_of(request),
        graph_of(request),
        who.workspace_id,
        webhook_id,
        delivery_id,
        request_id,
    )
    target = outcome["replayed_as"] or delivery_id
    return redirect(f"/app/webhooks/{webhook_id}/deliveries/{target}", request)
