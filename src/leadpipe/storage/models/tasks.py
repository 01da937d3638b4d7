from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import Base


class LeadTask(Base):
    """A next step on a lead, due at a time, for one user of the workspace."""

    __tablename__ = "lead_tasks"
    __table_args__ = (
        # "My tasks": a user's open tasks by due time; a lead's tasks on its panel and row.
        Index("ix_lead_tasks_workspace_assignee_due", "workspace_id", "assignee_id", "due_at"),
        Index("ix_lead_tasks_lead_due", "lead_id", "due_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime]
    # A member who leaves keeps no tasks: theirs become nobody's, still on the lead.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    done_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
