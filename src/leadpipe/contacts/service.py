"""The one way a contact is written, by intake and the contact API alike."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from leadpipe.contacts.repository import ContactRepository
from leadpipe.contacts.rules import reversed_digits
from leadpipe.storage.work import Work


class ContactWrites:
    """The one way a contact is inserted or changed: intake and the contact API both
    write through it. A work that holds writes (intake's batches) holds plain inserts to
    the end of the transaction."""

    def __init__(self, work: Connection | Work) -> None:
        self._contacts = ContactRepository(work)

    def insert(self, row: dict[str, Any]) -> None:
        """Insert ``row`` (``rules.new_contact``); when held back, a concurrent insert of
        one of its identities makes the transaction fail at its end."""
        self._contacts.insert(_with_phone_reversed(row))

    def insert_if_new(self, row: dict[str, Any]) -> uuid.UUID | None:
        """Insert ``row`` unless one of its identities exists already (a concurrent insert
        won): its id, or None."""
        return self._contacts.insert_if_new(_with_phone_reversed(row))

    def change(
        self,
        contact_id: uuid.UUID,
        values: dict[str, Any],
        custom_fields: dict[str, Any],
        now: datetime,
    ) -> None:
        """Set ``values``, and merge ``custom_fields`` into the ones the contact has."""
        self._contacts.update_fields(
            contact_id, _with_phone_reversed({**values, "updated_at": now}), custom_fields
        )


def _with_phone_reversed(values: dict[str, Any]) -> dict[str, Any]:
    """The values with the phone's reversed digits beside a phone they set: what a search
    by a phone's last digits looks up."""
    if "phone_number" not in values:
        return values
    return {**values, "phone_reversed": reversed_digits(values["phone_number"])}
