"""A delivery's contact: found among the candidates its identities turned up, then
created or updated through the contacts package's one write path."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadpipe.contacts.repository import ContactRepository
from leadpipe.contacts.rules import (
    ContactIdentity,
    MatchType,
    choose_match,
    identity_updates,
    new_contact,
)
from leadpipe.contacts.service import ContactWrites
from leadpipe.errors import Conflict, ValidationFailed, field_error
from leadpipe.intake.batch import Batch, Checked, ContactMatch, ContactOutcome
from leadpipe.intake.repository import WebhookContext
from leadpipe.intake.rules.submission import Submission
from leadpipe.kit.ids import uuid7

# A concurrent writer can take an identity between our read and our write; the contact
# is then matched again, and the next attempt sees that writer's contact.
MAX_ATTEMPTS = 3


def find_contacts(batch: Batch, checked: list[Checked]) -> list[list[ContactIdentity]]:
    """The contacts holding each delivery's identities: one query per dedup scope."""
    scopes: dict[tuple[str, str], list[int]] = {}
    for n, item in enumerate(checked):
        scopes.setdefault((item.ctx.workspace_id, item.scope), []).append(n)
    found: list[list[ContactIdentity]] = [[] for _ in checked]
    contacts = ContactRepository(batch.conn)
    for (workspace_id, scope), members in scopes.items():
        identities = [checked[n].submission.identity for n in members]
        for n, candidates in zip(
            members, contacts.find_by_identities(workspace_id, scope, identities), strict=True
        ):
            found[n] = candidates
    return found


def match(item: Checked, candidates: list[ContactIdentity]) -> ContactMatch:
    identity = item.submission.identity
    matched, match_type = choose_match(identity, candidates)
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


def write_contact(batch: Batch, item: Checked, now: datetime) -> ContactOutcome:
    ctx, sub, found = item.ctx, item.submission, item.match
    writes = ContactWrites(batch.work)
    for _ in range(MAX_ATTEMPTS):
        assert found is not None
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
        row = _new_contact(ctx, item.scope, sub, now)
        if batch.optimistic:
            # Held back with the batch's other inserts, unanswered: a concurrent delivery
            # that created this person first makes the insert fail, and with it the batch,
            # whose deliveries are then processed one by one (the branch below). Nothing in
            # the batch reads the new contact back.
            writes.insert(row)
            return ContactOutcome(row["id"], MatchType.NEW)
        new_id = writes.insert_if_new(row)
        if new_id is not None:
            return ContactOutcome(new_id, MatchType.NEW)
        # A concurrent delivery created this person first: match it on the next pass.
        candidates = ContactRepository(batch.conn).find_by_identity(
            ctx.workspace_id, item.scope, sub.identity
        )
        found = match(item, candidates)
    raise Conflict("The contact changed concurrently too often; retry")


def source_of(ctx: WebhookContext, sub: Submission) -> str:
    """Where a lead came from: the payload's source, else the webhook's default or name."""
    return sub.source or ctx.default_source or ctx.name


def _new_contact(ctx: WebhookContext, scope: str, sub: Submission, now: datetime) -> dict[str, Any]:
    return new_contact(
        contact_id=uuid7(),
        workspace_id=ctx.workspace_id,
        scope=scope,
        identity=sub.identity,
        fields={
            **sub.contact,
            "lead_source": source_of(ctx, sub),
            "sub_source": sub.sub_source,
            "webhook_id": ctx.id,
            "webhook_name": ctx.name,
        },
        custom_fields=sub.custom_fields,
        metadata={},
        now=now,
    )
