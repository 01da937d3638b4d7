"""An export: which records (their ids, found in one pass, with the API's own filters) and
how each page of them is read and written, as CSV or JSON lines."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection

from leadpipe.accounts.repository import WorkspaceRepository
from leadpipe.activities.repository import ActivityQueries
from leadpipe.contact_api.schemas import ContactOut
from leadpipe.contact_api.service import contact
from leadpipe.contacts.repository import ContactQueries
from leadpipe.errors import NotFound
from leadpipe.exports.rules import Format, csv_columns, csv_line, csv_record, json_line
from leadpipe.exports.streaming import EXPORT_PAGE, pages
from leadpipe.kit.openapi import public
from leadpipe.leads.queries import LeadQueries
from leadpipe.leads.schemas import ActivityOut, ContactBrief, LeadOut, LeadSelection
from leadpipe.leads.service import lead
from leadpipe.storage.engine import Database

ReadPage = Callable[[list[uuid.UUID], Connection], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class ContactSelection:
    """The contacts to export: the filters of ``GET /api/v3/contacts``."""

    q: str | None = None
    phone: str | None = None
    email: str | None = None
    crm_id: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ActivitySelection:
    """The timeline entries to export: those of the leads selected, by type and outcome
    (the filters of ``GET /api/v3/leads/{id}/activities``)."""

    leads: LeadSelection = field(default_factory=LeadSelection)
    activity_type: str | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True)
class Shape:
    """How one kind of record is exported: as the API shows it (``model``), in CSV in
    ``fields``' order with a nested record's fields as columns of their own."""

    model: type[BaseModel]
    fields: tuple[str, ...]
    nested: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return csv_columns(self.fields, self.nested)


def _fields(model: type[BaseModel], *left_out: str) -> tuple[str, ...]:
    return tuple(name for name in model.model_fields if name not in left_out)


# What a list shows of each (a lead's payload and timeline, a contact's leads, are not).
LEAD_SHAPE = Shape(
    LeadOut,
    _fields(LeadOut, "raw_payload", "activities"),
    {"contact": _fields(ContactBrief)},
)
CONTACT_SHAPE = Shape(ContactOut, _fields(ContactOut, "leads"))
ACTIVITY_SHAPE = Shape(ActivityOut, _fields(ActivityOut))


@dataclass(frozen=True, slots=True)
class Export:
    """The records of one export: their ids, and how a page of them is read."""

    kind: str
    workspace_id: str
    ids: list[uuid.UUID]
    read_page: ReadPage
    shape: Shape

    async def lines(self, db: Database, fmt: Format) -> AsyncGenerator[str, None]:
        """The export's text, a page of records at a time (CSV: its header first)."""
        async with aclosing(self.chunks(db, fmt)) as chunks:
            async for _, text in chunks:
                yield text

    async def chunks(self, db: Database, fmt: Format) -> AsyncGenerator[tuple[int, str], None]:
        """``lines``, each with how many of ``ids`` it covered (for a progress line)."""
        if fmt == "csv":
            yield 0, csv_line(self.shape.columns)
        left = len(self.ids)
        # Each page is written where it is read, off the event loop: a page of 1,000 leads
        # takes tens of milliseconds to validate and write.
        async with aclosing(pages(db, self.ids, functools.partial(self._page, fmt))) as paged:
            async for text in paged:
                covered = min(EXPORT_PAGE, left)
                left -= covered
                yield covered, text

    def _page(self, fmt: Format, ids: list[uuid.UUID], conn: Connection) -> str:
        shape = self.shape
        records = (public(shape.model, row) for row in self.read_page(ids, conn))
        if fmt == "csv":
            return "".join(csv_record(r, shape.fields, shape.nested) for r in records)
        return "".join(json_line(r) for r in records)


def _lead_ids(conn: Connection, workspace_id: str, chosen: LeadSelection) -> list[uuid.UUID]:
    """The ids of the leads selected; a stage by its name, a source in any case, match
    as the leads store them."""
    return LeadQueries(conn).ids(lead.as_stored(conn, lead.filters(conn, workspace_id, chosen)))


def _check_workspace(conn: Connection, workspace_id: str) -> None:
    if WorkspaceRepository(conn).get(workspace_id) is None:
        raise NotFound(f"Workspace '{workspace_id}' not found")


def _leads_page(workspace_id: str, ids: list[uuid.UUID], conn: Connection) -> list[dict[str, Any]]:
    return LeadQueries(conn).by_ids(workspace_id, ids)


def _contacts_page(
    workspace_id: str, ids: list[uuid.UUID], conn: Connection
) -> list[dict[str, Any]]:
    return ContactQueries(conn).by_ids(workspace_id, ids)


def _activities_page(
    chosen: ActivitySelection, lead_ids: list[uuid.UUID], conn: Connection
) -> list[dict[str, Any]]:
    return ActivityQueries(conn).for_leads(
        lead_ids, activity_type=chosen.activity_type, outcome=chosen.outcome
    )


async def leads_export(db: Database, workspace_id: str, chosen: LeadSelection) -> Export:
    def ids(conn: Connection) -> list[uuid.UUID]:
        _check_workspace(conn, workspace_id)
        return _lead_ids(conn, workspace_id, chosen)

    found = await db.read_walking(ids)
    read = functools.partial(_leads_page, workspace_id)
    return Export("leads", workspace_id, found, read, LEAD_SHAPE)


async def contacts_export(db: Database, workspace_id: str, chosen: ContactSelection) -> Export:
    def ids(conn: Connection) -> list[uuid.UUID]:
        _check_workspace(conn, workspace_id)
        terms = contact.search_filters(
            conn,
            workspace_id,
            q=chosen.q,
            phone=chosen.phone,
            email=chosen.email,
            crm_id=chosen.crm_id,
            name=chosen.name,
        )
        return ContactQueries(conn).ids(workspace_id, **terms)

    found = await db.read_walking(ids)
    read = functools.partial(_contacts_page, workspace_id)
    return Export("contacts", workspace_id, found, read, CONTACT_SHAPE)


async def activities_export(db: Database, workspace_id: str, chosen: ActivitySelection) -> Export:
    """Pages of the selected leads' timelines (a lead's entries together, newest first)."""

    def ids(conn: Connection) -> list[uuid.UUID]:
        _check_workspace(conn, workspace_id)
        return _lead_ids(conn, workspace_id, chosen.leads)

    found = await db.read_walking(ids)
    read = functools.partial(_activities_page, chosen)
    return Export("activities", workspace_id, found, read, ACTIVITY_SHAPE)
