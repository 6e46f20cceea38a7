"""service: a PostgreSQL function that appends a batch to the audit chain in one statement.

Revision ID: service_0003
Revises: service_0002
Create Date: 2026-12-03

``audit_append(batch, last_id, last_hash)`` takes the chain lock (the same
advisory lock as every other writer of the log), reads the chain's last row and,
only if it is the one the caller chained the batch to, inserts the batch. It
returns the chain's last row and whether the batch went in, so that a caller
whose guess was wrong chains again to the real end (service.audit_sql). Being
VOLATILE, each of its statements reads with a snapshot taken when it starts: the
read of the last row, after the lock was granted, sees every row committed
before, and the chain cannot fork. One statement instead of five lets the
service's event loop write an audit batch in one round trip, with a plan the
server keeps per connection. SQLite has no such functions; it keeps its writes
as they are.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "service_0003"
down_revision: str | Sequence[str] | None = "service_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_APPEND = """
CREATE OR REPLACE FUNCTION audit_append(batch json, last_id integer, last_hash varchar)
RETURNS TABLE (tail_id integer, tail_hash varchar, appended boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found_id integer;
    found_hash varchar;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(current_schema() || ':' || 'audit_log chain', 0));
    SELECT entry.id, entry.row_hash INTO found_id, found_hash
        FROM audit_log AS entry ORDER BY entry.id DESC LIMIT 1;
    IF found_id IS DISTINCT FROM last_id OR found_hash IS DISTINCT FROM last_hash THEN
        RETURN QUERY SELECT found_id, found_hash, false;
        RETURN;
    END IF;
    INSERT INTO audit_log SELECT * FROM json_populate_recordset(NULL::audit_log, batch);
    RETURN QUERY SELECT entry.id, entry.row_hash, true
        FROM audit_log AS entry ORDER BY entry.id DESC LIMIT 1;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_append(json, integer, varchar)")
