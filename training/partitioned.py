"""The training set of a partitioned bundle, built bucket by bucket on a Dask cluster.

Each task loads one bucket with the one loader and builds its labelled rows
with the one builder and :func:`training.dataset.training_set_from_matrix`,
as ``previ train`` does on a whole bundle. A young person's rows are all in
one bucket, so the buckets' rows, put back in the pandas engine's order
(youth_id, as_of), are exactly the training set of the whole bundle (the tests
compare them value for value). The client holds that set (about 450 bytes per
labelled row with the registry's features) while the Dask engine's
:class:`training.dask_fit.DaskFit` fits the boosted models on the workers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.pipeline import matrix_from_loaded
from previ.config import PreviConfig
from previ.errors import PreviError
from scale.cluster import Progress, run_per_partition
from scale.features import default_dates, load_partition
from scale.partition import partition_dirs
from training.dataset import TrainingSet, training_set_from_matrix

__all__ = ["join_training_sets", "training_set_from_partitions"]

BUCKETS_DISAGREE = (
    "training: bucket {bucket} has the features {names}, bucket 0 has {expected}; "
    "partition the bundle again with previ partition"
)


def training_set_from_partitions(
    client: Any, settings: PreviConfig, data_dir: Path, progress: Progress | None = None
) -> TrainingSet:
    """The labelled rows of every bucket of ``data_dir``, joined in the pandas engine's order.

    The as_of dates are the config's, else the pandas default dates of the whole
    bundle. Raises PreviError naming the bucket whose data is invalid.
    """
    parts = partition_dirs(data_dir)
    dates = list(settings.features.as_of) or default_dates(client, settings, parts, progress)
    sets = run_per_partition(client, _bucket_training_set, parts, settings, dates, progress=progress)
    return join_training_sets(sets)


def join_training_sets(sets: list[TrainingSet]) -> TrainingSet:
    """The rows of several training sets of the same features, sorted by (youth_id, as_of)."""
    first = sets[0]
    for bucket, part in enumerate(sets):
        if part.feature_names != first.feature_names:
            raise PreviError(
                BUCKETS_DISAGREE.format(
                    bucket=bucket,
                    names=", ".join(part.feature_names),
                    expected=", ".join(first.feature_names),
                )
            )
    ids = np.concatenate([part.ids for part in sets])
    time = np.concatenate([part.time for part in sets if part.time is not None])
    order = (
        pd.DataFrame({"youth_id": ids, "as_of": time}).sort_values(["youth_id", "as_of"], kind="stable").index
    )
    rows = order.to_numpy()
    return TrainingSet(
        features=pd.concat([part.features for part in sets], ignore_index=True)
        .iloc[rows]
        .reset_index(drop=True),
        label=np.concatenate([part.label for part in sets])[rows],
        ids=ids[rows],
        groups=pd.concat([part.groups for part in sets], ignore_index=True).iloc[rows].reset_index(drop=True),
        time=time[rows],
        registry=first.registry,
        monotone=first.monotone,
        horizon_days=first.horizon_days,
        source=first.source,
    )


def _bucket_training_set(part: Path, settings: PreviConfig, dates: list[dt.date]) -> TrainingSet:
    """Runs on a worker: one bucket's labelled rows."""
    return training_set_from_matrix(matrix_from_loaded(load_partition(part, settings), settings, as_of=dates))
