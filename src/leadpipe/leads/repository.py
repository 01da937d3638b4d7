"""Every SQL statement about leads and their stage history."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Uuid,
    bindparam,
    column,
    func,
    insert,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from leadpipe.contacts.repository import (
    contacts_matching_text,
    in_any_identity_scope,
    too_short_for_trigrams,
)
from leadpipe.leads.rules import LeadSnapshot
from leadpipe.storage import fastexec
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import json_merge, per_dialect
from leadpipe.storage.models import Contact, Lead, LeadCount, LeadStatusHistory
from leadpipe.storage.writebehind import WriteBehind, write, write_many

LEADS = table_of(Lead)
LEAD_COUNTS = table_of(LeadCount)
STATUS_HISTORY = table_of(LeadStatusHistory)
_l = LEADS.c
_k = LEAD_COUNTS.c

_NEWEST_ACTIVE = (
    select(_l.id, _l.stage, _l.is_converted, _l.created_at)
    .where(
        _l.contact_id == bindparam("contact_id"),
        _l.product_key == bindparam("product_key"),
        _l.is_active,
    )
    .order_by(_l.created_at.desc())
    .limit(1)
)
# A contact's newest active lead of any product: what a status without a product updates.
_NEWEST_ACTIVE_OF_CONTACT = (
    select(_l.id, _l.stage, _l.is_converted, _l.created_at)
    .where(_l.contact_id == bindparam("contact_id"), _l.is_active)
    .order_by(_l.created_at.desc())
    .limit(1)
)
# PostgreSQL: ``_NEWEST_ACTIVE`` for a whole batch of (contact, product key) pairs in one
# round trip, each pair through the same index lookup (a lateral join on the pairs).
_PAIRS = (
    func.unnest(
        bindparam("contact_ids", type_=ARRAY(Uuid())),
        bindparam("product_keys", type_=ARRAY(String())),
    )
    .table_valued(column("contact_id", Uuid()), column("product_key", String()))
    .render_derived(name="pairs")
)
_NEWEST_OF_PAIR = (
    select(_l.id, _l.stage, _l.is_converted, _l.created_at)
    .where(
        _l.contact_id == _PAIRS.c.contact_id,
        _l.product_key == _PAIRS.c.product_key,
        _l.is_active,
    )
    .order_by(_l.created_at.desc())
    .limit(1)
    .lateral("newest")
)
_NEWEST_ACTIVE_OF_PAIRS = select(
    _PAIRS.c.contact_id,
    _PAIRS.c.product_key,
    _NEWEST_OF_PAIR.c.id,
    _NEWEST_OF_PAIR.c.stage,
    _NEWEST_OF_PAIR.c.is_converted,
    _NEWEST_OF_PAIR.c.created_at,
).select_from(_PAIRS.join(_NEWEST_OF_PAIR, true()))
_INSERT = insert(LEADS)
_UPDATE_MERGING_METADATA = per_dialect(
    lambda d: (
        update(LEADS)
        .where(_l.id == bindparam("_lead_id"))
        .values(metadata=json_merge(d, _l.metadata, "_metadata"))
    )
)
_INSERT_HISTORY = insert(STATUS_HISTORY)
# The columns of ``leads`` that ``lead_counts`` counts by (its key, named alike) or sums.
COUNTED_COLUMNS = frozenset(c.name for c in LEAD_COUNTS.primary_key.columns) | {"estimated_value"}
# PostgreSQL keeps lead_counts by triggers, one statement at a time, each locking its
# counter rows in key order. A transaction that writes leads in several statements
# (intake's batches), or in one while holding other locks (API requests), could still
# deadlock with another over those rows; such writers take this lock on their workspace
# first: intake just before its held-back writes and the COMMIT go out together, the API
# when a change touches a counted column (``update_counted``).
_SERIALIZE_COUNT_WRITERS = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('leadpipe.lead_counts:' || :workspace_id, 0))"
)


class LeadRepository:
    """``later``, when given, holds the writes to the end of the transaction."""

    def __init__(self, conn: Connection, later: WriteBehind | None = None) -> None:
        self.conn = conn
        self.later = later

    def newest_active(self, contact_id: uuid.UUID, product_key: str | None) -> LeadSnapshot | None:
        """The contact's newest active lead of this product key (of any, for None)."""
        params: dict[str, Any] = {"contact_id": contact_id}
        if product_key is None:
            stmt = _NEWEST_ACTIVE_OF_CONTACT
        else:
            stmt, params["product_key"] = _NEWEST_ACTIVE, product_key
        rows = fastexec.execute(self.conn, stmt, params).rows
        return LeadSnapshot(*rows[0]) if rows else None

    def newest_active_many(
        self, keys: Sequence[tuple[uuid.UUID, str | None]]
    ) -> dict[tuple[uuid.UUID, str | None], LeadSnapshot | None]:
        """``newest_active`` for each (contact, product key), in one query on PostgreSQL
        for those that name a product."""
        by_product = [(c, k) for c, k in keys if k is not None]
        newest: dict[tuple[uuid.UUID, str | None], LeadSnapshot | None] = {
            key: self.newest_active(*key) for key in keys if key[1] is None
        }
        if self.conn.dialect.name != "postgresql" or len(by_product) <= 1:
            newest.update({key: self.newest_active(*key) for key in by_product})
            return newest
        newest.update(dict.fromkeys(by_product))
        rows = fastexec.execute(
            self.conn,
            _NEWEST_ACTIVE_OF_PAIRS,
            {"contact_ids": [c for c, _ in by_product], "product_keys": [k for _, k in by_product]},
        ).rows
        for contact_id, key, *lead in rows:
            newest[contact_id, key] = LeadSnapshot(*lead)
        return newest

    def insert(self, values: dict[str, Any]) -> None:
        write(self.conn, self.later, _INSERT, values)

    def update(
        self, lead_id: uuid.UUID, values: dict[str, Any], metadata_patch: dict[str, Any]
    ) -> None:
        """Set ``values`` and merge ``metadata_patch`` into the lead's metadata."""
        write(
            self.conn,
            self.later,
            _UPDATE_MERGING_METADATA(self.conn),
            {"_lead_id": lead_id, "_metadata": metadata_patch, **values},
        )

    def serialize_count_writers(self, workspace_id: str) -> None:
        """Take turns with the other writers of this workspace's lead counts (PostgreSQL).
        Its answer is not read: in a pipeline the server waits, with no round trip."""
        if self.conn.dialect.name == "postgresql":
            fastexec.submit(self.conn, _SERIALIZE_COUNT_WRITERS, {"workspace_id": workspace_id})

    def update_counted(
        self,
        workspace_id: str,
        lead_id: uuid.UUID,
        values: dict[str, Any],
        metadata_patch: dict[str, Any],
    ) -> None:
        """``update``, for a transaction that may hold other locks meanwhile (an API
        request): when ``values`` change what ``lead_counts`` counts, it first waits for
        the workspace's intake batches writing leads, which lock counter rows in no global
        order across their statements and could otherwise deadlock with it."""
        if COUNTED_COLUMNS.intersection(values):
            self.serialize_count_writers(workspace_id)
        self.update(lead_id, values, metadata_patch)

    def move_all(self, workspace_id: str, from_stage: str, values: dict[str, Any]) -> int:
        """Move every lead of a stage at once (a stage being deleted); returns how many."""
        self.serialize_count_writers(workspace_id)
        result = self.conn.execute(
            update(LEADS)
            .where(_l.workspace_id == workspace_id, _l.stage == from_stage)
            .values(**values)
        )
        return int(result.rowcount)

    def add_status_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        write_many(self.conn, self.later, _INSERT_HISTORY, rows)


