"""snapshots: batch snapshots (scores, reasons, programmes) and allocations (adopts older databases).

Revision ID: snapshots_0001
Revises:
Create Date: 2026-01-20

Tables that already exist are left as they are.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "snapshots_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("snapshots",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table("snapshots"):
        op.create_table(
            "snapshots",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("as_of", sa.Date, nullable=False),
            sa.Column("model_version", sa.String(64), nullable=False),
            sa.Column("model_sha256", sa.String(64), nullable=False, index=True),
            sa.Column("rows", sa.Integer, nullable=False),
            sa.Column("folder", sa.String(500), nullable=False),
            sa.Column("quantiles", sa.Text, nullable=False),
        )
    if not inspector.has_table("snapshot_scores"):
        op.create_table(
            "snapshot_scores",
            sa.Column("snapshot_id", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("youth_id", sa.String(64), primary_key=True),
            sa.Column("municipality", sa.String(100)),
            sa.Column("age", sa.Integer),
            sa.Column("probability", sa.Float, nullable=False),
            sa.Column("percentile", sa.Float, nullable=False),
            sa.Column("tier", sa.String(16), nullable=False),
        )
    if not inspector.has_table("snapshot_reasons"):
        op.create_table(
            "snapshot_reasons",
            sa.Column("snapshot_id", sa.Integer, nullable=False),
            sa.Column("youth_id", sa.String(64), nullable=False),
            sa.Column("direction", sa.String(8), nullable=False),
            sa.Column("rank", sa.Integer, nullable=False),
            sa.Column("feature", sa.String(100), nullable=False),
            sa.Column("value", sa.Float),
            sa.Column("contribution", sa.Float, nullable=False),
            sa.Column("factor", sa.String(64)),
            sa.Column("referral_tags", sa.String(200), nullable=False),
            sa.Column("sentence_es", sa.Text, nullable=False),
            sa.Column("sentence_en", sa.Text, nullable=False),
            sa.Index("ix_snapshot_reasons_person", "snapshot_id", "youth_id"),
        )
    if not inspector.has_table("snapshot_programs"):
        op.create_table(
            "snapshot_programs",
            sa.Column("snapshot_id", sa.Integer, nullable=False),
            sa.Column("youth_id", sa.String(64), nullable=False),
            sa.Column("program", sa.String(64), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Index("ix_snapshot_programs_person", "snapshot_id", "youth_id"),
        )
    if not inspector.has_table("allocations"):
        op.create_table(
            "allocations",
            sa.Column("cycle", sa.String(64), nullable=False),
            sa.Column("snapshot_id", sa.Integer, nullable=False),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("youth_id", sa.String(64), nullable=False),
            sa.Column("program", sa.String(64), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("position", sa.Integer, nullable=False),
            sa.Column("priority", sa.Float, nullable=False),
            sa.Column("fit", sa.Float, nullable=False),
            sa.Column("municipality", sa.String(100)),
            sa.Column("tier", sa.String(16)),
            sa.Index("ix_allocations_person", "cycle", "youth_id"),
        )
    if not inspector.has_table("allocation_places"):
        op.create_table(
            "allocation_places",
            sa.Column("cycle", sa.String(64), primary_key=True),
            sa.Column("program", sa.String(64), primary_key=True),
            sa.Column("capacity", sa.Integer, nullable=False),
            sa.Column("enrolled", sa.Integer, nullable=False),
            sa.Column("open", sa.Integer, nullable=False),
            sa.Column("offered", sa.Integer, nullable=False),
            sa.Column("waiting", sa.Integer, nullable=False),
        )


def downgrade() -> None:
    for table in (
        "allocation_places",
        "allocations",
        "snapshot_programs",
        "snapshot_reasons",
        "snapshot_scores",
        "snapshots",
    ):
        op.drop_table(table)
