"""`previ synth --engine dask`: a synthetic bundle written directly as a partitioned bundle.

One process cannot simulate a state: the simulation holds every young person's
state and events (1.0 GiB for 100,000 young people over 3 years). The
generative model has no interaction between young people, so a population is
the union of smaller populations: each bucket is simulated by one task on a
worker, as an ordinary synthetic bundle (tables, truth, manifest) of its share
of the young people, with its own random streams (spawned from the seed) and
its own slice of the ids (``Y0000000`` ... without gaps or repeats). A young
person's rows are therefore all in one bucket, as ``previ partition`` would put
them, and the Dask engine reads the result as it is.

The same seed and number of buckets give the same bytes; a different number of
buckets draws a different population from the same model. Buckets are not
the hash buckets of :func:`scale.partition.bucket_of` (nothing needs them to
be: every step of the Dask engine only needs each young person in one bucket).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from previ.atomic import atomic_dir
from previ.config import SynthConfig
from previ.errors import PreviError
from scale.cluster import Progress, run_per_partition
from scale.partition import MAX_PARTITIONS, PARTITION_PREFIX
from synthetic.synth import Format, IdRange, SynthSummary, synthesize

__all__ = ["PartitionedSynthSummary", "bucket_sizes", "synthesize_partitioned"]

MANIFEST_NAME = "manifest.json"
RULE = "synthesised bucket by bucket: bucket k holds the young people with ids from its id range"


@dataclass(frozen=True)
class PartitionedSynthSummary:
    """What :func:`synthesize_partitioned` wrote: rows of each table summed over the buckets."""

    out_dir: Path
    partitions: int
    rows: dict[str, int]
    truth_rows: int
    youth_per_partition: tuple[int, ...]
    buckets: tuple[SynthSummary, ...]


def synthesize_partitioned(
    client: Any,
    config: SynthConfig,
    out_dir: Path,
    partitions: int,
    *,
    fmt: Format = "parquet",
    horizon_days: int = 365,
    progress: Progress | None = None,
) -> PartitionedSynthSummary:
    """Simulate ``config.youth`` young people in ``partitions`` buckets on the cluster, all or nothing.

    Workers write the buckets themselves, so ``out_dir`` must be on storage
    every worker sees. Raises PreviError for a bad number of buckets or an
    invalid synth option (named once, not once per bucket).
    """
    sizes = bucket_sizes(config.youth, partitions)
    seeds = np.random.SeedSequence(config.seed).spawn(partitions)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist()
    buckets = [
        (index, int(seed.generate_state(1)[0]), IdRange(first=start, total=config.youth), size)
        for index, (seed, start, size) in enumerate(zip(seeds, starts, sizes, strict=True))
    ]
    with atomic_dir(Path(out_dir)) as folder:
        summaries = run_per_partition(
            client, _synthesize_bucket, buckets, config, folder, fmt, horizon_days, progress=progress
        )
        first = summaries[0]
        manifest = {
            "generator": "previ synth --engine dask",
            "partitions": partitions,
            "partitioned_by": "youth_id",
            "rule": RULE,
            "id_ranges": [[start, start + size] for start, size in zip(starts, sizes, strict=True)],
            "seed": config.seed,
            "youth": config.youth,
            "years": config.years,
            "start": first.start.isoformat(),
            "extraction_date": first.extraction_date.isoformat(),
            "as_of": [day.isoformat() for day in first.as_of],
            "horizon_days": horizon_days,
            "format": fmt,
        }
        (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    rows: dict[str, int] = {}
    for summary in summaries:
        for name, count in summary.rows.items():
            rows[name] = rows.get(name, 0) + count
    return PartitionedSynthSummary(
        out_dir=Path(out_dir),
        partitions=partitions,
        rows=rows,
        truth_rows=sum(summary.truth_rows for summary in summaries),
        youth_per_partition=tuple(sizes),
        buckets=tuple(summaries),
    )


def bucket_sizes(youth: int, partitions: int) -> list[int]:
    """Young people per bucket: as equal as can be, the first buckets one larger."""
    if not 1 <= partitions <= min(MAX_PARTITIONS, youth):
        raise PreviError(
            f"--partitions: expected 1 to {min(MAX_PARTITIONS, youth):,} for {youth:,} young people, "
            f"got {partitions}"
        )
    base, extra = divmod(youth, partitions)
    return [base + (index < extra) for index in range(partitions)]


def _synthesize_bucket(
    bucket: tuple[int, int, IdRange, int], config: SynthConfig, folder: Path, fmt: Format, horizon_days: int
) -> SynthSummary:
    """Runs on a worker: one bucket as an ordinary synthetic bundle."""
    index, seed, ids, size = bucket
    own = config.model_copy(update={"youth": size, "seed": seed})
    return synthesize(
        own, folder / f"{PARTITION_PREFIX}{index:05d}", fmt=fmt, horizon_days=horizon_days, ids=ids
    )