# -- reads for the Lead API -------------------------------------------------------------

_CONTACTS = table_of(Contact)
_ct = _CONTACTS.c
# Everything a client sees of a lead, with its contact's name and identity alongside.
_LIST_COLUMNS = [c for c in LEADS.c if c.key not in ("raw_payload", "product_key")]
_CONTACT_COLUMNS = [
    _ct.firstname.label("contact_firstname"),
    _ct.lastname.label("contact_lastname"),
    _ct.email.label("contact_email"),
    _ct.phone_number.label("contact_phone"),
]


@dataclass(frozen=True, slots=True)
class LeadFilters:
    workspace_id: str
    stage: str | None = None
    source: str | None = None
    product_key: str | None = None
    priority: str | None = None
    temperature: str | None = None
    assigned_to: str | None = None
    is_active: bool | None = True
    phone: str | None = None
    email: str | None = None
    text: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


_SORTS = {
    "created_at": _l.created_at,
    "updated_at": _l.updated_at,
    "estimated_value": _l.estimated_value,
    "lead_score": _l.lead_score,
}


_LIST_KEYS = tuple(c.key for c in _LIST_COLUMNS)
_DETAIL_KEYS = (*_LIST_KEYS, "raw_payload")
_CONTACT_KEYS = ("firstname", "lastname", "email", "phone")


