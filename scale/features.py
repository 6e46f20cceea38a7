"""`previ features --engine dask`: the pandas builder mapped over the buckets of a bundle.

Each task loads one bucket with the one loader and builds its matrix with the
one builder (:func:`features.pipeline.matrix_from_loaded`); nothing about
features is written twice. A young person's rows are all in one bucket, so
the matrix of the whole is the rows of the buckets' matrices, and the Parquet
dataset written here holds, after sorting by (youth_id, as_of), exactly what
the pandas engine writes.

Default as_of dates depend on the first event of the whole bundle; when none
are given, a first pass takes each bucket's first dates (the minima of every
date column) and the dates come from those minima with the pandas rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.build import default_as_of_dates
from features.load import Bundle, load_bundle
from features.pipeline import as_of_counts, matrix_from_loaded
from features.registry import Feature
from previ.atomic import atomic_dir
from previ.config import PreviConfig
from previ.errors import PreviError
from scale.cluster import Progress, run_per_partition
from scale.partition import partition_dirs

__all__ = [
    "PartitionedMatrix",
    "check_dataset_out",
    "default_dates",
    "load_partition",
    "write_feature_dataset",
]


@dataclass(frozen=True)
class PartitionedMatrix:
    """The feature matrix written as a Parquet dataset, described without loading it."""

    out: Path
    counts: pd.DataFrame
    """Rows, labelled rows and positives per as_of (see :func:`features.pipeline.as_of_counts`)."""
    features: tuple[Feature, ...]
    removed: dict[str, tuple[str, ...]]
    partitions: int


@dataclass(frozen=True)
class _BucketMatrix:
    counts: pd.DataFrame
    features: tuple[Feature, ...]
    removed: dict[str, tuple[str, ...]]


def write_feature_dataset(
    client: Any,
    settings: PreviConfig,
    *,
    data_dir: Path,
    as_of: Sequence[dt.date],
    out: Path,
    progress: Progress | None = None,
) -> PartitionedMatrix:
    """Build the matrix of every bucket of ``data_dir`` on the cluster into the dataset ``out``.

    ``out`` (ending in .parquet) becomes a folder of ``part-NNNNN.parquet`` files,
    one per bucket with anybody of programme age; it appears only once every
    bucket is written. Workers write the files themselves, so on a cluster
    ``out`` must be on storage every worker sees.
    """
    check_dataset_out(out)
    parts = partition_dirs(data_dir)
    dates = list(as_of) or default_dates(client, settings, parts, progress)
    with atomic_dir(out) as temporary:
        results = run_per_partition(
            client, _build_bucket, parts, settings, dates, temporary, progress=progress
        )
        if not any(len(result.counts) for result in results):
            raise PreviError(f"features: nobody of programme age in {data_dir} at the as_of dates")
    first = results[0]
    counts = pd.concat([result.counts for result in results]).groupby("as_of", as_index=False).sum()
    return PartitionedMatrix(out, counts, first.features, first.removed, len(parts))


def check_dataset_out(out: Path) -> None:
    """Raise PreviError unless ``out`` names a Parquet dataset (a folder ending in .parquet)."""
    if out.suffix.lower() != ".parquet":
        raise PreviError(f"--out: {out.name} must end in .parquet (the dask engine writes a Parquet dataset)")


def load_partition(part: Path, settings: PreviConfig) -> Bundle:
    """One bucket through the one loader; problems name the bucket."""
    try:
        return load_bundle(
            part, audit_columns=settings.data.audit_columns, extraction_date=settings.data.extraction_date
        )
    except PreviError as error:
        raise PreviError(*(f"{part.name}: {line}" for line in error.lines)) from None


def _build_bucket(part: Path, settings: PreviConfig, dates: list[dt.date], out: Path) -> _BucketMatrix:
    """Runs on a worker: one bucket's matrix, written beside the others."""
    matrix = matrix_from_loaded(load_partition(part, settings), settings, as_of=dates)
    if len(matrix.frame):
        matrix.frame.to_parquet(out / f"{part.name}.parquet", index=False)
    return _BucketMatrix(as_of_counts(matrix.frame), matrix.features, matrix.removed)


def default_dates(
    client: Any, settings: PreviConfig, parts: list[Path], progress: Progress | None = None
) -> list[dt.date]:
    """The pandas engine's default as_of dates of the whole bundle, from the first dates of every bucket."""
    buckets = run_per_partition(client, _first_dates, parts, settings, progress=progress)
    tables: dict[str, list[pd.DataFrame]] = {}
    for _, minima in buckets:
        for name, frame in minima.items():
            tables.setdefault(name, []).append(frame)
    return default_as_of_dates(
        {name: pd.concat(frames, ignore_index=True) for name, frames in tables.items()},
        buckets[0][0],
        settings.features.horizon_days,
    )


def _first_dates(part: Path, settings: PreviConfig) -> tuple[dt.date, dict[str, pd.DataFrame]]:
    """Runs on a worker: the extraction date, and each table's date columns reduced to their minimum."""
    bundle = load_partition(part, settings)
    minima = {}
    for name, frame in bundle.tables.items():
        dates = frame.select_dtypes(include=["datetime64"])
        minima[name] = dates.min().to_frame().T.astype(dates.dtypes.to_dict())
    return bundle.extraction_date, minima
