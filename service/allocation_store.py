"""Allocations in SQL: the offers and waiting lists of each cycle, beside the snapshots they came from.

Two tables in the snapshot database (``service.snapshot_url``, else SQLite in
``service.snapshot_dir``): ``allocations`` (every offer and waiting-list entry)
and ``allocation_places`` (each programme's capacity, enrolled, open and offered
places in the cycle). Running ``previ allocate`` again for the same cycle
replaces that cycle's rows in one transaction, keeping the cycle's decisions
(:func:`cycle_decisions`: its standing offers and the programmes turned down).
The service reads the latest cycle (the newest row written): a caseworker sees a
young person's offer or waiting-list position, a programme manager the places
offered against capacity.

A declined offer frees its place at once (:func:`release_place`, on a
caseworker's ``referral_declined``): the first young person on that programme's
waiting list is offered it, or, with nobody waiting, the place is open again for
the next ``previ allocate`` run.
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
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from service.database import create_schema
from service.snapshots import SnapshotStore

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AllocationCycle",
    "CycleDecisions",
    "Place",
    "Places",
    "Release",
    "allocations_table",
    "cycle_decisions",
    "cycle_places",
    "latest_cycle",
    "offers_by",
    "place_of",
    "places_for",
    "places_table",
    "release_place",
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


@dataclass(frozen=True)
class CycleDecisions:
    """What a cycle already decided, as (youth_id, program) pairs: see :func:`service.allocation.allocate`."""

    held: frozenset[tuple[str, str]] = frozenset()
    declined: frozenset[tuple[str, str]] = frozenset()
    withdrawn: frozenset[tuple[str, str]] = frozenset()


def cycle_decisions(store: SnapshotStore, cycle: str) -> CycleDecisions:
    """The offers standing in ``cycle`` and the programmes turned down in it (empty for a new cycle)."""
    table = allocations_table
    query = select(table.c.youth_id, table.c.program, table.c.status).where(
        (table.c.cycle == cycle) & table.c.status.in_(["offered", "declined", "withdrawn"])
    )
    try:
        with store.engine.connect() as connection:
            rows = connection.execute(query).all()
    except SQLAlchemyError:  # no allocations table yet: no cycle at all
        return CycleDecisions()
    pairs: dict[str, set[tuple[str, str]]] = {"offered": set(), "declined": set(), "withdrawn": set()}
    for row in rows:
        pairs[str(row.status)].add((str(row.youth_id), str(row.program)))
    return CycleDecisions(
        frozenset(pairs["offered"]), frozenset(pairs["declined"]), frozenset(pairs["withdrawn"])
    )


@dataclass(frozen=True)
class Release:
    """What a decline changed in ``cycle``: the row's new status, and who was offered the freed place.

    ``offered_to`` stays inside the service: the caseworker who recorded the
    decline is never told who got the place.
    """

    cycle: str
    program: str
    status: str  # declined (an offered place) or withdrawn (a waiting-list entry)
    offered_to: str | None = None


def release_place(store: SnapshotStore, youth_id: str, program: str) -> Release | None:
    """A young person turned ``program`` down: their place in the latest cycle goes to the next in line.

    An offered place becomes ``declined`` and the first young person on the
    programme's waiting list is offered it; with nobody waiting, the place counts
    as open again. A waiting-list entry becomes ``withdrawn`` and those behind
    move up. Nothing happens (None) before any cycle, or when the young person
    holds neither in that programme (an earlier decline included: a repeated
    request changes nothing). Each change is conditional on the row's status as
    read, so two declines at once never offer one place twice (SQLite: the
    transaction takes the write lock at once, and declines wait for each other).
    """
    cycle = latest_cycle(store)
    if cycle is None:
        return None
    table = allocations_table
    in_programme = (table.c.cycle == cycle.cycle) & (table.c.program == program)
    with store.engine.connect() as opened, opened.execution_options(immediate=True).begin() as transaction:
        connection = transaction.connection
        mine = connection.execute(
            select(table.c.status, table.c.position).where(
                in_programme & (table.c.youth_id == youth_id) & table.c.status.in_(["offered", "waiting"])
            )
        ).first()
        if mine is None:
            return None
        status = str(mine.status)
        turned_down = "declined" if status == "offered" else "withdrawn"
        changed = connection.execute(
            update(table)
            .where(in_programme & (table.c.youth_id == youth_id) & (table.c.status == status))
            .values(status=turned_down, position=0)
        )
        if changed.rowcount != 1:
            return None
        if status == "waiting":
            _leave_queue(connection, cycle.cycle, program, int(mine.position))
            return Release(cycle.cycle, program, turned_down)
        while True:
            first = connection.execute(
                select(table.c.youth_id, table.c.position)
                .where(in_programme & (table.c.status == "waiting"))
                .order_by(table.c.position, table.c.youth_id)
                .limit(1)
            ).first()
            if first is None:  # nobody waiting: the place is open again
                connection.execute(
                    update(places_table)
                    .where((places_table.c.cycle == cycle.cycle) & (places_table.c.program == program))
                    .values(offered=places_table.c.offered - 1)
                )
                return Release(cycle.cycle, program, turned_down)
            promoted = connection.execute(
                update(table)
                .where(in_programme & (table.c.youth_id == first.youth_id) & (table.c.status == "waiting"))
                .values(status="offered", position=0)
            )
            if promoted.rowcount == 1:
                _leave_queue(connection, cycle.cycle, program, int(first.position))
                return Release(cycle.cycle, program, turned_down, str(first.youth_id))


def _leave_queue(connection: Any, cycle: str, program: str, position: int) -> None:
    """One young person left ``program``'s waiting list from ``position``: those behind move up."""
    table = allocations_table
    connection.execute(
        update(table)
        .where(
            (table.c.cycle == cycle)
            & (table.c.program == program)
            & (table.c.status == "waiting")
            & (table.c.position > position)
        )
        .values(position=table.c.position - 1)
    )
    connection.execute(
        update(places_table)
        .where((places_table.c.cycle == cycle) & (places_table.c.program == program))
        .values(waiting=places_table.c.waiting - 1)
    )


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