def _with_contact(row: Sequence[Any], lead_keys: tuple[str, ...]) -> dict[str, Any]:
    """A lead row (its columns, then its contact's) as the API shows it. Built by position:
    a list page has thousands of values, and name lookups per value cost milliseconds."""
    n = len(lead_keys)
    lead = dict(zip(lead_keys, row[:n], strict=True))
    lead["contact"] = {"id": lead["contact_id"], **dict(zip(_CONTACT_KEYS, row[n:], strict=True))}
    return lead


# Filters that compare one column with the value given, by LeadFilters field name.
_EQUALITY_FILTERS = {
    "stage": _l.stage,
    "source": _l.lead_source,
    "product_key": _l.product_key,
    "priority": _l.priority,
    "temperature": _l.temperature,
    "assigned_to": _l.assigned_to,
    "is_active": _l.is_active,
    "phone": _ct.phone_number,
    "email": _ct.email,
}
# Filters on a contact column, answered by joining the contacts. (A text search instead
# finds the matching contacts first: see ``filter_conditions``.)
_CONTACT_FILTERS = frozenset({"phone", "email"})
_JOINED = LEADS.join(_CONTACTS, _ct.id == _l.contact_id)
# The filters ``lead_counts`` can answer, and its column for each.
_KEPT_FILTERS = {
    "stage": _k.stage,
    "source": _k.lead_source,
    "product_key": _k.product_key,
    "is_active": _k.is_active,
}


def _filtered_from(names: frozenset[str]) -> Any:
    """Leads, joined with their contacts when a filter looks at the contact."""
    return _JOINED if names & _CONTACT_FILTERS else LEADS


def filter_values(f: LeadFilters) -> dict[str, Any]:
    """The filters given, as bind values for the statements of ``filter_conditions``."""
    values = {name: getattr(f, name) for name in f.__slots__ if getattr(f, name) is not None}
    if f.text is not None:
        values["text_pattern"] = f"%{f.text}%"
        if too_short_for_trigrams(f.text):  # a statement of its own
            values["short_text"] = True
    return values


@functools.lru_cache(maxsize=256)
def filter_conditions(names: frozenset[str]) -> tuple[Any, ...]:
    """WHERE conditions for the filters named, with bind parameters in place of values.

    Built once per combination of filters, so that the list statements can be cached: for
    a page of 50 leads, building and compiling the statement cost as much as running it."""
    where: list[Any] = [_l.workspace_id == bindparam("workspace_id")]
    where += [
        column == bindparam(name) for name, column in _EQUALITY_FILTERS.items() if name in names
    ]
    if "created_from" in names:
        where.append(_l.created_at >= bindparam("created_from"))
    if "created_to" in names:
        where.append(_l.created_at < bindparam("created_to"))
    if names & _CONTACT_FILTERS:
        # Redundant with the join, but it lets the contact indexes lead the search.
        where.append(_ct.workspace_id == bindparam("workspace_id"))
        where.append(in_any_identity_scope(bindparam("workspace_id")))
    if "text" in names:
        matching = contacts_matching_text(
            bindparam("workspace_id"),
            bindparam("text"),
            bindparam("text_pattern"),
            short="short_text" in names,
        )
        where.append(_l.contact_id.in_(matching))
    return tuple(where)


