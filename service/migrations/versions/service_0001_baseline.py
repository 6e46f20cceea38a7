"""service: the audit log, feedback, caseloads and web sessions (adopts databases made before migrations).

Revision ID: service_0001
Revises:
Create Date: 2026-01-20

Tables that already exist are left as they are, except that an audit log made
before the hash chain gets the chain's columns (its older rows stay unchained).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "service_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("service",)
depends_on: str | Sequence[str] | None = None


def chain_columns() -> tuple[sa.Column[object], ...]:
    """The hash chain's columns (new objects on each call: a column belongs to one table)."""
    return (
        sa.Column("justification", sa.String(500)),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("prev_hash", sa.String(64)),
        sa.Column("row_hash", sa.String(64)),
    )


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("audit_log"):
        op.create_table(
            "audit_log",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime, nullable=False, index=True),
            sa.Column("token_id", sa.String(16)),
            sa.Column("role", sa.String(32), index=True),
            sa.Column("purpose", sa.String(64), index=True),
            sa.Column("youth_pseudonym", sa.String(64), index=True),
            sa.Column("model_version", sa.String(64)),
            sa.Column("endpoint", sa.String(128), nullable=False),
            sa.Column("method", sa.String(8), nullable=False),
            sa.Column("outcome", sa.String(8), nullable=False, index=True),
            sa.Column("status", sa.Integer, nullable=False),
            sa.Column("detail", sa.String(200)),
            *chain_columns(),
        )
    else:
        present = {column["name"] for column in inspector.get_columns("audit_log")}
        for column in chain_columns():
            if column.name not in present:
                op.add_column("audit_log", column)
    if not inspector.has_table("feedback"):
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.DateTime, nullable=False, index=True),
            sa.Column("token_id", sa.String(16), nullable=False),
            sa.Column("youth_pseudonym", sa.String(64), nullable=False, index=True),
            sa.Column("kind", sa.String(32), nullable=False),
            sa.Column("program", sa.String(64)),
            sa.Column("tier", sa.String(16)),
            sa.Column("reason", sa.Text),
            sa.Column("model_version", sa.String(64)),
        )
    if not inspector.has_table("caseload"):
        op.create_table(
            "caseload",
            sa.Column("caseworker", sa.String(64), primary_key=True),
            sa.Column("youth_id", sa.String(64), primary_key=True),
            sa.Column("assigned_at", sa.DateTime, nullable=False),
        )
    if not inspector.has_table("web_sessions"):
        op.create_table(
            "web_sessions",
            sa.Column("sid_sha256", sa.String(64), primary_key=True),
            sa.Column("token_id", sa.String(16), nullable=False, index=True),
            sa.Column("csrf", sa.String(64), nullable=False),
            sa.Column("issued", sa.Float, nullable=False),
            sa.Column("seen", sa.Float, nullable=False),
        )


def downgrade() -> None:
    for table in ("web_sessions", "caseload", "feedback", "audit_log"):
        op.drop_table(table)
