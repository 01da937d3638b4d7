"""The SQL that writes leads and their stage history, and the lookups intake makes.

The lead lists' reads are in ``leads/queries.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Uuid,
    bindparam,
    column,
    delete,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from leadpipe.leads.rules import LeadSnapshot
from leadpipe.storage.base import table_of
from leadpipe.storage.dialect import (
    batches_lookups,
    json_merge,
    per_dialect,
)
from leadpipe.storage.models import Lead, LeadCount, LeadStatusHistory
from leadpipe.storage.work import Work

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


class LeadRepository:
    """Writes wait for the end of the transaction when its work holds them."""

    def __init__(self, work: Connection | Work) -> None:
        self.work = Work.of(work)
        self.conn = self.work.conn

    def newest_active(self, contact_id: uuid.UUID, product_key: str | None) -> LeadSnapshot | None:
        """The contact's newest active lead of this product key (of any, for None)."""
        params: dict[str, Any] = {"contact_id": contact_id}
        if product_key is None:
            stmt = _NEWEST_ACTIVE_OF_CONTACT
        else:
            stmt, params["product_key"] = _NEWEST_ACTIVE, product_key
        rows = self.work.run(stmt, params).rows
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
        if not batches_lookups(self.conn) or len(by_product) <= 1:
            newest.update({key: self.newest_active(*key) for key in by_product})
            return newest
        newest.update(dict.fromkeys(by_product))
        rows = self.work.run(
            _NEWEST_ACTIVE_OF_PAIRS,
            {"contact_ids": [c for c, _ in by_product], "product_keys": [k for _, k in by_product]},
        ).rows
        for contact_id, key, *lead in rows:
            newest[contact_id, key] = LeadSnapshot(*lead)
        return newest

    def insert(self, values: dict[str, Any]) -> None:
        self.work.write(_INSERT, values)

    def update(
        self, lead_id: uuid.UUID, values: dict[str, Any], metadata_patch: dict[str, Any]
    ) -> None:
        """Set ``values`` and merge ``metadata_patch`` into the lead's metadata."""
        self.work.write(
            _UPDATE_MERGING_METADATA(self.conn),
            {"_lead_id": lead_id, "_metadata": metadata_patch, **values},
        )

    def serialize_count_writers(self, workspace_id: str) -> None:
        """Take turns with the other writers of this workspace's lead counts."""
        self.work.lock_workspace_writers(workspace_id)

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

    def delete_many(self, workspace_id: str, lead_ids: Sequence[uuid.UUID]) -> int:
        """Delete these leads of the workspace with their timelines; returns how many."""
        self.serialize_count_writers(workspace_id)
        result = self.conn.execute(
            delete(LEADS).where(_l.workspace_id == workspace_id, _l.id.in_(list(lead_ids)))
        )
        return int(result.rowcount)

    def add_status_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        self.work.write_many(_INSERT_HISTORY, rows)


# -- reads for the Lead API -------------------------------------------------------------
