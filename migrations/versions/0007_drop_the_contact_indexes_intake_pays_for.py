"""Drop the contact indexes that repeat the unique ones without the identity scope

``ix_contacts_workspace_phone`` and ``ix_contacts_workspace_email`` served searches by
phone or email across identity scopes. The unique constraints on (workspace, scope,
phone) and (workspace, scope, email) answer those searches as well once they name the
scopes (``contacts.repository.in_any_identity_scope``): one look-up per scope, and a
workspace has few.

Intake paid for the two on every new contact: random keys in big btrees, so after each
checkpoint nearly every insert wrote a full index page to the WAL. With the two unique
indexes they made about half of intake's WAL on PostgreSQL, and dropping them took about
4% off PostgreSQL's CPU per delivery.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_contacts_workspace_phone", table_name="contacts")
    op.drop_index("ix_contacts_workspace_email", table_name="contacts")


def downgrade() -> None:
    op.create_index("ix_contacts_workspace_email", "contacts", ["workspace_id", "email"])
    op.create_index("ix_contacts_workspace_phone", "contacts", ["workspace_id", "phone_number"])
