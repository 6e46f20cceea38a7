"""rates: the requests the rate limits count (one row per request in the window), shared by every worker.

Revision ID: rates_0001
Revises:
Create Date: 2026-01-20

On PostgreSQL the table is UNLOGGED: counts need no crash safety (a crash
resets them), and skipping the write-ahead log keeps counting a request cheap.
A function counts a request in one round trip: it takes the key's advisory
lock, then counts (a volatile function's every statement sees what committed
before it, so after the lock) and inserts.
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
    if unlogged:
        op.execute(ACQUIRE)


ACQUIRE = """
CREATE FUNCTION previ_rate_acquire(
    hit_key text, hit_at double precision, window_seconds double precision, hit_limit integer, amount integer
) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE counted integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(hit_key, 0));
    SELECT count(*) INTO counted FROM rate_limits WHERE key = hit_key AND at > hit_at - window_seconds;
    IF counted + amount > hit_limit THEN
        RETURN false;
    END IF;
    INSERT INTO rate_limits (key, at, expires_at)
        SELECT hit_key, hit_at, hit_at + window_seconds FROM generate_series(1, amount);
    RETURN true;
END
$$
"""


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION previ_rate_acquire")
    op.drop_table("rate_limits")
