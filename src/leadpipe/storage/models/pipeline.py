from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from leadpipe.kit.ids import uuid7
from leadpipe.storage.base import Base


class PipelineStage(Base):
    __tablename__ = "lead_pipeline_stages"
    __table_args__ = (UniqueConstraint("workspace_id", "stage_slug"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    stage_name: Mapped[str] = mapped_column(String(100))
    stage_slug: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    color: Mapped[str] = mapped_column(String(7), server_default=text("'#3182CE'"))
    stage_order: Mapped[int]
    conversion_probability: Mapped[int] = mapped_column(server_default=text("0"))
    is_default: Mapped[bool] = mapped_column(server_default=text("false"))
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
