"""`previ allocate`: one cycle's offers from the latest snapshot, into Parquet and the SQL table.

Reads a snapshot written by ``previ score`` (its scores, reasons and the
programmes each young person was in at its date), shares the catalog's places
with :func:`service.allocation.allocate` and stores the result twice, all or
nothing: the Parquet file at ``out`` and the cycle's rows of the ``allocations``
table (:mod:`service.allocation_store`). The Parquet file is moved into place
inside the SQL transaction, so a failure leaves neither. Run again for a cycle,
it keeps the cycle's offers and the programmes turned down in it, and offers
the places left or freed by a decline to the next young people in line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from previ.atomic import atomic_file
from previ.config import PreviConfig
from previ.errors import PreviError
from service.allocation import Allocation, allocate, priority
from service.allocation_store import cycle_decisions, write_allocation
from service.batch import snapshot_store
from service.catalog import load_catalog
from service.settings import service_settings

__all__ = ["AllocationSummary", "run_allocation"]

NO_SNAPSHOT = "allocate: no snapshot{when} in {folder}; run `previ score --as-of DATE` first"


@dataclass(frozen=True)
class AllocationSummary:
    cycle: str
    snapshot_id: int
    as_of: dt.date
    out: Path
    allocation: Allocation


def run_allocation(
    config: PreviConfig,
    *,
    out: Path | None = None,
    as_of: dt.date | None = None,
    cycle: str | None = None,
    per_person: int | None = None,
) -> AllocationSummary:
    """Allocate one cycle from the newest snapshot (of ``as_of``, when given) and store it.

    ``cycle`` defaults to the snapshot's date; ``out`` to
    ``allocation.out/<cycle>.parquet``; ``per_person`` to ``allocation.per_person``.
    """
    settings = service_settings(config)
    store = snapshot_store(settings)
    snapshot = store.for_date(as_of)
    if snapshot is None:
        when = f" of {as_of}" if as_of else ""
        raise PreviError(NO_SNAPSHOT.format(when=when, folder=settings.snapshot_dir.absolute()))
    name = cycle or snapshot.as_of.isoformat()
    target = (out or Path(config.allocation.out) / f"{name}.parquet").absolute()
    if target.exists() and target.is_dir():
        raise PreviError(f"--out: {target} is a folder; give a file name ending in .parquet")
    catalog = load_catalog(settings.catalog)
    tables = store.tables(snapshot.id)
    scores = tables["scores"]
    decided = cycle_decisions(store, name)
    allocation = allocate(
        scores,
        tables["reasons"],
        tables["programs"],
        catalog,
        per_person=per_person or config.allocation.per_person,
        need=priority(scores, policy=config.allocation.policy, groups=config.allocation.groups),
        lottery=config.allocation.lottery_band,
        cycle=name,
        held=decided.held,
        declined=decided.declined,
        withdrawn=decided.withdrawn,
    )
    offers = allocation.offers.assign(cycle=name, snapshot_id=snapshot.id, as_of=pd.Timestamp(snapshot.as_of))

    def write_parquet() -> None:
        with atomic_file(target) as temporary:
            offers.to_parquet(temporary, index=False)

    write_allocation(
        store,
        cycle=name,
        snapshot_id=snapshot.id,
        offers=allocation.offers,
        places=allocation.places,
        before_commit=write_parquet,
    )
    return AllocationSummary(name, snapshot.id, snapshot.as_of, target, allocation)
