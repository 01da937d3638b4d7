"""The SQL of imports: the import with its file and progress, its refused rows, and the
digests of the rows imports wrote."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from leadpipe.storage import dialect
from leadpipe.storage.base import table_of
from leadpipe.storage.models import ImportedRow, LeadImport, LeadImportRefusal

IMPORTS = table_of(LeadImport)
REFUSALS = table_of(LeadImportRefusal)
IMPORTED = table_of(ImportedRow)
_i = IMPORTS.c

# What the API and the page show of an import: everything but the file.
SHOWN = [c for c in IMPORTS.c if c.name != "content"]


class ImportRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def insert(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(IMPORTS), values)

    def get(self, workspace_id: str, import_id: uuid.UUID) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(*SHOWN).where(_i.workspace_id == workspace_id, _i.id == import_id)
        ).first()
        return dict(row._mapping) if row else None

    def content(self, import_id: uuid.UUID) -> bytes:
        return bytes(self.conn.execute(select(_i.content).where(_i.id == import_id)).scalar_one())

    def recent(self, workspace_id: str, limit: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(*SHOWN)
            .where(_i.workspace_id == workspace_id)
            .order_by(_i.created_at.desc())
            .limit(limit)
        )
        return [dict(r._mapping) for r in rows]

    def unfinished_of_file(self, workspace_id: str, sha256: str) -> dict[str, Any] | None:
        """An import of the same file that did not finish (stopped by a crash, or failed)."""
        row = self.conn.execute(
            select(*SHOWN)
            .where(
                _i.workspace_id == workspace_id,
                _i.sha256 == sha256,
                _i.dry_run.is_(False),
                _i.status.in_(("pending", "running", "failed")),
            )
            .order_by(_i.created_at.desc())
            .limit(1)
        ).first()
        return dict(row._mapping) if row else None

    def change(self, import_id: uuid.UUID, values: dict[str, Any]) -> None:
        self.conn.execute(update(IMPORTS).where(_i.id == import_id).values(**values))

    def add_progress(
        self, import_id: uuid.UUID, rows_done: int, counts: dict[str, int], now: datetime
    ) -> None:
        """Rows 1..``rows_done`` are in; ``counts`` added to the import's."""
        self.conn.execute(
            update(IMPORTS)
            .where(_i.id == import_id)
            .values(
                rows_done=rows_done,
                updated_at=now,
                **{k: IMPORTS.c[k] + v for k, v in counts.items()},
            )
        )

    def add_refusals(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.conn.execute(insert(REFUSALS), list(rows))

    def refusals(self, import_id: uuid.UUID) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(REFUSALS.c.row_number, REFUSALS.c.reason, REFUSALS.c.row)
            .where(REFUSALS.c.import_id == import_id)
            .order_by(REFUSALS.c.row_number)
        )
        return [dict(r._mapping) for r in rows]

    def seen_rows(self, workspace_id: str, digests: Sequence[str]) -> set[str]:
        if not digests:
            return set()
        found = self.conn.execute(
            select(IMPORTED.c.digest).where(
                IMPORTED.c.workspace_id == workspace_id, IMPORTED.c.digest.in_(list(digests))
            )
        )
        return set(found.scalars())

    def remember_rows(
        self, workspace_id: str, import_id: uuid.UUID, digests: Sequence[str]
    ) -> None:
        if digests:
            self.conn.execute(
                dialect.insert(self.conn.dialect.name, IMPORTED).on_conflict_do_nothing(),
                [
                    {"workspace_id": workspace_id, "digest": d, "import_id": import_id}
                    for d in digests
                ],
            )
