"""What a delivery does to its contact's lead: the decision matrix, then the lead
lifecycle's one way to open or move a lead."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from leadpipe.activities import rules as activity_rules
from leadpipe.activities.rules import ActivityDraft
from leadpipe.conditions.rules import LAST_PRIORITY
from leadpipe.contacts.rules import MatchType
from leadpipe.intake.batch import Batch, ContactOutcome, LeadOutcome
from leadpipe.intake.contact_step import source_of
from leadpipe.intake.repository import WebhookContext
from leadpipe.intake.rules.routing import (
    fields_for_rules,
    opening_stage,
    rule_that_fires,
    rule_values,
)
from leadpipe.intake.rules.submission import Submission
from leadpipe.intake.schemas import Delivery
from leadpipe.kit.ids import uuid7
from leadpipe.leads.repository import LeadRepository
from leadpipe.leads.rules import (
    Actor,
    Decision,
    LeadAction,
    LeadSnapshot,
    Rule,
    decide,
    has_lead_data,
    plan_move,
    plan_open,
    product_key,
)
from leadpipe.leads.service import LeadWrites, lead
from leadpipe.pipeline.rules import StageInfo, default_stage, stage_for_status

KnownLeads = dict[tuple[uuid.UUID, str | None], LeadSnapshot | None]


def wants_lead(ctx: WebhookContext, sub: Submission) -> bool:
    """Whether the delivery opens or updates a lead, not only its contact."""
    return (
        has_lead_data(status=sub.status, product=sub.product, notes=sub.notes)
        or ctx.always_create_lead
    )


def lead_key(sub: Submission) -> str | None:
    """Which of the contact's leads a delivery may update: the newest active one of its
    product, or of any product when it names none (None)."""
    return product_key(sub.product) if sub.product is not None else None


def apply_lead(
    batch: Batch,
    ctx: WebhookContext,
    sub: Submission,
    contact: ContactOutcome,
    d: Delivery,
    now: datetime,
    leads_known: KnownLeads,
) -> LeadOutcome:
    if not wants_lead(ctx, sub):
        return LeadOutcome(None, Decision(LeadAction.NONE, Rule.NO_LEAD_DATA))
    key = (contact.id, lead_key(sub))
    if contact.match_type is MatchType.NEW:
        existing = None  # a contact created by this delivery has no leads yet
    elif key in leads_known:
        existing = leads_known[key]
    else:  # matched only on a second try, after a concurrent delivery created it
        existing = LeadRepository(batch.conn).newest_active_many([key])[key]
    decision = decide(
        existing,
        status=sub.status,
        now=now,
        window_days=ctx.window_days,
        product_named=sub.product is not None,
    )
    if decision.action is LeadAction.NONE:
        return LeadOutcome(None, decision)
    stages = {s.slug: s for s in ctx.stages}
    mapped = stage_for_status(sub.status)
    source = source_of(ctx, sub)
    fired = None
    if decision.action is LeadAction.CREATE and ctx.intake_rules:
        fired = rule_that_fires(ctx.intake_rules, fields_for_rules(sub, source), d.payload or {})
        source = (fired or {}).get("actions", {}).get("source") or source
        mapped = opening_stage(
            fired, mapped, ctx.default_status, new_contact=contact.match_type is MatchType.NEW
        )
    elif decision.action is LeadAction.CREATE and contact.match_type is MatchType.NEW:
        mapped = mapped or ctx.default_status
    target = stages.get(mapped) if mapped else None
    actor = _webhook_actor(ctx, source, decision, now, fired)
    batch.note_lead_write(ctx.workspace_id)
    writes = LeadWrites(batch.work)
    also = _appointment(sub)
    if decision.action is LeadAction.UPDATE:
        assert existing is not None
        _update_lead(writes, ctx, sub, existing, target, actor, source, decision, now, also)
        return LeadOutcome(existing.id, decision)
    lead_id = uuid7()
    lead.open(
        writes,
        lead_id=lead_id,
        workspace_id=ctx.workspace_id,
        row={
            "lead_type": ctx.lead_type,
            **sub.lead,
            "contact_id": contact.id,
            "webhook_id": ctx.id,
            "lead_source": source,
            "sub_source": sub.sub_source,
            "product_interest": sub.product,
            "product_key": product_key(sub.product),
            "initial_inquiry": sub.notes,
            "raw_payload": d.payload,
            "ip_address": sub.ip_address or d.ip_address,
            "user_agent": sub.user_agent or d.user_agent,
            "metadata": actor.metadata,
            **rule_values(fired, sub.lead),
        },
        plan=plan_open(
            target or default_stage(stages.values()),
            actor=actor,
            reason=decision.reason,
            source=source,
            now=now,
        ),
        actor=actor,
        now=now,
        also=also,
    )
    return LeadOutcome(lead_id, decision, fired["name"] if fired else None)


def _webhook_actor(
    ctx: WebhookContext,
    source: str,
    decision: Decision,
    now: datetime,
    fired: dict[str, Any] | None = None,
) -> Actor:
    """The webhook as the actor of a lead change, with the decision that made it and the
    intake rule that fired, if one did."""
    fired_rule = (
        {"intake_rule": {"name": fired["name"], "priority": fired.get("priority", LAST_PRIORITY)}}
        if fired
        else {}
    )
    return Actor(
        f"webhook:{ctx.id}",
        ctx.name,
        {
            **fired_rule,
            "webhook": {
                "id": ctx.id,
                "name": ctx.name,
                "source": source,
                "timestamp": now.isoformat(),
            },
            "decision": {
                "action": decision.action.value,
                "rule": decision.rule.value,
                "reason": decision.reason,
            },
        },
    )


def _update_lead(
    writes: LeadWrites,
    ctx: WebhookContext,
    sub: Submission,
    existing: LeadSnapshot,
    target: StageInfo | None,
    actor: Actor,
    source: str,
    decision: Decision,
    now: datetime,
    also: list[ActivityDraft],
) -> None:
    values: dict[str, Any] = {"last_activity_at": now, "updated_at": now}
    values.update(
        {
            k: v
            for k, v in sub.lead.items()
            if k in ("estimated_value", "priority", "temperature", "consent_proof")
        }
    )
    if target is None or target.slug == existing.stage:
        writes.leads.update(existing.id, values, actor.metadata)
        writes.activities.add_automated(
            existing.id,
            ctx.workspace_id,
            [activity_rules.lead_updated(source), *also],
            actor.metadata,
            now,
        )
        return
    lead.move(
        writes,
        lead_id=existing.id,
        workspace_id=ctx.workspace_id,
        plan=plan_move(
            existing.stage,
            target,
            actor=actor,
            reason=decision.reason,
            source=source,
            now=now,
            lost_reason=sub.lost_reason,
        ),
        actor=actor,
        now=now,
        values=values,
        metadata_patch=actor.metadata,
        also=also,
        waits_for_count_writers=False,  # the batch takes its turn before it writes
    )


def _appointment(sub: Submission) -> list[ActivityDraft]:
    """The appointment a delivery books, as a timeline entry of its lead."""
    a = sub.appointment
    if a is None:
        return []
    data = {"appointment_date": a.date, "appointment_time": a.time, "appointment_status": a.status}
    return [activity_rules.appointment_scheduled(a.title, data)]
