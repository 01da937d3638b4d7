"""Every SQL statement about contacts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Connection, or_, select, update

from leadpipe.contacts.rules import ContactIdentity, Identity
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import insert, json_merge
from leadpipe.storage.models import Contact

CONTACTS = table_of(Contact)
_c = CONTACTS.c


class ContactRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def find_by_identity(
        self, workspace_id: str, scope: str, identity: Identity
    ) -> list[ContactIdentity]:
        """Every contact holding any of the identity's CRM id, phone or email."""
        conditions = []
        if identity.crm_id:
            conditions.append(_c.crm_id == identity.crm_id)
        if identity.phone:
            conditions.append(_c.phone_number == identity.phone)
        if identity.email:
            conditions.append(_c.email == identity.email)
        if not conditions:
            return []
        rows = self.conn.execute(
            select(_c.id, _c.crm_id, _c.phone_number, _c.email).where(
                _c.workspace_id == workspace_id, _c.identity_scope == scope, or_(*conditions)
            )
        )
        return [ContactIdentity(r.id, r.crm_id, r.phone_number, r.email) for r in rows]

    def insert_if_new(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert unless a unique identity already exists (a concurrent insert won)."""
        stmt = insert(self.conn, CONTACTS).values(**values).on_conflict_do_nothing()
        return self.conn.execute(stmt.returning(_c.id)).scalar_one_or_none()

    def update_fields(
        self, contact_id: uuid.UUID, values: dict[str, Any], custom_fields: dict[str, Any]
    ) -> None:
        if custom_fields:
            values = {
                **values,
                "custom_fields": json_merge(self.conn, _c.custom_fields, custom_fields),
            }
        self.conn.execute(update(CONTACTS).where(_c.id == contact_id).values(**values))
