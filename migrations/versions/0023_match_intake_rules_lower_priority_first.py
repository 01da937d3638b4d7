"""Match intake rules with a lower priority number first (DESIGN §2.6), in the same order
as before

Intake rules were matched by descending priority (0 to 100; none was 0). Every stored
rule's priority p becomes 100 - p (none becomes 100, the last), which orders each
webhook's rules exactly as before, ties in the order written. The rewrite is its own
inverse, so the downgrade applies it again.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
HIGHEST = 100
webhooks = sa.table("webhooks", sa.column("id", sa.String), sa.column("intake_rules", JSON))


def _flipped(rules: list[Any]) -> list[Any]:
    return [
        {**rule, "priority": HIGHEST - int(rule.get("priority") or 0)}
        if isinstance(rule, dict)
        else rule
        for rule in rules
    ]


def _flip_every_webhooks_priorities() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(webhooks.c.id, webhooks.c.intake_rules)).all()
    for webhook_id, rules in rows:
        if isinstance(rules, list) and rules:
            conn.execute(
                webhooks.update()
                .where(webhooks.c.id == webhook_id)
                .values(intake_rules=_flipped(rules))
            )


def upgrade() -> None:
    _flip_every_webhooks_priorities()


def downgrade() -> None:
    _flip_every_webhooks_priorities()
