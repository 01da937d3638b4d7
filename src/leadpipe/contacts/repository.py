"""Every SQL statement about contacts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, union_all, update

from leadpipe.contacts.rules import ContactIdentity, Identity
from leadpipe.storage import fastexec
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert, json_merge, per_dialect
from leadpipe.storage.models import Contact

CONTACTS = table_of(Contact)
_c = CONTACTS.c


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
        if dialect == "postgresql" or len(kinds) == 1:
            _FIND[key] = select(*columns).where(*scope, or_(*matches))
        else:
            _FIND[key] = union_all(*[select(*columns).where(*scope, m) for m in matches])
    return _FIND[key]


_INSERT_IF_NEW = per_dialect(
    lambda d: insert(d, CONTACTS).on_conflict_do_nothing().returning(_c.id)
)
_UPDATE = update(CONTACTS).where(_c.id == bindparam("_contact_id"))
_UPDATE_MERGING = per_dialect(
    lambda d: _UPDATE.values(custom_fields=json_merge(d, _c.custom_fields, "_custom_fields"))
)


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
        rows = fastexec.execute(
            self.conn,
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

    def insert_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert unless a unique identity already exists (a concurrent insert won)."""
        result: uuid.UUID | None = fastexec.execute(
            self.conn, _INSERT_IF_NEW(self.conn), values
        ).scalar()
        return result

    def update_fields(
        self, contact_id: uuid.UUID, values: dict[str, Any], custom_fields: dict[str, Any]
    ) -> None:
        if custom_fields:
            fastexec.execute(
                self.conn,
                _UPDATE_MERGING(self.conn),
                {"_contact_id": contact_id, "_custom_fields": custom_fields, **values},
            )
        else:
            fastexec.execute(self.conn, _UPDATE, {"_contact_id": contact_id, **values})
