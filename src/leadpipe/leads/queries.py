"""The SQL of the lead lists and lead reads: filters, pages, counts (kept and counted),
stage totals."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    bindparam,
    exists,
    false,
    func,
    or_,
    select,
    true,
)

from leadpipe.contacts.repository import (
    contacts_matching_digits,
    contacts_matching_text,
    in_any_identity_scope,
    too_short_for_trigrams,
)
from leadpipe.contacts.rules import after_prefix
from leadpipe.leads.repository import LEAD_COUNTS, LEADS, STATUS_HISTORY
from leadpipe.pipeline.rules import WON
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import InFoundFirst, InJsonArray
from leadpipe.storage.models import Contact, LeadTag
from leadpipe.storage.work import Work

_CONTACTS = table_of(Contact)
_ct = _CONTACTS.c
_TAGS = table_of(LeadTag)
_t = _TAGS.c
# Everything a client sees of a lead, with its contact's name and identity alongside.
_LIST_COLUMNS = [c for c in LEADS.c if c.key not in ("raw_payload", "product_key")]
_CONTACT_COLUMNS = [
    _ct.firstname.label("contact_firstname"),
    _ct.lastname.label("contact_lastname"),
    _ct.email.label("contact_email"),
    _ct.phone_number.label("contact_phone"),
]

_l = LEADS.c
_k = LEAD_COUNTS.c
_h = STATUS_HISTORY.c
_HISTORY_COLUMNS = [
    _h.id,
    _h.lead_id,
    _h.old_stage,
    _h.new_stage,
    _h.changed_by,
    _h.changed_by_name,
    _h.reason,
    _h.notes,
    _h.created_at,
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
    # The reversed last digits of a phone (``contacts.rules.search_terms``); it comes with
    # ``text``, and a contact matching either is found.
    phone_ending: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    assigned_user_id: uuid.UUID | None = None
    # Last activity (a lead's creation is its first) in a range, or before a time: "no
    # activity for N days" is ``idle_since`` N days ago.
    active_from: datetime | None = None
    active_to: datetime | None = None
    idle_since: datetime | None = None
    unassigned: bool | None = None  # True: no user assigned
    lead_id: uuid.UUID | None = None  # one lead, if it matches the rest
    # Any of several stages or sources (one alone goes in ``stage`` or ``source``), any of
    # several tags.
    stages: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    # True: open (active and not won); False: closed (won, lost or inactive).
    open: bool | None = None


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
    "assigned_user_id": _l.assigned_user_id,
    "lead_id": _l.id,
    "is_active": _l.is_active,
    "phone": _ct.phone_number,
    "email": _ct.email,
}
# Filters that match any of several values of one column.
_ANY_OF_FILTERS = {"stages": _l.stage, "sources": _l.lead_source}
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
_KEPT_ANY_OF = {"stages": _k.stage, "sources": _k.lead_source}


def open_condition(columns: Any, *, is_open: bool) -> Any:
    """Open leads (active and not won), or closed ones (won, lost or inactive), of the
    leads or of their kept counts: won leads stay active, but nobody works them."""
    if is_open:
        return and_(columns.is_active == true(), columns.stage != WON)
    return or_(columns.is_active == false(), columns.stage == WON)


def _filtered_from(names: frozenset[str]) -> Any:
    """Leads, joined with their contacts when a filter looks at the contact."""
    return _JOINED if names & _CONTACT_FILTERS else LEADS


def filter_values(f: LeadFilters) -> dict[str, Any]:
    """The filters given, as bind values for the statements of ``filter_conditions``."""
    values = {name: getattr(f, name) for name in f.__slots__ if getattr(f, name) is not None}
    if f.open is not None:  # which condition, not a value: a name of its own for each
        del values["open"]
        values["open_only" if f.open else "closed_only"] = True
    for name in ("tags", *_ANY_OF_FILTERS):  # a list of any length as one value
        if name in values:
            values[name] = json.dumps(list(values[name]))
    if f.text is not None:
        values["text_pattern"] = f"%{f.text}%"
        if too_short_for_trigrams(f.text):  # a statement of its own
            values["short_text"] = True
    if f.phone_ending is not None and (after := after_prefix(f.phone_ending)) is not None:
        values["phone_ending_after"] = after
    return values


@functools.lru_cache(maxsize=256)
def filter_conditions(names: frozenset[str], *, ordered: bool = False) -> tuple[Any, ...]:
    """WHERE conditions for the filters named, with bind parameters in place of values.

    Built once per combination of filters, so that the list statements can be cached: for
    a page of 50 leads, building and compiling the statement cost as much as running it.
    ``ordered``: for a page read in a sort's index order, where "no activity since" (which
    most open leads match) must not lead the search: through the last-activity index the
    page would sort all of them; in the sort's order it stops after a page of matches."""
    where: list[Any] = [_l.workspace_id == bindparam("workspace_id")]
    where += [
        column == bindparam(name) for name, column in _EQUALITY_FILTERS.items() if name in names
    ]
    where += [
        InJsonArray(column, bindparam(name, type_=String))
        for name, column in _ANY_OF_FILTERS.items()
        if name in names
    ]
    if "open_only" in names or "closed_only" in names:
        where.append(open_condition(_l, is_open="open_only" in names))
    if "tags" in names:
        where.append(_tagged(in_order=ordered and "common_tags" in names))
    if "created_from" in names:
        where.append(_l.created_at >= bindparam("created_from"))
    if "created_to" in names:
        where.append(_l.created_at < bindparam("created_to"))
    last_active = _l.last_activity_at  # never NULL since migration 0013
    if "active_from" in names:
        where.append(last_active >= bindparam("active_from"))
    if "active_to" in names:
        where.append(last_active < bindparam("active_to"))
    if "idle_since" in names:
        idle = func.coalesce(last_active, _l.created_at) if ordered else last_active
        where.append(idle < bindparam("idle_since"))
    if "unassigned" in names:
        where.append(_l.assigned_user_id.is_(None))
    if names & _CONTACT_FILTERS:
        # Redundant with the join, but it lets the contact indexes lead the search.
        where.append(_ct.workspace_id == bindparam("workspace_id"))
        where.append(in_any_identity_scope(bindparam("workspace_id")))
    if "phone_ending" in names:
        matching = contacts_matching_digits(
            bindparam("workspace_id"),
            bindparam("text"),
            bindparam("text_pattern"),
            bindparam("phone_ending"),
            bindparam("phone_ending_after") if "phone_ending_after" in names else None,
        )
        where.append(_l.contact_id.in_(matching))
    elif "text" in names:
        matching = contacts_matching_text(
            bindparam("workspace_id"),
            bindparam("text"),
            bindparam("text_pattern"),
            short="short_text" in names,
        )
        where.append(_l.contact_id.in_(matching))
    return tuple(where)


