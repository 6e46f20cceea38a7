"""Allocations in SQL: the offers and waiting lists of each cycle, beside the snapshots they came from.

One table, ``allocations``, in the snapshot database (``service.snapshot_url``,
else SQLite in ``service.snapshot_dir``). A cycle is allocated once: running
``previ allocate`` again for the same cycle replaces that cycle's rows in one
transaction. The service reads the latest cycle (the newest row written): a
caseworker sees a young person's offer or waiting-list position, a programme
manager the places offered against capacity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from service.allocation import OFFER_COLUMNS
from service.database import create_schema
from service.snapshots import SnapshotStore

__all__ = ["AllocationCycle", "Place", "allocations_table", "latest_cycle", "place_of", "write_allocation"]

metadata = MetaData()
allocations_table = Table(
    "allocations",
    metadata,
    Column("cycle", String(64), nullable=False),
    Column("snapshot_id", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("youth_id", String(64), nullable=False),
    Column("program", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("priority", Float, nullable=False),
    Column("fit", Float, nullable=False),
    Column("municipality", String(100)),
    Column("tier", String(16)),
    Index("ix_allocations_person", "cycle", "youth_id"),
)


@dataclass(frozen=True)
class AllocationCycle:
    cycle: str
    snapshot_id: int
    created_at: dt.datetime


@dataclass(frozen=True)
class Place:
    """A young person's standing in the latest cycle: an offered place or a waiting-list position."""

    cycle: str
    program: str
    status: str
    position: int


def write_allocation(
    store: SnapshotStore,
    *,
    cycle: str,
    snapshot_id: int,
    offers: pd.DataFrame,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Replace ``cycle``'s rows with ``offers`` in one transaction (``before_commit`` runs inside it)."""
    create_schema(store.engine, store.url, metadata)
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = offers[list(OFFER_COLUMNS)].assign(cycle=cycle, snapshot_id=snapshot_id, created_at=created)
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    with store.engine.begin() as connection:
        connection.execute(delete(allocations_table).where(allocations_table.c.cycle == cycle))
        if records:
            connection.execute(insert(allocations_table), records)
        if before_commit is not None:
            before_commit()


def latest_cycle(store: SnapshotStore) -> AllocationCycle | None:
    """The most recently written cycle, or None before any allocation."""
    query = (
        select(allocations_table.c.cycle, allocations_table.c.snapshot_id, allocations_table.c.created_at)
        .order_by(allocations_table.c.created_at.desc(), allocations_table.c.cycle.desc())
        .limit(1)
    )
    try:
        with store.engine.connect() as connection:
            row = connection.execute(query).first()
    except SQLAlchemyError:  # no allocations table yet
        return None
    return AllocationCycle(str(row.cycle), int(row.snapshot_id), row.created_at) if row else None


def place_of(store: SnapshotStore, youth_id: str) -> list[Place]:
    """This young person's offers and waiting-list entries in the latest cycle (offers first)."""
    cycle = latest_cycle(store)
    if cycle is None:
        return []
    query = (
        select(allocations_table.c.program, allocations_table.c.status, allocations_table.c.position)
        .where((allocations_table.c.cycle == cycle.cycle) & (allocations_table.c.youth_id == youth_id))
        .order_by(allocations_table.c.position, allocations_table.c.program)
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [Place(cycle.cycle, str(row.program), str(row.status), int(row.position)) for row in rows]


def offers_by(store: SnapshotStore, cycle: str) -> pd.DataFrame:
    """Counts of the cycle's offers and waiting entries by programme, municipality and status."""
    table = allocations_table
    query = (
        select(table.c.program, table.c.municipality, table.c.status, func.count().label("people"))
        .where(table.c.cycle == cycle)
        .group_by(table.c.program, table.c.municipality, table.c.status)
    )
    with store.engine.connect() as connection:
        return pd.read_sql(query, connection)
