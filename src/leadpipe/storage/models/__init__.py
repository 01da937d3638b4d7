"""Every table, imported here so Alembic and tests see the whole schema."""

from leadpipe.storage.models.accounts import (
    ApiKey,
    DashboardSession,
    Membership,
    SavedView,
    User,
    Workspace,
)
from leadpipe.storage.models.audit import AuditEntry
from leadpipe.storage.models.contacts import Contact
from leadpipe.storage.models.customfields import LeadFieldDefinition
from leadpipe.storage.models.imports import ImportedRow, LeadImport, LeadImportRefusal
from leadpipe.storage.models.intake import (
    InboundRequest,
    Provider,
    ProviderUsage,
    Webhook,
    WebhookDelivery,
)
from leadpipe.storage.models.leads import (
    Lead,
    LeadActivity,
    LeadCount,
    LeadStatusHistory,
    LeadTag,
)
from leadpipe.storage.models.pipeline import PipelineStage
from leadpipe.storage.models.tasks import LeadTask

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Contact",
    "DashboardSession",
    "ImportedRow",
    "InboundRequest",
    "Lead",
    "LeadActivity",
    "LeadCount",
    "LeadFieldDefinition",
    "LeadImport",
    "LeadImportRefusal",
    "LeadStatusHistory",
    "LeadTag",
    "LeadTask",
    "Membership",
    "PipelineStage",
    "Provider",
    "ProviderUsage",
    "SavedView",
    "User",
    "Webhook",
    "WebhookDelivery",
    "Workspace",
]
