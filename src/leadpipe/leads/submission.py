"""The submission command: what a person-and-opportunity payload does, whoever brings it
(a webhook delivery or its replay, a CSV row, the Lead and Contact APIs, the demo).

It finds or creates the contact (``contacts.service``), decides whether the payload
updates one of the contact's leads or opens a new one (the decision matrix,
``leads.rules.decide``), applies the destination's intake rules to a lead it opens, and
opens, updates or moves that lead through the lead lifecycle (``leads.lifecycle``), which
writes the stage history and the timeline. No other code writes contact or lead rows.

The caller owns the transaction. A batch (intake's group commit) reads all its
submissions' contacts and leads first, in one query each, then writes them through a
``Submitting`` that holds the writes back to its end; a single submission uses
``submit_one``. The dry run uses the same reads and ``plan_lead``, and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.activities import rules as activity_rules
from leadpipe.activities.rules import ActivityDraft
from leadpipe.conditions.rules import LAST_PRIORITY
from leadpipe.contacts.repository import ContactRepository
from leadpipe.contacts.rules import (
    ContactIdentity,
    Identity,
    MatchType,
    choose_match,
    identity_updates,
    new_contact,
)
from leadpipe.contacts.service import ContactWrites
from leadpipe.errors import Conflict, LeadpipeError, ValidationFailed, field_error
from leadpipe.kit.ids import uuid7
from leadpipe.leads.lifecycle import LeadWrites, lifecycle
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
from leadpipe.payloads.intake_rules import (
    fields_for_rules,
    opening_stage,
    rule_that_fires,
    rule_values,
)
from leadpipe.payloads.rules import Submission
from leadpipe.pipeline.repository import StageRepository
from leadpipe.pipeline.rules import StageInfo, default_stage, stage_for_status
from leadpipe.storage.work import Work

# A concurrent writer can take an identity between our read and our write; the contact
# is then matched again, and the next attempt sees that writer's contact.
MAX_ATTEMPTS = 3

KnownLeads = dict[tuple[uuid.UUID, str | None], LeadSnapshot | None]

# Actors whose leads record who made them: people and their API keys.
PEOPLE = ("user:", "api_key:")

# The lead columns a later submission may change on a lead it updates.
UPDATABLE = ("estimated_value", "priority", "temperature", "consent_proof")


@dataclass(frozen=True, slots=True)
class Entrance:
    """Who brings submissions: the actor of the changes they make, and the source of the
    leads they open when the payload names none. ``kind``: webhook, import, api or demo
    (the key of the actor's metadata, so the timeline can say where a change came from)."""

    kind: str
    id: str
    name: str
    default_source: str | None = None

    @property
    def actor_id(self) -> str:
        return f"{self.kind}:{self.id}"

    def source_of(self, sub: Submission) -> str:
        """Where a lead came from: the payload's source, else the entrance's default or
        its name."""
        return sub.source or self.default_source or self.name


@dataclass(frozen=True, slots=True)
class Destination:
    """Where submissions go, and what decides for them: the workspace's region, pipeline
    and lead window, and the settings of the webhook (or import) that brings them."""

    workspace_id: str
    region: str
    stages: tuple[StageInfo, ...]
    window_days: int
    scope: str = ""  # where people are deduplicated: the workspace ("") or a webhook's id
    lead_type: str | None = None
    always_create_lead: bool = False
    default_status: str | None = None  # the stage a new person's lead opens in
    intake_rules: Sequence[Any] = ()
    webhook_id: str | None = None
    webhook_name: str | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """One submission, where it goes, who brings it, and what came with it."""

    destination: Destination
    entrance: Entrance
    submission: Submission
    payload: dict[str, Any] | None = None  # as sent: kept on a lead it opens
    ip_address: str | None = None
    user_agent: str | None = None
    # What the entrance adds to the actor's metadata (an import's file and row).
    context: dict[str, Any] = field(default_factory=dict)
    # A person opening a lead by hand (the Lead API, the dashboard): for this known
    # contact, left as it is, a new lead in this stage, whatever the decision matrix says.
    contact_id: uuid.UUID | None = None
    stage: StageInfo | None = None
    # Only a new contact will do (the Contact API's create): a match is a conflict.
    new_only: bool = False

    def identity_keys(self) -> set[tuple[str, ...]]:
        """The identities it holds, as submissions that share one are told apart: two of
        them never share a batch."""
        identity, dest = self.submission.identity, self.destination
        held = (("crm_id", identity.crm_id), ("phone", identity.phone), ("email", identity.email))
        return {(dest.workspace_id, dest.scope, kind, v) for kind, v in held if v}

    def new_contact_order(self) -> tuple[str, ...]:
        identity = self.submission.identity
        return ("1", identity.phone or "", identity.email or "", identity.crm_id or "")


@dataclass(frozen=True, slots=True)
class ContactMatch:
    """What the contact lookup found for a submission, before anything is written."""

    candidates: list[ContactIdentity]
    matched: ContactIdentity | None
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    id: uuid.UUID
    match_type: MatchType


@dataclass(frozen=True, slots=True)
class LeadOutcome:
    id: uuid.UUID | None
    decision: Decision
    rule_applied: str | None = None  # the destination's intake rule that fired


@dataclass(frozen=True, slots=True)
class Outcome:
    contact: ContactOutcome
    lead: LeadOutcome


@dataclass(frozen=True, slots=True)
class LeadPlan:
    """What a submission does to its contact's lead, decided and not yet written."""

    decision: Decision
    existing: LeadSnapshot | None
    target: StageInfo | None  # the stage it opens in or moves to; None: stays
    source: str
    actor: Actor
    fired: dict[str, Any] | None = None  # the intake rule that fired


class Submitting:
    """A transaction's submissions: their writes go through ``work``, held back to its
    end when the work holds writes (intake's batches).

    ``optimistic``: whether new contacts are inserted without waiting for the database's
    answer: batches do that (one round trip less per new person), and are undone whole
    on a conflict; single submissions do not."""

    def __init__(self, work: Work, *, optimistic: bool = False) -> None:
        self.work = work
        self.conn = work.conn
        self.optimistic = optimistic
        self.lead_workspaces: set[str] = set()  # where it writes leads
        self._holds_writes = work.holds_writes

    def note_lead_write(self, workspace_id: str) -> None:
        """Before a lead write: a transaction that writes leads in several statements
        takes its turn with the workspace's other count writers first (``storage/work``);
        one that holds its writes takes it just before they go out (its driver does)."""
        if workspace_id in self.lead_workspaces:
            return
        self.lead_workspaces.add(workspace_id)
        if not self._holds_writes:
            LeadRepository(self.conn).serialize_count_writers(workspace_id)


def entrance_of(actor: Actor) -> Entrance:
    """A person (``user:<id>``) or an API key (``api_key:<id>``) as an entrance; what
    they open without naming a source comes from the dashboard or the API."""
    kind, _, ident = actor.id.partition(":")
    return Entrance(kind, ident, actor.name, "Dashboard" if kind == "user" else "API")


def workspace_destination(
    conn: Connection, workspace_id: str, *, always_create_lead: bool = False
) -> Destination:
    """The workspace as a destination of its own (the APIs, an import, the demo): its
    region, lead window and pipeline, deduplicating across the workspace."""
    workspace = WorkspaceRepository(conn).get(workspace_id)
    return Destination(
        workspace_id=workspace_id,
        region=workspace.default_region,
        stages=tuple(StageRepository(conn).active_stages(workspace_id)),
        window_days=workspace.lead_window_days,
        always_create_lead=always_create_lead,
    )


def by_hand(
    workspace_id: str,
    contact_id: uuid.UUID,
    stage: StageInfo,
    fields: dict[str, Any],
    actor: Actor,
    *,
    region: str,
) -> Request:
    """A person's new lead for a known contact (the Lead API, the dashboard): ``fields``,
    the lead's columns as given, checked already."""
    lead_fields = {k: v for k, v in fields.items() if k not in _NAMED_APART}
    sub = Submission(
        identity=Identity(),
        contact={},
        custom_fields={},
        source=fields.get("lead_source"),
        sub_source=fields.get("sub_source"),
        product=fields.get("product_interest"),
        status=None,
        notes=fields.get("initial_inquiry"),
        lead={"tags": [], "custom_fields": {}, **lead_fields},
        appointment=None,
        ip_address=None,
        user_agent=None,
    )
    destination = Destination(workspace_id, region, (stage,), window_days=0)
    return Request(destination, entrance_of(actor), sub, contact_id=contact_id, stage=stage)


# The columns a Submission holds apart from its ``lead`` values.
_NAMED_APART = frozenset({"lead_source", "sub_source", "product_interest", "initial_inquiry"})


# -- reading: everything a batch needs before it writes ---------------------------------


def find_contacts(conn: Connection, requests: Sequence[Request]) -> list[list[ContactIdentity]]:
    """The contacts holding each submission's identities: one query per dedup scope."""
    scopes: dict[tuple[str, str], list[int]] = {}
    for n, request in enumerate(requests):
        dest = request.destination
        scopes.setdefault((dest.workspace_id, dest.scope), []).append(n)
    found: list[list[ContactIdentity]] = [[] for _ in requests]
    contacts = ContactRepository(conn)
    for (workspace_id, scope), members in scopes.items():
        identities = [requests[n].submission.identity for n in members]
        for n, candidates in zip(
            members, contacts.find_by_identities(workspace_id, scope, identities), strict=True
        ):
            found[n] = candidates
    return found


def match(request: Request, candidates: list[ContactIdentity]) -> ContactMatch:
    """The contact a submission is, among the candidates its identities turned up; a
    CRM id alone that matches no one is refused (nobody to create)."""
    identity = request.submission.identity
    matched, match_type = choose_match(identity, candidates)
    if matched is not None and request.new_only:
        raise Conflict(f"Contact {matched.id} already holds one of these identities")
    if matched is None and not (identity.phone or identity.email):
        raise ValidationFailed(
            "The lead payload is invalid",
            [
                field_error(
                    "phone_number",
                    f"phone_number or email is required (crm_id '{identity.crm_id}' "
                    "matches no contact)",
                )
            ],
        )
    return ContactMatch(candidates, matched, match_type)


def wants_lead(request: Request) -> bool:
    """Whether the submission opens or updates a lead, not only its contact."""
    sub = request.submission
    return (
        has_lead_data(status=sub.status, product=sub.product, notes=sub.notes)
        or request.destination.always_create_lead
    )


def lead_key(sub: Submission) -> str | None:
    """Which of the contact's leads a submission may update: the newest active one of its
    product, or of any product when it names none (None)."""
    return product_key(sub.product) if sub.product is not None else None


def newest_leads(conn: Connection, matched: Sequence[tuple[Request, ContactMatch]]) -> KnownLeads:
    """The lead each submission for a known contact might update: one query."""
    keys = [
        (found.matched.id, lead_key(request.submission))
        for request, found in matched
        if found.matched is not None and wants_lead(request)
    ]
    return LeadRepository(conn).newest_active_many(keys) if keys else {}


def plan_lead(
    request: Request, match_type: MatchType, existing: LeadSnapshot | None, now: datetime
) -> LeadPlan:
    """The decision for the submission's lead, the stage it goes to (the intake rule that
    fires, else the status it names, else the destination's default for a new person),
    its source and the actor: written by ``write``, shown by the dry run."""
    dest, sub, entrance = request.destination, request.submission, request.entrance
    source = entrance.source_of(sub)
    if request.stage is not None:  # a person's choice
        decision = Decision(LeadAction.CREATE, Rule.BY_HAND)
        actor = _actor(request, source, decision, now)
        return LeadPlan(decision, None, request.stage, source, actor)
    if not wants_lead(request):
        decision = Decision(LeadAction.NONE, Rule.NO_LEAD_DATA)
        return LeadPlan(decision, None, None, source, _actor(request, source, decision, now))
    decision = decide(
        existing,
        status=sub.status,
        now=now,
        window_days=dest.window_days,
        product_named=sub.product is not None,
    )
    mapped = stage_for_status(sub.status)
    fired = None
    new_person = match_type is MatchType.NEW
    if decision.action is LeadAction.CREATE and dest.intake_rules:
        fired = rule_that_fires(
            list(dest.intake_rules), fields_for_rules(sub, source), request.payload or {}
        )
        source = (fired or {}).get("actions", {}).get("source") or source
        mapped = opening_stage(fired, mapped, dest.default_status, new_contact=new_person)
    elif decision.action is LeadAction.CREATE and new_person:
        mapped = mapped or dest.default_status
    stages = {s.slug: s for s in dest.stages}
    target = stages.get(mapped) if mapped else None
    if decision.action is LeadAction.CREATE and target is None:
        target = default_stage(stages.values())
    actor = _actor(request, source, decision, now, fired)
    return LeadPlan(decision, existing, target, source, actor, fired)


def plan_found(conn: Connection, request: Request, found: ContactMatch, now: datetime) -> LeadPlan:
    """``plan_lead`` for a submission whose contact lookup is done, reading the lead it
    might update: what a dry run shows, written nowhere."""
    known = newest_leads(conn, [(request, found)])
    return plan_lead(request, found.match_type, next(iter(known.values()), None), now)


# -- writing -----------------------------------------------------------------------------


def write(
    tx: Submitting, request: Request, found: ContactMatch, leads_known: KnownLeads, now: datetime
) -> Outcome:
    """Write the submission: its contact, then its lead as planned."""
    contact = write_contact(tx, request, found, now)
    return Outcome(contact, write_lead(tx, request, contact, leads_known, now))


def submit_one(conn: Connection, request: Request, now: datetime) -> Outcome:
    """Read and write one submission in the caller's transaction (the API, the demo, a
    CSV import's rows): its writes are sent as they are made, so a later submission in
    the same transaction sees them."""
    tx = Submitting(Work.of(conn))
    if request.contact_id is not None:
        contact = ContactOutcome(request.contact_id, MatchType.CRM_ID)  # known by its id
        return Outcome(contact, write_lead(tx, request, contact, {}, now))
    (candidates,) = find_contacts(conn, [request])
    found = match(request, candidates)
    return write(tx, request, found, newest_leads(conn, [(request, found)]), now)


def submit_many(
    conn: Connection, requests: Sequence[Request], now: datetime
) -> list[Outcome | LeadpipeError]:
    """Read and write submissions in order in the caller's transaction, as few round trips
    as a batch takes (a CSV import's chunk): their contacts in one query and their leads
    in another, per run of submissions that share no identity, then their writes sent
    together. Each one's outcome, or the refusal of a submission that cannot be applied
    (a CRM id alone that matches no one), which writes nothing."""
    outcomes: list[Outcome | LeadpipeError] = []
    while len(outcomes) < len(requests):
        run = _run_sharing_no_identity(requests[len(outcomes) :])
        outcomes += _submit_run(conn, run, now)
    return outcomes


def _run_sharing_no_identity(requests: Sequence[Request]) -> Sequence[Request]:
    """The longest first run of ``requests`` in which no two share an identity: no
    submission of a run needs to read another's writes."""
    taken: set[tuple[str, ...]] = set()
    for n, request in enumerate(requests):
        keys = request.identity_keys()
        if n and not keys.isdisjoint(taken):
            return requests[:n]
        taken |= keys
    return requests


def _submit_run(
    conn: Connection, run: Sequence[Request], now: datetime
) -> list[Outcome | LeadpipeError]:
    found: list[ContactMatch | LeadpipeError] = []
    for request, candidates in zip(run, find_contacts(conn, run), strict=True):
        try:
            found.append(match(request, candidates))
        except LeadpipeError as exc:
            found.append(exc)
    matched = [(r, f) for r, f in zip(run, found, strict=True) if isinstance(f, ContactMatch)]
    known = newest_leads(conn, matched)
    tx = Submitting(Work.holding_writes(conn))
    outcomes: list[Outcome | LeadpipeError] = [
        f if isinstance(f, LeadpipeError) else write(tx, r, f, known, now)
        for r, f in zip(run, found, strict=True)
    ]
    leads = LeadRepository(conn)
    for workspace_id in sorted(tx.lead_workspaces):  # before the lead writes go out
        leads.serialize_count_writers(workspace_id)
    tx.work.flush()
    return outcomes


def write_contact(
    tx: Submitting, request: Request, found: ContactMatch, now: datetime
) -> ContactOutcome:
    """Update the matched contact with what the submission says, or create it."""
    sub = request.submission
    writes = ContactWrites(tx.work)
    for _ in range(MAX_ATTEMPTS):
        if found.matched is not None:
            values = {
                **sub.contact,
                **identity_updates(sub.identity, found.matched, found.candidates),
            }
            if sub.source:
                values["lead_source"] = sub.source
            if sub.sub_source:
                values["sub_source"] = sub.sub_source
            writes.change(found.matched.id, values, sub.custom_fields, now)
            return ContactOutcome(found.matched.id, found.match_type)
        row = _new_contact(request, now)
        if tx.optimistic:
            # Held back with the batch's other inserts, unanswered: a concurrent delivery
            # that created this person first makes the insert fail, and with it the batch,
            # whose deliveries are then processed one by one (the branch below). Nothing in
            # the batch reads the new contact back.
            writes.insert(row)
            return ContactOutcome(row["id"], MatchType.NEW)
        new_id = writes.insert_if_new(row)
        if new_id is not None:
            return ContactOutcome(new_id, MatchType.NEW)
        # A concurrent submission created this person first: match it on the next pass.
        dest = request.destination
        candidates = ContactRepository(tx.conn).find_by_identity(
            dest.workspace_id, dest.scope, sub.identity
        )
        found = match(request, candidates)
    raise Conflict("The contact changed concurrently too often; retry")


def write_lead(
    tx: Submitting,
    request: Request,
    contact: ContactOutcome,
    leads_known: KnownLeads,
    now: datetime,
) -> LeadOutcome:
    """Open, update or move the contact's lead as ``plan_lead`` decides."""
    if request.stage is None and not wants_lead(request):
        return LeadOutcome(None, Decision(LeadAction.NONE, Rule.NO_LEAD_DATA))
    plan = plan_lead(request, contact.match_type, _existing(tx, request, contact, leads_known), now)
    if plan.decision.action is LeadAction.NONE:
        return LeadOutcome(None, plan.decision)
    dest = request.destination
    tx.note_lead_write(dest.workspace_id)
    writes = LeadWrites(tx.work)
    if plan.decision.action is LeadAction.UPDATE:
        assert plan.existing is not None
        _update_lead(writes, request, plan, now, waits=not tx.work.holds_writes)
        return LeadOutcome(plan.existing.id, plan.decision)
    lead_id = uuid7()
    _open_lead(writes, request, plan, lead_id, contact.id, now)
    return LeadOutcome(lead_id, plan.decision, plan.fired["name"] if plan.fired else None)


def _existing(
    tx: Submitting, request: Request, contact: ContactOutcome, leads_known: KnownLeads
) -> LeadSnapshot | None:
    if contact.match_type is MatchType.NEW or request.stage is not None:
        return None  # a contact this submission created has no leads yet
    key = (contact.id, lead_key(request.submission))
    if key in leads_known:
        return leads_known[key]
    # Matched only on a second try, after a concurrent submission created it.
    return LeadRepository(tx.conn).newest_active_many([key])[key]


def _open_lead(
    writes: LeadWrites,
    request: Request,
    plan: LeadPlan,
    lead_id: uuid.UUID,
    contact_id: uuid.UUID,
    now: datetime,
) -> None:
    dest, sub = request.destination, request.submission
    assert plan.target is not None
    lifecycle.open(
        writes,
        lead_id=lead_id,
        workspace_id=dest.workspace_id,
        row={
            "lead_type": dest.lead_type,
            **sub.lead,
            "contact_id": contact_id,
            "webhook_id": dest.webhook_id,
            "lead_source": plan.source,
            "sub_source": sub.sub_source,
            "product_interest": sub.product,
            "product_key": product_key(sub.product),
            "initial_inquiry": sub.notes,
            "raw_payload": request.payload,
            "ip_address": sub.ip_address or request.ip_address,
            "user_agent": sub.user_agent or request.user_agent,
            "metadata": plan.actor.metadata,
            **_by_whom(plan.actor),
            **rule_values(plan.fired, sub.lead),
        },
        plan=plan_open(
            plan.target,
            actor=plan.actor,
            reason=plan.decision.reason,
            source=plan.source,
            now=now,
        ),
        actor=plan.actor,
        now=now,
        also=_appointment(sub),
    )


def _update_lead(
    writes: LeadWrites, request: Request, plan: LeadPlan, now: datetime, *, waits: bool
) -> None:
    dest, sub, existing = request.destination, request.submission, plan.existing
    assert existing is not None
    values: dict[str, Any] = {
        "last_activity_at": now,
        "updated_at": now,
        **{k: v for k, v in sub.lead.items() if k in UPDATABLE},
    }
    also = _appointment(sub)
    if plan.target is None or plan.target.slug == existing.stage:
        lifecycle.touch(
            writes,
            lead_id=existing.id,
            workspace_id=dest.workspace_id,
            values=values,
            actor=plan.actor,
            now=now,
            drafts=[activity_rules.lead_updated(plan.source), *also],
            waits_for_count_writers=waits,
        )
        return
    lifecycle.move(
        writes,
        lead_id=existing.id,
        workspace_id=dest.workspace_id,
        plan=plan_move(
            existing.stage,
            plan.target,
            actor=plan.actor,
            reason=plan.decision.reason,
            source=plan.source,
            now=now,
            lost_reason=sub.lost_reason,
        ),
        actor=plan.actor,
        now=now,
        values=values,
        metadata_patch=plan.actor.metadata,
        also=also,
        waits_for_count_writers=waits,
    )


def _new_contact(request: Request, now: datetime) -> dict[str, Any]:
    dest, sub = request.destination, request.submission
    return new_contact(
        contact_id=uuid7(),
        workspace_id=dest.workspace_id,
        scope=dest.scope,
        identity=sub.identity,
        fields={
            **sub.contact,
            "lead_source": request.entrance.source_of(sub),
            "sub_source": sub.sub_source,
            "webhook_id": dest.webhook_id,
            "webhook_name": dest.webhook_name,
        },
        custom_fields=sub.custom_fields,
        metadata=_contact_metadata(request),
        now=now,
    )


def _contact_metadata(request: Request) -> dict[str, Any]:
    """How a new contact came: nothing for a webhook's (its webhook columns say it)."""
    entrance = request.entrance
    if entrance.kind == "webhook":
        return {}
    via = "api" if entrance.kind in ("user", "api_key") else entrance.kind
    return {"created_via": via, "actor": entrance.actor_id, **request.context}


def _by_whom(actor: Actor) -> dict[str, Any]:
    """A person's or key's lead records who made it; a webhook's and an import's do not."""
    if actor.id.startswith(PEOPLE):
        return {"created_by": actor.id, "updated_by": actor.id}
    return {}


def _actor(
    request: Request,
    source: str,
    decision: Decision,
    now: datetime,
    fired: dict[str, Any] | None = None,
) -> Actor:
    """The entrance as the actor of a lead change, with the decision that made it and the
    intake rule that fired, if one did."""
    entrance = request.entrance
    fired_rule = (
        {"intake_rule": {"name": fired["name"], "priority": fired.get("priority", LAST_PRIORITY)}}
        if fired
        else {}
    )
    if entrance.kind in ("user", "api_key"):  # people and their keys: as everywhere
        base = (
            Actor.user(entrance.id, entrance.name)
            if entrance.kind == "user"
            else Actor.api_key(entrance.id)
        )
        actor_id, name, metadata = base.id, base.name, dict(base.metadata)
    else:
        actor_id, name = f"{entrance.kind}:{entrance.id}", entrance.name
        metadata = {
            entrance.kind: {
                "id": entrance.id,
                "name": entrance.name,
                "source": source,
                "timestamp": now.isoformat(),
                **request.context,
            }
        }
    return Actor(
        actor_id,
        name,
        {
            **fired_rule,
            **metadata,
            "decision": {
                "action": decision.action.value,
                "rule": decision.rule.value,
                "reason": decision.reason,
            },
        },
    )


def _appointment(sub: Submission) -> list[ActivityDraft]:
    """The appointment a submission books, as a timeline entry of its lead."""
    a = sub.appointment
    if a is None:
        return []
    data = {"appointment_date": a.date, "appointment_time": a.time, "appointment_status": a.status}
    return [activity_rules.appointment_scheduled(a.title, data)]
