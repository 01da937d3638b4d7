from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import Base


class LeadImport(Base):
    """A CSV file of leads being imported: the file itself (so that an import stopped by
    a crash goes on from where it was), its column map, and its progress by row, kept in
    the transaction of each chunk of rows."""

    __tablename__ = "lead_imports"
    __table_args__ = (Index("ix_lead_imports_workspace_created", "workspace_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # pending, running, done, failed
    dry_run: Mapped[bool] = mapped_column(default=False)
    column_map: Mapped[dict[str, Any]] = mapped_column(default=dict)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)  # rows 1..rows_done are in
    created: Mapped[int] = mapped_column(default=0)  # leads opened (or contacts only)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)  # rows imported before, skipped
    refused: Mapped[int] = mapped_column(default=0)
    failure: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class LeadImportRefusal(Base):
    """A row an import refused, with why (the error report)."""

    __tablename__ = "lead_import_refusals"

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead_imports.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(1000))
    row: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ImportedRow(Base):
    """A row some import wrote, by the digest of its content: the same row in a later
    import (the file imported twice) is skipped, not applied again."""

    __tablename__ = "imported_rows"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead_imports.id", ondelete="CASCADE"))