@functools.lru_cache(maxsize=256)
def _page_statement(names: frozenset[str], sort: str, descending: bool) -> Any:
    """A page of leads with their contacts. The page's ids are found first, sorting and
    skipping narrow rows only; the wide rows (60-odd columns) are read for those 50 alone:
    that made deep pages and sorts without an index of their own 2-4x faster."""
    column = _SORTS[sort]
    key = column.desc() if descending else column.asc()
    if column.nullable:
        # Leads without a value come last either way; SQLite and PostgreSQL disagree on
        # where NULLs sort by default. (Only here: on NOT NULL columns the clause would keep
        # PostgreSQL from reading the index backwards.)
        key = key.nulls_last()
    order = (key, _l.id.desc() if descending else _l.id)
    page_ids = (
        select(_l.id)
        .select_from(_filtered_from(names))
        .where(*filter_conditions(names))
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return (
        select(*_LIST_COLUMNS, *_CONTACT_COLUMNS)
        .select_from(_JOINED)
        .where(_l.id.in_(page_ids.scalar_subquery()))
        .order_by(*order)
    )


@functools.lru_cache(maxsize=256)
def _count_statement(names: frozenset[str]) -> Any:
    return select(func.count()).select_from(_filtered_from(names)).where(*filter_conditions(names))


class LeadQueries:
    """Reads behind the Lead API: filtered lists, one lead, one lead's contact check."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def count(self, f: LeadFilters) -> int:
        values = filter_values(f)
        stmt = _count_statement(frozenset(values))
        return int(fastexec.execute(self.conn, stmt, values).scalar())

    def page(
        self, f: LeadFilters, *, sort: str, descending: bool, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        values = filter_values(f)
        stmt = _page_statement(frozenset(values), sort, descending)
        rows = fastexec.execute(self.conn, stmt, {**values, "limit": limit, "offset": offset})
        return [_with_contact(r, _LIST_KEYS) for r in rows.rows]

    def kept_conditions(self, f: LeadFilters) -> list[Any] | None:
        """The filters as conditions on ``lead_counts``, or None when they name something it
        does not keep (search, priority, dates, ...) and the leads must be counted."""
        values = filter_values(f)
        if values.keys() - {"workspace_id"} - _KEPT_FILTERS.keys():
            return None
        if f.source == "":  # kept counts fold a missing source into ''
            return None
        where: list[Any] = [_k.workspace_id == f.workspace_id]
        where += [
            column == values[name] for name, column in _KEPT_FILTERS.items() if name in values
        ]
        return where

    def stored_source(self, workspace_id: str, typed: str) -> str | None:
        """The spelling of a lead source stored most often that equals ``typed`` but for
        case (from the kept counts: one row per source, not per lead)."""
        found = self.conn.execute(
            select(_k.lead_source)
            .where(
                _k.workspace_id == workspace_id,
                func.lower(_k.lead_source) == typed.strip().lower(),
            )
            .group_by(_k.lead_source)
            .order_by(func.sum(_k.lead_count).desc(), _k.lead_source)
            .limit(1)
        ).scalar()
        return str(found) if found is not None else None

    def kept_count(self, f: LeadFilters) -> int | None:
        """How many leads match, from the kept counts; None when they cannot tell."""
        where = self.kept_conditions(f)
        if where is None:
            return None
        total = self.conn.execute(
            select(func.coalesce(func.sum(_k.lead_count), 0)).where(*where)
        ).scalar_one()
        return int(total)

    def one(self, workspace_id: str, lead_id: uuid.UUID) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(*_LIST_COLUMNS, _l.raw_payload, *_CONTACT_COLUMNS)
            .select_from(LEADS.join(_CONTACTS, _ct.id == _l.contact_id))
            .where(_l.id == lead_id, _l.workspace_id == workspace_id)
        ).first()
        return _with_contact(row, _DETAIL_KEYS) if row is not None else None

    def contact_exists(self, workspace_id: str, contact_id: uuid.UUID) -> bool:
        found = self.conn.execute(
            select(_ct.id).where(_ct.id == contact_id, _ct.workspace_id == workspace_id)
        ).first()
        return found is not None

    def stage_totals(
        self, workspace_id: str, created_from: datetime | None, created_to: datetime | None
    ) -> dict[str, tuple[int, Decimal]]:
        """Leads and their estimated value per stage (pipeline overview): from the kept
        counts, or counted when a date range narrows them."""
        if created_from is None and created_to is None:
            stmt = (
                select(_k.stage, func.sum(_k.lead_count), func.sum(_k.value_total))
                .where(_k.workspace_id == workspace_id)
                .group_by(_k.stage)
                .having(func.sum(_k.lead_count) > 0)
            )
        else:
            stmt = select(
                _l.stage, func.count(), func.coalesce(func.sum(_l.estimated_value), 0)
            ).where(_l.workspace_id == workspace_id)
            if created_from is not None:
                stmt = stmt.where(_l.created_at >= created_from)
            if created_to is not None:
                stmt = stmt.where(_l.created_at < created_to)
            stmt = stmt.group_by(_l.stage)
        return {stage: (int(n), Decimal(total)) for stage, n, total in self.conn.execute(stmt)}

    def ids_in_stage(self, workspace_id: str, stage: str) -> list[uuid.UUID]:
        rows = self.conn.execute(
            select(_l.id).where(_l.workspace_id == workspace_id, _l.stage == stage)
        )
        return [r[0] for r in rows]

    def for_contact(self, workspace_id: str, contact_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(*_LIST_COLUMNS)
            .where(_l.workspace_id == workspace_id, _l.contact_id == contact_id)
            .order_by(_l.created_at.desc(), _l.id.desc())
        ).mappings()
        return [dict(r) for r in rows]
