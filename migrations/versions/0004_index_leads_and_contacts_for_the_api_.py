"""Index leads and contacts for the API lists and searches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:29:16.594504
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_workspace_email", ["workspace_id", "email"], unique=False
        )
        batch_op.create_index(
            "ix_contacts_workspace_phone", ["workspace_id", "phone_number"], unique=False
        )

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_leads_workspace_stage"))
        batch_op.create_index(
            "ix_leads_workspace_stage",
            [
                "workspace_id",
                "stage",
                "lead_source",
                "product_interest",
                "is_active",
                "is_converted",
                "created_at",
                "estimated_value",
            ],
            unique=False,
        )
        batch_op.create_index(
            "ix_leads_workspace_active", ["workspace_id", "is_active", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_workspace_active")
        batch_op.drop_index("ix_leads_workspace_stage")
        batch_op.create_index(
            batch_op.f("ix_leads_workspace_stage"),
            ["workspace_id", "stage", "created_at"],
            unique=False,
        )

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_workspace_phone")
        batch_op.drop_index("ix_contacts_workspace_email")
