"""The Contact API: manual create (with an optional lead: seed 000's dual write), search,
read with leads, update and delete."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.activities import rules as activity_rules
from leadpipe.activities.repository import ActivityRepository
from leadpipe.contact_api.schemas import ContactCreate, ContactFields, ContactUpdate
from leadpipe.contacts.repository import ContactQueries, ContactRepository
from leadpipe.contacts.rules import (
    Identity,
    InvalidIdentity,
    normalize_email,
    normalize_phone,
    phone_for_search,
    search_terms,
)
from leadpipe.contacts.service import ContactWrites
from leadpipe.errors import Conflict, NotFound, ValidationFailed, field_error
from leadpipe.kit.clock import utcnow
from leadpipe.leads import submission
from leadpipe.leads.queries import LeadQueries
from leadpipe.leads.rules import Actor, contact_changes
from leadpipe.leads.service import lead
from leadpipe.payloads.rules import Submission

_IDENTITY_LABELS = {"crm_id": "CRM id", "phone_number": "phone number", "email": "email"}


def _normalised(body: ContactFields, region: str) -> dict[str, Any]:
    """The fields the body sets, with phone in E.164 and email checked and lower-cased."""
    values = body.model_dump(exclude_unset=True)
    errors = []
    if values.get("phone_number"):
        try:
            values["phone_number"] = normalize_phone(values["phone_number"], region)
        except InvalidIdentity as exc:
            errors.append(field_error("phone_number", f"'{values['phone_number']}' {exc}"))
    if values.get("email"):
        try:
            values["email"] = normalize_email(values["email"])
        except InvalidIdentity as exc:
            errors.append(field_error("email", f"'{values['email']}' is not valid: {exc}"))
    for key in ("phone_number", "email", "crm_id"):
        if key in values and not values[key]:
            values[key] = None  # "" clears an identity rather than storing an empty one
    if errors:
        raise ValidationFailed("Invalid contact", errors)
    return values


def _as_submission(values: dict[str, Any], product: str | None, estimated_value: Any) -> Submission:
    """A contact the API creates, as a submission: with a lead of ``product`` when asked."""
    contact = dict(values)
    identity = Identity(
        crm_id=contact.pop("crm_id", None),
        phone=contact.pop("phone_number", None),
        email=contact.pop("email", None),
    )
    custom_fields = contact.pop("custom_fields", None) or {}
    source = contact.pop("lead_source", None)
    return Submission(
        identity=identity,
        contact=contact,
        custom_fields=custom_fields,
        source=source,
        sub_source=None,
        product=product,
        status=None,
        notes=None,  # the contact's notes: they open no lead here
        lead={} if estimated_value is None else {"estimated_value": estimated_value},
        appointment=None,
        ip_address=None,
        user_agent=None,
    )


def _full_name(contact: dict[str, Any]) -> str:
    return " ".join(p for p in (contact.get("firstname"), contact.get("lastname")) if p) or (
        "(no name)"
    )


class ContactService:
    def _refuse_duplicates(
        self,
        conn: Connection,
        workspace_id: str,
        values: dict[str, Any],
        exclude: uuid.UUID | None = None,
    ) -> None:
        identity = Identity(
            crm_id=values.get("crm_id"), phone=values.get("phone_number"), email=values.get("email")
        )
        holders = [
            c
            for c in ContactRepository(conn).find_by_identity(workspace_id, "", identity)
            if c.id != exclude
        ]
        details = []
        for holder in holders:
            for key, attr in (("crm_id", "crm_id"), ("phone_number", "phone"), ("email", "email")):
                if values.get(key) and getattr(holder, attr) == values[key]:
                    details.append(
                        {
                            "field": key,
                            "contact_id": str(holder.id),
                            "message": f"already belongs to contact {holder.id}",
                        }
                    )
        if details:
            first = details[0]
            existing = ContactQueries(conn).one(workspace_id, uuid.UUID(first["contact_id"]))
            name = _full_name(existing or {})
            label = _IDENTITY_LABELS[first["field"]]
            raise Conflict(
                f"Contact with {label} {values[first['field']]} already exists: {name}", details
            )

    def create(
        self, conn: Connection, workspace_id: str, body: ContactCreate, actor: Actor
    ) -> dict[str, Any]:
        values = _normalised(body, WorkspaceRepository(conn).region(workspace_id))
        product = values.pop("product", None)
        estimated_value = values.pop("estimated_value", None)
        for key in ("workspace_id", "enable_lead_tracking"):
            values.pop(key, None)
        if not (values.get("phone_number") or values.get("email") or values.get("crm_id")):
            raise ValidationFailed(
                "Invalid contact",
                [field_error("phone_number", "phone_number, email or crm_id is required")],
            )
        if body.enable_lead_tracking and not product:
            raise ValidationFailed(
                "Invalid contact",
                [field_error("product", "is required when enable_lead_tracking is true")],
            )
        self._refuse_duplicates(conn, workspace_id, values)
        tracking = body.enable_lead_tracking
        request = submission.Request(
            submission.workspace_destination(conn, workspace_id, always_create_lead=tracking),
            submission.entrance_of(actor),
            _as_submission(values, product if tracking else None, estimated_value),
            new_only=True,
        )
        try:
            outcome = submission.submit_one(conn, request, utcnow())
        except Conflict:  # a concurrent request took one of its identities: say which
            self._refuse_duplicates(conn, workspace_id, values)
            raise
        created = self.get(conn, workspace_id, outcome.contact.id)
        if outcome.lead.id is not None:
            created["leads"] = [lead.get(conn, workspace_id, outcome.lead.id)]
        return created

    def search(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        q: str | None,
        phone: str | None,
        email: str | None,
        crm_id: str | None,
        name: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        terms = self.search_filters(
            conn, workspace_id, q=q, phone=phone, email=email, crm_id=crm_id, name=name
        )
        return ContactQueries(conn).search(workspace_id, limit=limit, offset=offset, **terms)

    def search_filters(
        self,
        conn: Connection,
        workspace_id: str,
        *,
        q: str | None,
        phone: str | None,
        email: str | None,
        crm_id: str | None,
        name: str | None,
    ) -> dict[str, str | None]:
        """What the search (and the contact export) looks contacts up by: a phone in any
        format, an email in any case, ``q`` as an email, a phone or a name."""
        region = WorkspaceRepository(conn).region(workspace_id)
        terms: dict[str, str | None] = {
            "crm_id": crm_id,
            "text": name,
            "email": email.strip().lower() if email else None,
        }
        if phone:
            terms["phone"] = phone_for_search(phone, region)
            if terms["phone"] is None:
                raise ValidationFailed(
                    "Invalid search", [field_error("phone", f"'{phone}' is not a phone number")]
                )
        if q:
            terms.update(**search_terms(q, region))
        return terms

    def get(self, conn: Connection, workspace_id: str, contact_id: uuid.UUID) -> dict[str, Any]:
        contact = self.person(conn, workspace_id, contact_id)
        contact["leads"] = LeadQueries(conn).for_contact(workspace_id, contact_id)
        return contact

    def person(self, conn: Connection, workspace_id: str, contact_id: uuid.UUID) -> dict[str, Any]:
        """The contact alone, without its leads (a lead's panel shows one of them)."""
        contact = ContactQueries(conn).one(workspace_id, contact_id)
        if contact is None:
            raise NotFound(f"Contact '{contact_id}' not found")
        return contact

    def update(
        self,
        conn: Connection,
        workspace_id: str,
        contact_id: uuid.UUID,
        body: ContactUpdate,
        actor: Actor,
    ) -> dict[str, Any]:
        """Change the contact; what changed goes on the timeline of each of its leads,
        naming who changed it."""
        before = self.get(conn, workspace_id, contact_id)
        values = _normalised(body, WorkspaceRepository(conn).region(workspace_id))
        self._refuse_duplicates(conn, workspace_id, values, exclude=contact_id)
        custom_fields = values.pop("custom_fields", {})
        now = utcnow()
        ContactWrites(conn).change(contact_id, values, custom_fields, now)
        changes = contact_changes(before, values)
        if changes:
            ActivityRepository(conn).add_many_automated(
                [one["id"] for one in before["leads"]],
                workspace_id,
                [activity_rules.lead_edited(actor.name, changes)],
                actor.metadata,
                now,
            )
        return self.get(conn, workspace_id, contact_id)

    def delete(self, conn: Connection, workspace_id: str, contact_id: uuid.UUID) -> dict[str, Any]:
        contact = self.get(conn, workspace_id, contact_id)
        ContactQueries(conn).delete(contact_id)
        return {"deleted": str(contact_id), "leads_deleted": len(contact["leads"])}


contact = ContactService()
