"""`previ score --engine dask`: the snapshot's scores computed bucket by bucket (on :mod:`scale`).

Each task loads one bucket and runs :func:`service.batch.score_population`, the
path the pandas engine runs on the whole bundle; the buckets' rows, put back
in youth_id order, are what the pandas engine computes. Percentiles (ranks in
the whole population), the Parquet files and the SQL tables are then written
by :func:`service.batch.write_snapshot` as for the pandas engine, so the client
holds the scores, reasons and enrolments of the population at one as_of (a
few hundred bytes per young person), never the event tables.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from previ.config import PreviConfig
from scale.cluster import Progress, run_per_partition
from scale.features import load_partition
from scale.partition import partition_dirs
from service.batch import PopulationScorer, ScoredPopulation, score_population
from service.model_store import LoadedModel

__all__ = ["partitioned_scorer"]


def partitioned_scorer(client: Any, progress: Progress | None = None) -> PopulationScorer:
    """A scorer for :func:`service.batch.write_snapshot` that runs on the cluster of ``client``."""

    def score(
        data_dir: Path, as_of: dt.date, config: PreviConfig, model: LoadedModel, top_reasons: int
    ) -> ScoredPopulation | None:
        parts = partition_dirs(data_dir)
        buckets = run_per_partition(
            client, _score_bucket, parts, as_of, config, model, top_reasons, progress=progress
        )
        scored = [bucket for bucket in buckets if bucket is not None]
        if not scored:
            return None
        return ScoredPopulation(
            scores=_by_youth([bucket.scores for bucket in scored], ["youth_id"]),
            reasons=_by_youth([bucket.reasons for bucket in scored], ["youth_id"]),
            programs=_by_youth([bucket.programs for bucket in scored], ["youth_id", "program"]),
        )

    return score


def _score_bucket(
    part: Path, as_of: dt.date, config: PreviConfig, model: LoadedModel, top_reasons: int
) -> ScoredPopulation | None:
    """Runs on a worker: one bucket's scores, reasons and enrolments."""
    return score_population(load_partition(part, config), as_of, config, model, top_reasons)


def _by_youth(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """The buckets' rows in key order; rows of one young person keep their order (stable sort)."""
    return pd.concat(frames, ignore_index=True).sort_values(keys, kind="stable", ignore_index=True)