# A page of leads with tags given as many rows of ``lead_tags`` as this, or more, is read
# in the sort's order, each lead looked up among the tags (50 matches come after a few
# hundred leads); fewer, and the tags' leads are found first and sorted, since in order
# the page would pass thousands of leads (all, for an unused tag) before it filled.
COMMON_TAG_ROWS = 1000


def _tag_rows_condition() -> tuple[Any, ...]:
    return (
        _t.workspace_id == bindparam("workspace_id"),
        InJsonArray(_t.tag, bindparam("tags", type_=String)),
    )


def _tagged(*, in_order: bool) -> Any:
    """Leads with any of the tags, from the tags' own index (kept by triggers, migration
    0027) rather than every lead's JSON: looked up lead by lead ``in_order``, else the
    tags' leads as a list."""
    if in_order:
        return exists().where(*_tag_rows_condition(), _t.lead_id == _l.id)
    return InFoundFirst(_l.id, select(_t.lead_id).where(*_tag_rows_condition()))


_TAG_ROWS = select(func.count()).select_from(_TAGS).where(*_tag_rows_condition())


def _order(sort: str, descending: bool) -> tuple[Any, Any]:
    column = _SORTS[sort]
    key = column.desc() if descending else column.asc()
    if column.nullable:
        # Leads without a value come last either way; SQLite and PostgreSQL disagree on
        # where NULLs sort by default. (Only here: on NOT NULL columns the clause would keep
        # PostgreSQL from reading the index backwards.)
        key = key.nulls_last()
    return key, _l.id.desc() if descending else _l.id


