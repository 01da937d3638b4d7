"""What the inbound queue answers (seed 001's names)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from leadpipe.leads.schemas import ActivityOut, LeadOut


class QueueMetrics(BaseModel):
    """Seed 001's headline numbers, over the same leads as the queue."""

    totalLeads: int
    newLeads: int
    pending: int = Field(description="Open leads past the new stage: being worked.")
    todayLeads: int
    topProduct: str | None
    topSource: str | None
    conversionRate: str = Field(examples=["12.5%"])


class InboundQueue(BaseModel):
    success: Literal[True]
    leads: list[LeadOut]
    metrics: QueueMetrics
    total: int


class InboundLead(BaseModel):
    success: Literal[True]
    lead: LeadOut
    activities: list[ActivityOut]
