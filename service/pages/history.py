"""Scores over time: young people's rows in the latest snapshots, for trends and "what changed".

Read-only queries over the snapshot tables of :mod:`service.snapshots`; every
figure shown was computed by ``previ score`` through the one scoring path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from service.snapshots import SnapshotStore, scores_table, snapshots_table

__all__ = ["HistoryPoint", "SnapshotDate", "score_history"]


@dataclass(frozen=True)
class SnapshotDate:
    id: int
    as_of: dt.date
    model_version: str


@dataclass(frozen=True)
class HistoryPoint:
    snapshot: SnapshotDate
    probability: float
    percentile: float
    tier: str


def score_history(
    store: SnapshotStore, youth_ids: Sequence[str], *, last: int = 6
) -> tuple[list[SnapshotDate], dict[str, list[HistoryPoint]]]:
    """The ``last`` snapshots (oldest first) and each young person's points in them (oldest first).

    A young person absent from a snapshot (too young or old then) has no point
    for it; ids in no snapshot get an empty list.
    """
    if store.latest() is None or not youth_ids:
        return [], {youth_id: [] for youth_id in youth_ids}
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(snapshots_table.c.id, snapshots_table.c.as_of, snapshots_table.c.model_version)
            .order_by(snapshots_table.c.id.desc())
            .limit(last)
        ).all()
        snapshots = {
            int(row.id): SnapshotDate(int(row.id), row.as_of, str(row.model_version))
            for row in reversed(rows)
        }
        scores = connection.execute(
            select(
                scores_table.c.snapshot_id,
                scores_table.c.youth_id,
                scores_table.c.probability,
                scores_table.c.percentile,
                scores_table.c.tier,
            )
            .where(scores_table.c.snapshot_id.in_(list(snapshots)))
            .where(scores_table.c.youth_id.in_(list(youth_ids)))
            .order_by(scores_table.c.snapshot_id)
        ).all()
    history: dict[str, list[HistoryPoint]] = {youth_id: [] for youth_id in youth_ids}
    for score in scores:
        history[str(score.youth_id)].append(
            HistoryPoint(
                snapshot=snapshots[int(score.snapshot_id)],
                probability=float(score.probability),
                percentile=float(score.percentile),
                tier=str(score.tier),
            )
        )
    return list(snapshots.values()), history
