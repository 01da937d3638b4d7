"""The steps of one delivery inside a batch: check it, find the earlier delivery it
repeats and the lead it may update, then write its contact, lead, log entry and answer."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from leadpipe.contacts.rules import MatchType
from leadpipe.errors import (
    Conflict,
    Forbidden,
    LeadpipeError,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from leadpipe.intake.batch import Batch, Checked, Run
from leadpipe.intake.guard import Providers
from leadpipe.intake.log import log_delivery, log_duplicate
from leadpipe.intake.parsing import MULTIPART, body_kind
from leadpipe.intake.repository import DeliveryRepository
from leadpipe.intake.rules.deliveries import BODY_CLAIM_PREFIX, delivery_claim, duplicate_answer
from leadpipe.intake.schemas import Delivery, IntakeResult
from leadpipe.kit.bodies import canonical_form
from leadpipe.kit.urls import is_web_url
from leadpipe.leads import submission as command
from leadpipe.leads.rules import LeadAction
from leadpipe.leads.submission import (
    ContactOutcome,
    Destination,
    Entrance,
    KnownLeads,
    LeadOutcome,
    Request,
)
from leadpipe.payloads.mapping import extract
from leadpipe.payloads.rules import Submission, missing_required, validate
from leadpipe.payloads.verticals import with_consent_proof, with_vertical_fields
from leadpipe.realtime import events
from leadpipe.realtime.events import Event
from leadpipe.webhooks.presets import flattened
from leadpipe.webhooks.repository import WebhookContext


def check(run: Run, batch: Batch, providers: Providers) -> Checked:
    """The delivery's webhook and payload, checked; nothing read about its person yet."""
    d = run.delivery
    run.wrote = False
    ctx = _resolve_webhook(run, batch)
    batch.guard.admit(run, ctx, providers)
    if d.problem is not None:
        raise d.problem
    assert d.payload is not None
    flat = flattened(ctx.preset, d.payload, ctx.preset_settings)
    submission = _validate(ctx, flat.payload, run)
    if d.warnings:  # the body's own: numbers kept as the text sent (intake/parsing.py)
        submission = dataclasses.replace(submission, warnings=d.warnings + submission.warnings)
    if flat.warnings:  # the preset's own: values of an odd shape, kept as sent
        submission = dataclasses.replace(submission, warnings=flat.warnings + submission.warnings)
    key = d.delivery_key or flat.key
    claim = delivery_claim(
        key,
        None if key is not None else _as_compared(d),
        now=run.now,
        idempotency_days=run.idempotency_days,
        duplicate_window_minutes=ctx.duplicate_window_minutes,
    )
    request = Request(
        destination_of(ctx),
        entrance_of(ctx),
        submission,
        payload=d.payload,
        ip_address=d.ip_address,
        user_agent=d.user_agent,
    )
    return Checked(run, ctx, request, claim, test=flat.test)


def destination_of(ctx: WebhookContext) -> Destination:
    """Where a webhook's submissions go, and its settings that decide for them."""
    return Destination(
        workspace_id=ctx.workspace_id,
        region=ctx.region,
        stages=ctx.stages,
        window_days=ctx.window_days,
        scope=ctx.id if ctx.dedup_scope == "webhook" else "",
        lead_type=ctx.lead_type,
        always_create_lead=ctx.always_create_lead,
        default_status=ctx.default_status,
        intake_rules=ctx.intake_rules,
        webhook_id=ctx.id,
        webhook_name=ctx.name,
    )


def entrance_of(ctx: WebhookContext) -> Entrance:
    return Entrance("webhook", ctx.id, ctx.name, ctx.default_source)


def _as_compared(d: Delivery) -> bytes | None:
    """The body as an identical one is recognised (DESIGN §2.14): its payload in canonical
    form, so that the same JSON with its keys in another order or other spacing, or the
    same form pairs in another order, is the same delivery; from the parse intake did
    already. A multipart body by its bytes: its files are not in its payload."""
    if d.body is None or d.payload is None:
        return d.body
    try:
        kind = body_kind(d.content_type)
        if kind == MULTIPART:
            return d.body
        return kind.encode() + b":" + canonical_form(d.payload)
    except (LeadpipeError, orjson.JSONEncodeError):  # not expected of a parsed body
        return d.body


