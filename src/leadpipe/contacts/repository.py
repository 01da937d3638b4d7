"""Every SQL statement about contacts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    any_,
    bindparam,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import ARRAY

from leadpipe.contacts.rules import ContactIdentity, Identity, after_prefix, holds_any
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import (
    ContainsIgnoringCase,
    batches_lookups,
    insert,
    json_merge,
    ors_indexed_lookups,
    per_dialect,
)
from leadpipe.storage.models import Contact, Webhook
from leadpipe.storage.work import Work

CONTACTS = table_of(Contact)
_c = CONTACTS.c
_WEBHOOKS = table_of(Webhook)


_IDENTITY_COLUMNS = {"crm_id": _c.crm_id, "phone": _c.phone_number, "email": _c.email}
_FIND: dict[tuple[str, str], Any] = {}


def _find_statement(dialect: str, kinds: tuple[str, ...]) -> Any:
    """Contacts holding any of the given identities, as each backend finds them fastest.

    SQLite cannot combine ``workspace AND scope AND (crm OR phone OR email)`` with the three
    unique indexes and would scan the workspace, so it gets one indexed lookup per identity
    glued with UNION ALL; PostgreSQL ORs them through a bitmap of the same indexes, and
    plans that faster than the union.
    """
    key = (dialect, "+".join(kinds))
    if key not in _FIND:
        columns = (_c.id, _c.crm_id, _c.phone_number, _c.email)
        scope = (
            _c.workspace_id == bindparam("workspace_id"),
            _c.identity_scope == bindparam("scope"),
        )
        matches = [_IDENTITY_COLUMNS[k] == bindparam(_IDENTITY_COLUMNS[k].name) for k in kinds]
        if ors_indexed_lookups(dialect) or len(kinds) == 1:
            _FIND[key] = select(*columns).where(*scope, or_(*matches))
        else:
            _FIND[key] = union_all(*[select(*columns).where(*scope, m) for m in matches])
    return _FIND[key]


# PostgreSQL: the contacts of a whole batch of identities in one round trip, through the
# same three unique indexes (a bitmap OR of array lookups).
_FIND_MANY = select(_c.id, _c.crm_id, _c.phone_number, _c.email).where(
    _c.workspace_id == bindparam("workspace_id"),
    _c.identity_scope == bindparam("scope"),
    or_(
        _c.crm_id == any_(bindparam("crm_ids", type_=ARRAY(String))),
        _c.phone_number == any_(bindparam("phones", type_=ARRAY(String))),
        _c.email == any_(bindparam("emails", type_=ARRAY(String))),
    ),
)

_INSERT = sa_insert(CONTACTS)
_INSERT_IF_NEW = per_dialect(
    lambda d: insert(d, CONTACTS).on_conflict_do_nothing().returning(_c.id)
)
_UPDATE = update(CONTACTS).where(_c.id == bindparam("_contact_id"))
_UPDATE_MERGING = per_dialect(
    lambda d: _UPDATE.values(custom_fields=json_merge(d, _c.custom_fields, "_custom_fields"))
)


class ContactRepository:
    """Plain inserts wait for the end of the transaction when its work holds writes."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def find_by_identity(
        self, workspace_id: str, scope: str, identity: Identity
    ) -> list[ContactIdentity]:
        """Every contact holding any of the identity's CRM id, phone or email."""
        params = {
            "crm_id": identity.crm_id,
            "phone_number": identity.phone,
            "email": identity.email,
        }
        kinds = tuple(
            k for k, v in zip(("crm_id", "phone", "email"), params.values(), strict=True) if v
        )
        if not kinds:
            return []
        rows = self.work.run(
            _find_statement(self.conn.dialect.name, kinds),
            {
                "workspace_id": workspace_id,
                "scope": scope,
                **{k: v for k, v in params.items() if v},
            },
        ).rows
        found: dict[uuid.UUID, ContactIdentity] = {}
        for row in rows:
            found.setdefault(row[0], ContactIdentity(*row))
        return list(found.values())

    def find_by_identities(
        self, workspace_id: str, scope: str, identities: Sequence[Identity]
    ) -> list[list[ContactIdentity]]:
        """``find_by_identity`` for each identity, in one query on PostgreSQL (SQLite has
        no round trips to save)."""
        if not batches_lookups(self.conn) or len(identities) == 1:
            return [self.find_by_identity(workspace_id, scope, i) for i in identities]
        rows = self.work.run(
            _FIND_MANY,
            {
                "workspace_id": workspace_id,
                "scope": scope,
                "crm_ids": sorted({i.crm_id for i in identities if i.crm_id}),
                "phones": sorted({i.phone for i in identities if i.phone}),
                "emails": sorted({i.email for i in identities if i.email}),
            },
        ).rows
        found = [ContactIdentity(*row) for row in rows]
        return [[c for c in found if holds_any(c, i)] for i in identities]

    def insert(self, values: dict[str, Any]) -> None:
        """Insert, failing (IntegrityError) if one of its identities exists already: when
        held back or pipelined, only at the end of the transaction."""
        self.work.write(_INSERT, values)

    def insert_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert unless a unique identity already exists (a concurrent insert won)."""
        result: uuid.UUID | None = self.work.run(_INSERT_IF_NEW(self.conn), values).scalar()
        return result

    def update_fields(
        self, contact_id: uuid.UUID, values: dict[str, Any], custom_fields: dict[str, Any]
    ) -> None:
        if custom_fields:
            self.work.run(
                _UPDATE_MERGING(self.conn),
                {"_contact_id": contact_id, "_custom_fields": custom_fields, **values},
            )
        else:
            self.work.run(_UPDATE, {"_contact_id": contact_id, **values})


_VIEW = [c for c in CONTACTS.c if c.key != "identity_scope"]


# What a text search looks in: a contact's first and last name and email as one text, as
# the search index of migration 0022 has it (written with literals, not bind parameters:
# the database uses that index only for this very expression). One text, one index: a
# search for ``jane.smith`` or ``Jane Sm`` is one match, and intake keeps one index up.
SEARCHED_TEXT = (
    func.coalesce(_c.firstname, literal_column("''"))
    + literal_column("' '")
    + func.coalesce(_c.lastname, literal_column("''"))
    + literal_column("' '")
    + func.coalesce(_c.email, literal_column("''"))
)


# SQLite 3.40 does not see that the search index covers the searched text (it cannot tell
# an indexed expression from the columns in it), so it would take any other index on the
# workspace and read every contact row; named, the index makes a search 4-5x faster.
NAME_INDEX_HINT = "INDEXED BY ix_contacts_name_search"


def too_short_for_trigrams(text: str) -> bool:
    """A trigram index finds only texts of three characters or more; shorter searches take
    a form of their own (see ``ContainsIgnoringCase``)."""
    return len(text) < 3


def in_any_identity_scope(workspace_id: Any) -> Any:
    """The contact is in any of the workspace's identity scopes: ``''`` or the id of one of
    its webhooks (whatever each dedupes by now: contacts keep the scope they were made in).

    A search by phone, email or CRM id across scopes says so outright, so that the unique
    indexes, which start (workspace, scope), answer it with one look-up per scope. That
    spares intake two more indexes on random keys to keep up for every new contact."""
    scopes = union_all(
        select(literal("")), select(_WEBHOOKS.c.id).where(_WEBHOOKS.c.workspace_id == workspace_id)
    )
    return _c.identity_scope.in_(scopes)


def matches_text(text: Any, pattern: Any, *, short: bool = False) -> Any:
    """A contact whose CRM id is ``text`` or whose first, last or full name or email
    matches ``pattern`` (``%text%``); values or bind parameters. ``SEARCHED_TEXT`` holds
    them all, so one match over it finds any. ``short``: ``too_short_for_trigrams(text)``."""
    text_matches = ContainsIgnoringCase(SEARCHED_TEXT, pattern, trigram_index=not short)
    return or_(_c.crm_id == text, text_matches)


def contacts_matching_text(workspace_id: Any, text: Any, pattern: Any, *, short: bool) -> Any:
    """The ids of a workspace's contacts that ``matches_text``, for ``IN``: searching the
    contacts first and then their leads is several times faster than testing the contact of
    every lead."""
    return (
        select(_c.id)
        .where(_c.workspace_id == workspace_id, matches_text(text, pattern, short=short))
        .with_hint(CONTACTS, NAME_INDEX_HINT, "sqlite")
        # Stands alone even where the outer query joins the contacts too (a phone filter).
        .correlate(None)
    )


def contacts_with_phone_ending(workspace_id: Any, reversed_start: Any, after: Any) -> Any:
    """The ids of a workspace's contacts whose phone ends with some digits: their reversed
    digits from ``reversed_start`` (``rules.reversed_digits`` of the digits typed) up to
    ``after`` (``rules.after_prefix`` of it; None: no end), read along the index of
    migration 0025."""
    where = [_c.workspace_id == workspace_id, _c.phone_reversed >= reversed_start]
    if after is not None:
        where.append(_c.phone_reversed < after)
    return select(_c.id).where(*where).correlate(None)


def contacts_matching_digits(
    workspace_id: Any, text: Any, pattern: Any, reversed_start: Any, after: Any
) -> Any:
    """The ids of the contacts a search of digits finds: as text (a CRM id, an email with
    them) or by the end of their phone; each part through its own index."""
    return union_all(
        contacts_matching_text(workspace_id, text, pattern, short=False),
        contacts_with_phone_ending(workspace_id, reversed_start, after),
    )


def _search_conditions(
    workspace_id: str,
    phone: str | None,
    email: str | None,
    crm_id: str | None,
    text: str | None,
    phone_ending: str | None = None,
) -> list[Any]:
    """WHERE conditions of a contact search (``ContactQueries.search``, ``ids``).
    ``phone_ending`` (reversed digits) comes with ``text``: a contact matching either."""
    where: list[Any] = [_c.workspace_id == workspace_id]
    identities = ((_c.phone_number, phone), (_c.email, email), (_c.crm_id, crm_id))
    where += [column == value for column, value in identities if value is not None]
    if phone is not None or email is not None or crm_id is not None:
        where.append(in_any_identity_scope(workspace_id))
    if text is not None and phone_ending is not None:
        found = contacts_matching_digits(
            workspace_id, text, f"%{text}%", phone_ending, after_prefix(phone_ending)
        )
        where.append(_c.id.in_(found))
    elif text is not None:
        where.append(matches_text(text, f"%{text}%", short=too_short_for_trigrams(text)))
    return where


def _name_index_fits(
    phone: str | None,
    email: str | None,
    crm_id: str | None,
    text: str | None,
    phone_ending: str | None = None,
) -> bool:
    return (
        text is not None
        and phone is None
        and email is None
        and crm_id is None
        and phone_ending is None
    )


class ContactQueries:
    """Reads and plain writes behind the Contact API."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def search(
        self,
        workspace_id: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        crm_id: str | None = None,
        text: str | None = None,
        phone_ending: str | None = None,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        where = _search_conditions(workspace_id, phone, email, crm_id, text, phone_ending)
        count, page = select(func.count()).select_from(CONTACTS), select(*_VIEW)
        if _name_index_fits(phone, email, crm_id, text, phone_ending):
            count = count.with_hint(CONTACTS, NAME_INDEX_HINT, "sqlite")
            page = page.with_hint(CONTACTS, NAME_INDEX_HINT, "sqlite")
        total = self.conn.execute(count.where(*where)).scalar_one()
        rows = self.conn.execute(
            page.where(*where)
            .order_by(_c.created_at.desc(), _c.id.desc())
            .limit(limit)
            .offset(offset)
        ).mappings()
        return [dict(r) for r in rows], int(total)

    def ids(
        self,
        workspace_id: str,
        *,
        phone: str | None = None,
        email: str | None = None,
        crm_id: str | None = None,
        text: str | None = None,
        phone_ending: str | None = None,
    ) -> list[uuid.UUID]:
        """Every contact ``search`` finds, in its order, in one pass (an export)."""
        where = _search_conditions(workspace_id, phone, email, crm_id, text, phone_ending)
        stmt = select(_c.id).where(*where)
        if _name_index_fits(phone, email, crm_id, text, phone_ending):
            stmt = stmt.with_hint(CONTACTS, NAME_INDEX_HINT, "sqlite")
        rows = self.conn.execute(stmt.order_by(_c.created_at.desc(), _c.id.desc()))
        return [row[0] for row in rows]

    def by_ids(self, workspace_id: str, contact_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        """These contacts of the workspace (those still there), in the order of
        ``contact_ids``."""
        rows = self.conn.execute(
            select(*_VIEW).where(_c.workspace_id == workspace_id, _c.id.in_(list(contact_ids)))
        ).mappings()
        found = {r["id"]: dict(r) for r in rows}
        return [found[i] for i in contact_ids if i in found]

    def one(self, workspace_id: str, contact_id: uuid.UUID) -> dict[str, Any] | None:
        row = (
            self.conn.execute(
                select(*_VIEW).where(_c.id == contact_id, _c.workspace_id == workspace_id)
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    def delete(self, contact_id: uuid.UUID) -> None:
        """The contact and, by cascade, its leads, their activities and stage history."""
        self.conn.execute(sa_delete(CONTACTS).where(_c.id == contact_id))
