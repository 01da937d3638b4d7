"""Every SQL statement about contacts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, Select, bindparam, select, union_all, update

from leadpipe.contacts.rules import ContactIdentity, Identity
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert, json_merge, per_dialect
from leadpipe.storage.models import Contact

CONTACTS = table_of(Contact)
_c = CONTACTS.c


def _lookup(column: Any) -> Select[Any]:
    # One indexed lookup per identity: an OR across three unique indexes would make
    # SQLite scan the workspace's contacts.
    return select(_c.id, _c.crm_id, _c.phone_number, _c.email).where(
        _c.workspace_id == bindparam("workspace_id"),
        _c.identity_scope == bindparam("scope"),
        column == bindparam(column.name),
    )


_LOOKUPS = {
    "crm_id": _lookup(_c.crm_id),
    "phone": _lookup(_c.phone_number),
    "email": _lookup(_c.email),
}
_FIND: dict[tuple[str, ...], Any] = {}

_INSERT_IF_NEW = per_dialect(
    lambda d: insert(d, CONTACTS).on_conflict_do_nothing().returning(_c.id)
)
_UPDATE = update(CONTACTS).where(_c.id == bindparam("_contact_id"))
_UPDATE_MERGING = per_dialect(
    lambda d: _UPDATE.values(custom_fields=json_merge(d, _c.custom_fields, "_custom_fields"))
)


def _find_statement(kinds: tuple[str, ...]) -> Any:
    if kinds not in _FIND:
        parts = [_LOOKUPS[k] for k in kinds]
        _FIND[kinds] = parts[0] if len(parts) == 1 else union_all(*parts)
    return _FIND[kinds]


class ContactRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

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
        rows = self.conn.execute(
            _find_statement(kinds), {"workspace_id": workspace_id, "scope": scope, **params}
        )
        found: dict[uuid.UUID, ContactIdentity] = {}
        for r in rows:
            found.setdefault(r.id, ContactIdentity(r.id, r.crm_id, r.phone_number, r.email))
        return list(found.values())

    def insert_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert unless a unique identity already exists (a concurrent insert won)."""
        result: uuid.UUID | None = self.conn.execute(
            _INSERT_IF_NEW(self.conn), values
        ).scalar_one_or_none()
        return result

    def update_fields(
        self, contact_id: uuid.UUID, values: dict[str, Any], custom_fields: dict[str, Any]
    ) -> None:
        if custom_fields:
            self.conn.execute(
                _UPDATE_MERGING(self.conn),
                {"_contact_id": contact_id, "_custom_fields": custom_fields, **values},
            )
        else:
            self.conn.execute(_UPDATE, {"_contact_id": contact_id, **values})