def find_earlier(batch: Batch, items: list[Checked]) -> None:
    """Find the deliveries answered before that these are the same as (a provider's
    retry, a double submit): one query. A concurrent one still being written is not
    seen; the unique key makes this batch fail when it writes the same key, and its
    deliveries are then done again one by one, when they see the first's answer."""
    claiming = [(item, item.claim) for item in items if item.claim is not None]
    if not claiming:
        return
    found = DeliveryRepository(batch.conn).earlier(
        [(item.ctx.id, claim.key) for item, claim in claiming]
    )
    for item, claim in claiming:
        answered = found.get((item.ctx.id, claim.key))
        if answered is None:
            continue
        if answered.at >= claim.since:
            item.earlier = answered
        else:
            item.key_seen_before = True


def newest_leads(batch: Batch, items: list[Checked]) -> KnownLeads:
    """The lead each delivery for a known contact might update: one query."""
    return command.newest_leads(
        batch.conn, [(item.request, item.match) for item in items if item.match is not None]
    )


def write(item: Checked, batch: Batch, leads_known: KnownLeads) -> IntakeResult:
    run, ctx, submission = item.run, item.ctx, item.submission
    assert item.match is not None
    if item.test:
        return _test_received(run, batch, ctx)
    if item.earlier is not None:
        if run.signed_at is not None and item.earlier.signed_at == run.signed_at:
            # A provider's retry is signed anew; the same id at the same time is a copy.
            raise Unauthorized(
                "This signed delivery (webhook-id and timestamp) was received before",
                reason="signature_reused",
            )
        answer = _answer_again(run, batch, item)
        # A visitor who submitted the form twice goes to the thank-you page all the same.
        return dataclasses.replace(answer, redirect=_thank_you_page(ctx))
    run.wrote = True
    outcome = command.write(batch.submitting, item.request, item.match, leads_known, run.now)
    contact, lead = outcome.contact, outcome.lead

    body = _response_body(run, ctx, contact, lead, submission.warnings)
    batch.count_lead(ctx.id, run.now, created=lead.decision.action is LeadAction.CREATE)
    log_delivery(
        run,
        batch.work,
        "success",
        200,
        contact_id=contact.id,
        lead_id=lead.id,
        match_type=contact.match_type.value,
        lead_action=lead.decision.action.value,
        decision_rule=lead.decision.rule.value,
        warnings=list(submission.warnings) or None,
    )
    if item.claim is not None:
        DeliveryRepository(batch.work).record(
            ctx.id,
            item.claim.key,
            run.now,
            200,
            body,
            renew=item.key_seen_before,
            signed_at=run.signed_at,
        )
    return IntakeResult(
        200, body, redirect=_thank_you_page(ctx), news=_news(ctx, submission, contact, lead)
    )


def _thank_you_page(ctx: WebhookContext) -> str | None:
    if ctx.preset != "html_form":
        return None
    target = ctx.preset_settings.get("redirect_url")
    return target if is_web_url(target) else None  # set before http(s) was required


def _test_received(run: Run, batch: Batch, ctx: WebhookContext) -> IntakeResult:
    """A sender's test lead: kept in the delivery log, with its body, to be seen; never a
    lead, so never in the metrics."""
    log_delivery(run, batch.work, "test", 200, raw_body=run.delivery.body)
    body = {
        "success": True,
        "message": "Test lead received: kept in the delivery log, not stored as a lead",
        "webhook_id": ctx.id,
        "test": True,
        "request_id": run.delivery.request_id,
    }
    return IntakeResult(200, body)


def _news(
    ctx: WebhookContext, submission: Submission, contact: ContactOutcome, lead: LeadOutcome
) -> tuple[Event, ...]:
    names = submission.contact
    news: list[Event] = []
    if contact.match_type is MatchType.NEW:
        news.append(
            events.contact_created(
                ctx.workspace_id,
                contact.id,
                names.get("firstname"),
                names.get("lastname"),
                ctx.name,
            )
        )
    if lead.id is not None and lead.decision.action is not LeadAction.NONE:
        news.append(
            events.lead_changed(
                ctx.workspace_id,
                lead.id,
                contact.id,
                created=lead.decision.action is LeadAction.CREATE,
                webhook_name=ctx.name,
            )
        )
    return tuple(news)