@functools.lru_cache(maxsize=256)
def _page_statement(names: frozenset[str], sort: str, descending: bool) -> Any:
    """A page of leads with their contacts. The page's ids are found first, sorting and
    skipping narrow rows only; the wide rows (60-odd columns) are read for those 50 alone:
    that made deep pages and sorts without an index of their own 2-4x faster."""
    order = _order(sort, descending)
    page_ids = (
        select(_l.id)
        .select_from(_filtered_from(names))
        .where(*filter_conditions(names, ordered=True))
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
def _counted_page_statement(names: frozenset[str], sort: str, descending: bool) -> Any:
    """``_page_statement`` with the number of leads matching on every row: for a search,
    whose matches must all be visited to be counted anyway, one pass instead of two."""
    order = _order(sort, descending)
    page = (
        select(_l.id.label("page_id"), func.count().over().label("total"))
        .select_from(_filtered_from(names))
        .where(*filter_conditions(names, ordered=True))
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page")
    )
    return (
        select(*_LIST_COLUMNS, *_CONTACT_COLUMNS, page.c.total)
        .select_from(_JOINED.join(page, page.c.page_id == _l.id))
        .order_by(*order)
    )


@functools.lru_cache(maxsize=256)
def _count_statement(names: frozenset[str]) -> Any:
    return select(func.count()).select_from(_filtered_from(names)).where(*filter_conditions(names))


class LeadQueries:
    """Reads behind the Lead API: filtered lists, one lead, one lead's contact check."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def count(self, f: LeadFilters) -> int:
        values = filter_values(f)
        stmt = _count_statement(frozenset(values))
        return int(self.work.run(stmt, values).scalar())

    def _tag_plan(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """``values`` as a page reads them best for the tags given (``COMMON_TAG_ROWS``);
        None when no lead has any of them."""
        if "tags" not in values:
            return values
        rows = int(self.work.run(_TAG_ROWS, values).scalar())
        if rows == 0:
            return None
        return {**values, "common_tags": True} if rows >= COMMON_TAG_ROWS else values

    def page(
        self, f: LeadFilters, *, sort: str, descending: bool, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        values = self._tag_plan(filter_values(f))
        if values is None:
            return []
        stmt = _page_statement(frozenset(values), sort, descending)
        rows = self.work.run(stmt, {**values, "limit": limit, "offset": offset})
        return [_with_contact(r, _LIST_KEYS) for r in rows.rows]

    def counted_page(
        self, f: LeadFilters, *, sort: str, descending: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page and the number of leads matching (None when the page is empty)."""
        values = self._tag_plan(filter_values(f))
        if values is None:
            return [], None
        stmt = _counted_page_statement(frozenset(values), sort, descending)
        rows = self.work.run(stmt, {**values, "limit": limit, "offset": offset}).rows
        total = int(rows[0][-1]) if rows else None
        return [_with_contact(r[:-1], _LIST_KEYS) for r in rows], total

    def kept_conditions(self, f: LeadFilters) -> list[Any] | None:
        """The filters as conditions on ``lead_counts``, or None when they name something it
        does not keep (search, priority, dates, ...) and the leads must be counted."""
        values = filter_values(f)
        kept = {"workspace_id", "open_only", "closed_only", *_KEPT_FILTERS, *_KEPT_ANY_OF}
        if values.keys() - kept:
            return None
        if f.source == "":  # kept counts fold a missing source into ''
            return None
        where: list[Any] = [_k.workspace_id == f.workspace_id]
        where += [
            column == values[name] for name, column in _KEPT_FILTERS.items() if name in values
        ]
        where += [
            column.in_(getattr(f, name)) for name, column in _KEPT_ANY_OF.items() if name in values
        ]
        if f.open is not None:
            where.append(open_condition(_k, is_open=f.open))
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

    def stage_totals_of(self, f: LeadFilters) -> dict[str, tuple[int, Decimal]]:
        """Leads and their estimated value per stage among those ``f`` matches (the board
        with its filters): from the kept counts when they can tell, else counted."""
        kept = self.kept_conditions(f)
        if kept is not None:
            stmt = (
                select(_k.stage, func.sum(_k.lead_count), func.sum(_k.value_total))
                .where(*kept)
                .group_by(_k.stage)
                .having(func.sum(_k.lead_count) > 0)
            )
            rows = self.conn.execute(stmt)
        else:
            values = filter_values(f)
            stmt = (
                select(_l.stage, func.count(), func.coalesce(func.sum(_l.estimated_value), 0))
                .select_from(_filtered_from(frozenset(values)))
                .where(*filter_conditions(frozenset(values)))
                .group_by(_l.stage)
            )
            rows = self.conn.execute(stmt, values)
        return {stage: (int(n), Decimal(total or 0)) for stage, n, total in rows}

    def stage_entered(
        self, workspace_id: str, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, datetime]:
        """When each lead entered its present stage: its last stage change (a lead never
        moved is absent: it has been in its stage since it was created)."""
        if not ids:
            return {}
        rows = self.conn.execute(
            select(_h.lead_id, func.max(_h.created_at))
            .where(_h.workspace_id == workspace_id, _h.lead_id.in_(list(ids)))
            .group_by(_h.lead_id)
        )
        return {row[0]: row[1] for row in rows}

    def ids_in_stage(self, workspace_id: str, stage: str) -> list[uuid.UUID]:
        rows = self.conn.execute(
            select(_l.id).where(_l.workspace_id == workspace_id, _l.stage == stage)
        )
        return [r[0] for r in rows]

    def ids(
        self, f: LeadFilters, *, sort: str = "created_at", descending: bool = True
    ) -> list[uuid.UUID]:
        """Every lead matching ``f``, in the list's order (newest first unless told): a bulk
        action on all of them, a CSV export."""
        values = filter_values(f)
        names = frozenset(values)
        stmt = (
            select(_l.id)
            .select_from(_filtered_from(names))
            .where(*filter_conditions(names))
            .order_by(*_order(sort, descending))
        )
        return [row[0] for row in self.conn.execute(stmt, values)]

    def by_ids(self, workspace_id: str, lead_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        """These leads of the workspace (those still there), with their contacts, in the
        order of ``lead_ids``. Found by id: ordered in SQL, or with the workspace's column
        open to an index, SQLite read them by walking a workspace index past every lead
        (3x slower for a page of a 55,000-lead workspace's export)."""
        rows = self.conn.execute(
            select(*_LIST_COLUMNS, *_CONTACT_COLUMNS)
            .select_from(_JOINED)
            .where(_l.workspace_id.concat("") == workspace_id, _l.id.in_(list(lead_ids)))
        )
        found = {r["id"]: r for r in (_with_contact(r, _LIST_KEYS) for r in rows)}
        return [found[i] for i in lead_ids if i in found]

    def for_contact(self, workspace_id: str, contact_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(*_LIST_COLUMNS)
            .where(_l.workspace_id == workspace_id, _l.contact_id == contact_id)
            .order_by(_l.created_at.desc(), _l.id.desc())
        ).mappings()
        return [dict(r) for r in rows]

    def stage_history(self, workspace_id: str, lead_id: uuid.UUID) -> list[dict[str, Any]]:
        """A lead's stage changes, newest first (its id, a UUIDv7, orders the changes one
        transaction wrote at the same time)."""
        rows = self.conn.execute(
            select(*_HISTORY_COLUMNS)
            .where(_h.lead_id == lead_id, _h.workspace_id == workspace_id)
            .order_by(_h.created_at.desc(), _h.id.desc())
        ).mappings()
        return [dict(r) for r in rows]
