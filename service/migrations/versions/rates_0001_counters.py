"""rates: the requests the rate limits count (one row per request in the window), shared by every worker.

Revision ID: rates_0001
Revises:
Create Date: 2026-01-20

On PostgreSQL the table is UNLOGGED: counts need no crash safety (a crash
resets them), and skipping the write-ahead log keeps counting a request cheap.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "rates_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("rates",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False, index=True),
        sa.Index("ix_rate_limits_key_at", "key", "at"),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
