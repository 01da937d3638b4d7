"""A person's data: everything leadpipe holds about a contact in one document, and its
erasure (the contact deleted, what the intake log kept of them redacted, an audit entry
that keeps only counts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from leadpipe.activities.repository import ActivityQueries
from leadpipe.audit.repository import AuditRepository
from leadpipe.contact_api.service import contact
from leadpipe.intake.repository import PERSONAL_LOG_COLUMNS, PersonLogRepository
from leadpipe.kit.clock import utcnow
from leadpipe.kit.ids import uuid7
from leadpipe.leads.queries import LeadQueries
from leadpipe.privacy.repository import PersonQueries
from leadpipe.privacy.rules import (
    Person,
    holds_identity,
    json_text,
    person_of,
    redact_bytes,
    redact_json,
    redact_text,
)

# Entries per page of the intake log: each may keep a body of up to the body limit.
LOG_PAGE = 16
ERASED_ACTION = "contact.erased"
# How the export finds the intake log's entries (a refused delivery names no contact).
FOUND_BY = (
    "entries that name the contact or one of its leads, and refused deliveries whose body, "
    "headers or error hold the contact's email (ignoring case) or phone (any punctuation)"
)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else json_text(value)


def _names_person(
    entry: dict[str, Any], contact_id: uuid.UUID, lead_ids: set[uuid.UUID], person: Person
) -> bool:
    if entry["contact_id"] == contact_id or entry["lead_id"] in lead_ids:
        return True
    return any(holds_identity(_as_text(entry[c]), person) for c in PERSONAL_LOG_COLUMNS)


def _redacted(entry: dict[str, Any], person: Person) -> tuple[dict[str, Any], int]:
    """The entry's personal columns that change, and how many values were erased."""
    changed, total = dict[str, Any](), 0
    for column in PERSONAL_LOG_COLUMNS:
        value = entry[column]
        if value is None:
            continue
        new: Any
        if isinstance(value, bytes):
            new, count = redact_bytes(value, person)
        elif isinstance(value, str):
            new, count = redact_text(value, person)
        else:
            new, count = redact_json(value, person)
        if count:
            changed[column], total = new, total + count
    return changed, total


def _log_entries_of(
    conn: Connection,
    workspace_id: str,
    contact_id: uuid.UUID,
    lead_ids: set[uuid.UUID],
    person: Person,
) -> Iterator[dict[str, Any]]:
    """The intake log's entries of the person, a page at a time."""
    log = PersonLogRepository(conn)
    after = None
    while True:
        page = log.candidates(workspace_id, contact_id, list(lead_ids), after=after, limit=LOG_PAGE)
        for entry in page:
            if _names_person(entry, contact_id, lead_ids, person):
                yield entry
        if len(page) < LOG_PAGE:
            return
        after = page[-1]["id"]


def _exported_entry(entry: dict[str, Any]) -> dict[str, Any]:
    body = entry.pop("raw_body")
    # A body is bytes as they came; shown as text (what is not UTF-8 as U+FFFD).
    return {**entry, "body": body.decode("utf-8", "replace") if body is not None else None}


class PersonService:
    def export(self, conn: Connection, workspace_id: str, contact_id: uuid.UUID) -> dict[str, Any]:
        found = contact.get(conn, workspace_id, contact_id)
        person = person_of(found)
        leads = LeadQueries(conn)
        activities = ActivityQueries(conn)
        listed_leads = found.pop("leads")
        history = PersonQueries(conn).stage_history(workspace_id, [r["id"] for r in listed_leads])
        lead_rows = []
        for listed in listed_leads:
            row = leads.one(workspace_id, listed["id"]) or listed
            row["activities"] = activities.for_leads([listed["id"]])
            row["stage_history"] = history[listed["id"]]
            lead_rows.append(row)
        lead_ids = {row["id"] for row in lead_rows}
        entries = [
            _exported_entry(e)
            for e in _log_entries_of(conn, workspace_id, contact_id, lead_ids, person)
        ]
        return {
            "exported_at": utcnow(),
            "contact": found,
            "leads": lead_rows,
            "intake_log": entries,
            "intake_log_found_by": FOUND_BY,
        }

    def erase(
        self, conn: Connection, workspace_id: str, contact_id: uuid.UUID, actor: str
    ) -> dict[str, Any]:
        """Delete the contact as ``DELETE`` does, redact the person's values wherever the
        intake log kept them, and say so in the audit log (counts, never values)."""
        found = contact.get(conn, workspace_id, contact_id)
        person = person_of(found)
        lead_ids = [lead["id"] for lead in found["leads"]]
        counts = {
            "leads_deleted": len(lead_ids),
            "activities_deleted": len(ActivityQueries(conn).for_leads(lead_ids)),
            "stage_changes_deleted": sum(
                len(h) for h in PersonQueries(conn).stage_history(workspace_id, lead_ids).values()
            ),
            "log_entries_redacted": 0,
            "values_redacted": 0,
        }
        log = PersonLogRepository(conn)
        for entry in _log_entries_of(conn, workspace_id, contact_id, set(lead_ids), person):
            changed, erased = _redacted(entry, person)
            if changed:
                log.rewrite(entry["id"], changed)
                counts["log_entries_redacted"] += 1
                counts["values_redacted"] += erased
        for answer in log.answers_to(workspace_id, contact_id):
            response, erased = redact_json(answer["response"], person)
            if erased:
                log.rewrite_answer(answer["id"], response)
                counts["values_redacted"] += erased
        contact.delete(conn, workspace_id, contact_id)
        audit_id = uuid7()
        AuditRepository(conn).add(
            {
                "id": audit_id,
                "workspace_id": workspace_id,
                "at": utcnow(),
                "actor": actor,
                "action": ERASED_ACTION,
                "subject_id": str(contact_id),
                "counts": counts,
            }
        )
        return {
            "deleted": contact_id,
            "leads_deleted": len(lead_ids),
            "erased": True,
            "audit_id": audit_id,
            "counts": counts,
        }


person = PersonService()
