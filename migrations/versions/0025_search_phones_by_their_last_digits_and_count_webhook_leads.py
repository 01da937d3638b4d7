"""Search phones by their last digits, and count a webhook's leads, not its deliveries

A search for ``2686`` or ``737-2686`` found nobody: phones are stored whole (E.164), and
``LIKE '%2686'`` reads every contact. Contacts now keep their phone's digits back to
front in ``phone_reversed`` (``+16267882686`` → ``68628876261``), written with the phone;
a search by the last digits is a prefix of it, which a btree index on (workspace,
phone_reversed) answers on SQLite and PostgreSQL alike.

Existing contacts are filled here, 5,000 at a time (about 2 s per 100,000 contacts on
SQLite); the digits are reversed as ``contacts.rules.reversed_digits`` does.

A webhook's ``total_leads`` (its "Leads" on the dashboard and in its stats) counted every
accepted delivery: an update of a lead, or a delivery that made none, counted as a lead.
It counts the leads its deliveries created from now on, and is recounted here from the
leads that name the webhook. A downgrade keeps the recounted figures.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_contacts_workspace_phone_reversed"
BATCH = 5000

_contacts = sa.table(
    "contacts",
    sa.column("id", sa.Uuid()),
    sa.column("phone_number", sa.String()),
    sa.column("phone_reversed", sa.String()),
)


def upgrade() -> None:
    op.add_column("contacts", sa.Column("phone_reversed", sa.String(32), nullable=True))
    _fill()
    op.create_index(INDEX, "contacts", ["workspace_id", "phone_reversed"])
    op.execute(
        "UPDATE webhooks SET total_leads = "
        "(SELECT count(*) FROM leads WHERE leads.webhook_id = webhooks.id)"
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("phone_reversed")


def _reversed_digits(phone: str) -> str | None:
    return "".join(ch for ch in reversed(phone) if ch.isascii() and ch.isdigit()) or None


def _fill() -> None:
    conn = op.get_bind()
    c = _contacts.c
    with_phones = sa.select(c.id, c.phone_number).where(c.phone_number.is_not(None))
    write = (
        sa.update(_contacts)
        .where(c.id == sa.bindparam("_id"))
        .values(phone_reversed=sa.bindparam("_reversed"))
    )
    rows = conn.execute(with_phones.order_by(c.id).limit(BATCH)).all()
    while rows:
        conn.execute(
            write, [{"_id": r.id, "_reversed": _reversed_digits(r.phone_number)} for r in rows]
        )
        after = with_phones.where(c.id > rows[-1].id)  # keyset: each batch from the last id
        rows = conn.execute(after.order_by(c.id).limit(BATCH)).all()
