"""Allocations in SQL: the offers and waiting lists of each cycle, beside the snapshots they came from.

Two tables in the snapshot database (``service.snapshot_url``, else SQLite in
``service.snapshot_dir``): ``allocations`` (every offer and waiting-list entry)
and ``allocation_places`` (each programme's capacity, enrolled, open and offered
places in the cycle). A cycle is allocated once: running
``previ allocate`` again for the same cycle replaces that cycle's rows in one
transaction. The service reads the latest cycle (the newest row written): a
caseworker sees a young person's offer or waiting-list position, a programme
manager the places offered against capacity.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from service.database import create_schema
from service.snapshots import SnapshotStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AllocationCycle",
    "Place",
    "Places",
    "allocations_table",
    "cycle_places",
    "latest_cycle",
    "offers_by",
    "place_of",
    "places_for",
    "places_table",
    "write_allocation",
]

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
places_table = Table(
    "allocation_places",
    metadata,
    Column("cycle", String(64), primary_key=True),
    Column("program", String(64), primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("enrolled", Integer, nullable=False),
    Column("open", Integer, nullable=False),
    Column("offered", Integer, nullable=False),
    Column("waiting", Integer, nullable=False),
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


@dataclass(frozen=True)
class Places:
    """What the latest cycle says about places, for one young person's suggestions.

    ``unoffered``: per programme, open places the cycle did not offer; ``mine``:
    this young person's offers and waiting-list entries by programme.
    """

    cycle: str
    unoffered: dict[str, int]
    mine: dict[str, Place]


def write_allocation(
    store: SnapshotStore,
    *,
    cycle: str,
    snapshot_id: int,
    offers: pd.DataFrame,
    places: pd.DataFrame,
    before_commit: Callable[[], None] | None = None,
) -> None:
    """Replace ``cycle``'s rows with ``offers`` and ``places`` in one transaction.

    ``before_commit`` runs inside the transaction (the job writes its Parquet file there).
    """
    from service.allocation import OFFER_COLUMNS  # the allocation engine (scipy) stays out of serving

    create_schema(store.engine, "snapshots")
    created = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows = offers[list(OFFER_COLUMNS)].assign(cycle=cycle, snapshot_id=snapshot_id, created_at=created)
    records = _records(rows)
    counts = _records(places.assign(cycle=cycle))
    with store.engine.begin() as connection:
        connection.execute(delete(allocations_table).where(allocations_table.c.cycle == cycle))
        connection.execute(delete(places_table).where(places_table.c.cycle == cycle))
        if records:
            connection.execute(insert(allocations_table), records)
        if counts:
            connection.execute(insert(places_table), counts)
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


def places_for(store: SnapshotStore, youth_ids: list[str]) -> dict[str, Places]:
    """Per young person, the latest cycle's unoffered places and their standing (empty before any cycle).

    One query by the (cycle, youth_id) index whatever the number of ids (a
    batch scores up to 1,000 people); the latest cycle and its unoffered places
    are read again only when the database has changed (:meth:`SnapshotStore.cached`).
    """
    latest = store.cached("allocation cycle", lambda: _cycle_and_unoffered(store))
    if latest is None:
        return {}
    cycle, unoffered = latest
    with store.engine.connect() as connection:
        standing = connection.execute(
            STANDING, {"cycle": cycle.cycle, "youth_ids": sorted(set(youth_ids))}
        ).all()
    mine: dict[str, dict[str, Place]] = {youth_id: {} for youth_id in youth_ids}
    for row in standing:
        place = Place(cycle.cycle, str(row.program), str(row.status), int(row.position))
        mine.setdefault(str(row.youth_id), {})[place.program] = place
    return {youth_id: Places(cycle.cycle, unoffered, mine[youth_id]) for youth_id in youth_ids}


STANDING = select(
    allocations_table.c.youth_id,
    allocations_table.c.program,
    allocations_table.c.status,
    allocations_table.c.position,
).where(
    (allocations_table.c.cycle == bindparam("cycle"))
    & allocations_table.c.youth_id.in_(bindparam("youth_ids", expanding=True))
)


def _cycle_and_unoffered(store: SnapshotStore) -> tuple[AllocationCycle, dict[str, int]] | None:
    """The latest cycle and, per programme, its open places that were not offered."""
    cycle = latest_cycle(store)
    if cycle is None:
        return None
    query = select(places_table.c.program, places_table.c.open, places_table.c.offered).where(
        places_table.c.cycle == cycle.cycle
    )
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
    return cycle, {str(row.program): max(int(row.open) - int(row.offered), 0) for row in rows}


def cycle_places(store: SnapshotStore, cycle: str) -> pd.DataFrame:
    """The cycle's places per programme: program, capacity, enrolled, open, offered, waiting."""
    import pandas as pd

    with store.engine.connect() as connection:
        return pd.read_sql(select(places_table).where(places_table.c.cycle == cycle), connection)


def offers_by(store: SnapshotStore, cycle: str) -> pd.DataFrame:
    """Counts of the cycle's offers and waiting entries by programme, municipality and status."""
    import pandas as pd

    table = allocations_table
    query = (
        select(table.c.program, table.c.municipality, table.c.status, func.count().label("people"))
        .where(table.c.cycle == cycle)
        .group_by(table.c.program, table.c.municipality, table.c.status)
    )
    with store.engine.connect() as connection:
        return pd.read_sql(query, connection)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (numpy scalars unwrapped, NaN as None), for every SQL driver."""
    columns = [str(column) for column in frame.columns]
    return [
        {column: _plain(value) for column, value in zip(columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value