def _resolve_webhook(run: Run, batch: Batch) -> WebhookContext:
    d = run.delivery
    ctx = batch.contexts.get(d.webhook_id)
    run.webhook = ctx  # known from here: any refusal is kept in its delivery log
    if ctx is None or not ctx.is_active or not ctx.workspace_active:
        raise NotFound(
            f"Webhook '{d.webhook_id}' is not configured or is disabled",
            reason="webhook_unavailable",
        )
    if d.workspace_header is not None and d.workspace_header != ctx.workspace_id:
        raise Forbidden(
            "x-workspace-id does not match the webhook's workspace", reason="workspace_mismatch"
        )
    return ctx


def _validate(ctx: WebhookContext, payload: dict[str, Any], run: Run) -> Submission:
    extracted = extract(payload, ctx.field_mapping or {})
    submission, errors = validate(extracted, region=ctx.region, require_phone=ctx.require_phone)
    if submission is None:  # only identity refuses (DESIGN §2.12)
        raise ValidationFailed("The lead payload is invalid", errors, reason="missing_identity")
    missing = missing_required(submission, ctx.required_fields)
    if missing:
        raise ValidationFailed(
            "The lead payload is invalid", missing, reason="missing_required_fields"
        )
    submission = with_vertical_fields(submission, ctx.lead_type, ctx.region)
    d = run.delivery
    return with_consent_proof(submission, ip=d.ip_address, user_agent=d.user_agent, now=run.now)


def _answer_again(run: Run, batch: Batch, item: Checked) -> IntakeResult:
    """The same delivery as one answered before: its answer, saying it is a duplicate, and
    nothing written but the log entry that says so."""
    earlier, claim = item.earlier, item.claim
    assert earlier is not None
    assert claim is not None
    if earlier.response is None or earlier.status_code is None:
        # Kept by an older leadpipe while it processed the delivery.
        raise Conflict(
            "This delivery is still being processed; retry shortly", reason="still_processing"
        )
    log_duplicate(run, batch.work, earlier.status_code, earlier.response)
    answer = duplicate_answer(
        earlier.response,
        received_at=earlier.at,
        by_body=claim.key.startswith(BODY_CLAIM_PREFIX),
        request_id=run.delivery.request_id,
    )
    return IntakeResult(earlier.status_code, answer, replayed=True)


def _response_body(
    run: Run,
    ctx: WebhookContext,
    contact: ContactOutcome,
    lead: LeadOutcome,
    warnings: tuple[dict[str, Any], ...],
) -> dict[str, Any]:
    return {
        "success": True,
        "message": _message(contact.match_type, lead.decision.action),
        "webhook_id": ctx.id,
        "contact_id": str(contact.id),
        "lead_id": str(lead.id) if lead.id else None,
        "is_new_contact": contact.match_type is MatchType.NEW,
        "match_type": contact.match_type.value,
        "lead_action": lead.decision.action.value,
        "decision": {"rule": lead.decision.rule.value, "reason": lead.decision.reason},
        "rule_applied": lead.rule_applied,
        "warnings": list(warnings),
        "duplicate": False,
        "processing_time": f"{run.elapsed_ms():.0f}ms",
        "request_id": run.delivery.request_id,
    }


def _message(match: MatchType, action: LeadAction) -> str:
    if match is MatchType.NEW:
        return {
            LeadAction.CREATE: "Contact and lead created successfully",
            LeadAction.UPDATE: "Contact created and lead updated successfully",
            LeadAction.NONE: "Contact created successfully",
        }[action]
    lead_part = {
        LeadAction.CREATE: "; new lead created",
        LeadAction.UPDATE: "; lead updated",
        LeadAction.NONE: "",
    }[action]
    return f"Contact updated via {match.value} match{lead_part}"
