"""A dry run of a webhook: what intake would do with a payload, written nowhere."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection

from leadpipe.errors import LeadpipeError, NotFound
from leadpipe.intake import steps
from leadpipe.intake.batch import Batch, Run
from leadpipe.intake.contexts import WebhookContexts
from leadpipe.intake.guard import IntakeGuard
from leadpipe.intake.parsing import Warnings, checked_payload, refuse_unreadable
from leadpipe.intake.schemas import Delivery
from leadpipe.kit.clock import utcnow
from leadpipe.leads.rules import LeadAction
from leadpipe.leads.submission import find_contacts, match, plan_found
from leadpipe.webhooks.repository import WebhookRepository


def dry_run(
    conn: Connection,
    workspace_id: str,
    webhook_id: str,
    payload: dict[str, Any],
    request_id: str,
    warnings: Warnings | None = None,
) -> dict[str, Any]:
    """The fields a payload maps to, its warnings, the contact it would match and why,
    and the lead decision with its rule, the stage it would open in or move to and the
    intake rule that would fire; or the refusal it would get. Signatures,
    credentials and limits are the sender's, and are not checked here. A payload that
    intake could not read (nested too deep, text no column can store) is refused as a
    delivery's body is, with the same 400. ``warnings``: those of reading it (the numbers
    kept as text); None when another reader decoded it, whose numbers are then kept as
    text here."""
    ctx = WebhookRepository(conn).context(webhook_id)
    if ctx is None or ctx.workspace_id != workspace_id:
        raise NotFound(f"No webhook '{webhook_id}' in this workspace")
    if warnings is None:
        payload, warnings = checked_payload(payload)
    else:
        refuse_unreadable(payload)
    delivery = Delivery(
        webhook_id=webhook_id,
        payload=payload,
        problem=None,
        warnings=warnings,
        workspace_header=None,
        delivery_key=None,
        content_type="application/json",
        ip_address=None,
        user_agent=None,
        request_id=request_id,
        started=time.perf_counter(),
        from_admin=True,
    )
    run = Run(delivery, utcnow(), idempotency_days=0)
    batch = Batch(conn, WebhookContexts(), IntakeGuard(), optimistic=False)
    try:
        item = steps.check(run, batch, {})
        (candidates,) = find_contacts(conn, [item.request])
        found = item.match = match(item.request, candidates)
    except LeadpipeError as exc:
        return {"accepted": False, "refusal": exc.body(request_id), "http_status": exc.status_code}
    sub = item.submission
    plan = plan_found(conn, item.request, found, run.now)
    existing = plan.existing
    decision = plan.decision
    return {
        "accepted": True,
        "http_status": 200,
        "test": item.test,
        "fields": {
            **sub.contact,
            **{k: v for k, v in sub.lead.items() if k not in ("custom_fields", "consent_proof")},
            "phone_number": sub.identity.phone,
            "email": sub.identity.email,
            "crm_id": sub.identity.crm_id,
            "source": plan.source,
            "product": sub.product,
            "status": sub.status,
            "notes": sub.notes,
        },
        "custom_fields": sub.custom_fields,
        "vertical_fields": sub.lead.get("custom_fields") or {},
        "consent_proof": sub.lead.get("consent_proof"),
        "warnings": list(sub.warnings),
        "contact": {
            "match_type": found.match_type.value,
            "contact_id": str(found.matched.id) if found.matched is not None else None,
            "candidates": len(found.candidates),
        },
        "lead": {
            "action": decision.action.value,
            "rule": decision.rule.value,
            "reason": decision.reason,
            "lead_id": str(existing.id)
            if decision.action is LeadAction.UPDATE and existing
            else None,
            # Where it would open or move to, and the intake rule that would set it up.
            "stage": plan.target.slug if plan.target is not None else None,
            "rule_applied": plan.fired["name"] if plan.fired else None,
        },
    }
