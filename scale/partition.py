"""Split a data bundle by young person into hash buckets, each an ordinary bundle.

Every feature, label and score of a young person reads only that person's own
rows (see :mod:`features._events`), so a bundle cut by youth id can be processed
bucket by bucket with no shuffle and no change to the pandas builder. The
partitioned bundle is a folder::

    out/manifest.json            {"partitions": N, "partitioned_by": "youth_id", ...}
    out/part-00000/youth.parquet, attendance.parquet, ..., manifest.json
    out/part-00001/...

Each ``part-NNNNN`` folder is a complete bundle that :func:`features.load.load_bundle`
reads as it is (the one loader), and each table across the parts is a Parquet
dataset (``dd.read_parquet("out/part-*/attendance.parquet")``). A bucket holds
every table, empty where it has no rows, so that no bucket loses features.

The bucket of a row is ``pandas.util.hash_array(youth_id) % N`` on the stripped
id text: stable across runs, machines and Python versions (SipHash with a fixed
key), and the same for an event as for its young person, so an event whose id
matches nobody stays unmatched inside its bucket and is still reported.

Tables are streamed in batches (:data:`BATCH_ROWS` rows), so converting needs
memory for one batch and the open writers, not for the bundle. Values are
copied as read (CSV cells as text, with pandas' default blank words as missing,
as the loader reads them); typing and checks happen when a part is loaded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.load import MANIFEST_NAME, SUFFIXES
from features.schemas import TABLES
from previ.atomic import atomic_dir
from previ.errors import PreviError

__all__ = [
    "BATCH_ROWS",
    "PARTITION_PREFIX",
    "PartitionSummary",
    "bucket_of",
    "is_partitioned",
    "partition_bundle",
    "partition_dirs",
]

BATCH_ROWS = 500_000
PARTITION_PREFIX = "part-"
HASH_RULE = "pandas.util.hash_array(stripped youth_id text) % partitions"
MAX_PARTITIONS = 100_000


@dataclass(frozen=True)
class PartitionSummary:
    """What was written: rows of each table, and the young people in each bucket."""

    out_dir: Path
    partitions: int
    rows: dict[str, int]
    youth_per_partition: tuple[int, ...]


def bucket_of(youth_ids: pd.Series | np.ndarray, partitions: int) -> np.ndarray:
    """The bucket (0 .. partitions-1) of each youth id, by the rule in the module docstring."""
    text = pd.Series(youth_ids, dtype="string").str.strip().fillna("")
    hashes = pd.util.hash_array(text.to_numpy(dtype=object))
    return (hashes % np.uint64(partitions)).astype(np.int64)


def is_partitioned(directory: Path) -> bool:
    """True when ``directory`` holds a partitioned bundle written by :func:`partition_bundle`."""
    manifest = directory / MANIFEST_NAME
    if not manifest.is_file():
        return False
    try:
        content = json.loads(manifest.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(content, dict) and "partitions" in content


def partition_dirs(directory: Path) -> list[Path]:
    """The bucket folders of a partitioned bundle, in bucket order.

    Raises PreviError when ``directory`` is not a partitioned bundle or a bucket is missing.
    """
    directory = Path(directory)
    if not is_partitioned(directory):
        raise PreviError(
            f"--data: {directory} is not a partitioned bundle (no {MANIFEST_NAME} with 'partitions'); "
            f"write one with: previ partition --data BUNDLE --out {directory} --partitions N"
        )
    manifest = json.loads((directory / MANIFEST_NAME).read_text(encoding="utf-8"))
    count = int(manifest["partitions"])
    parts = [directory / _part_name(index) for index in range(count)]
    missing = [part.name for part in parts if not part.is_dir()]
    if missing:
        raise PreviError(f"--data: {directory} lacks bucket folders {', '.join(missing[:5])}")
    return parts


def partition_bundle(source: Path, out: Path, partitions: int) -> PartitionSummary:
    """Write the bundle in ``source`` as ``partitions`` hash buckets under ``out``, all or nothing.

    Raises PreviError when ``partitions`` is out of range, ``source`` has no youth
    table, or a table has no youth_id column.
    """
    source, out = Path(source), Path(out)
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise PreviError(f"--partitions: expected 1 to {MAX_PARTITIONS:,}, got {partitions}")
    if not source.is_dir():
        raise PreviError(f"--data: folder {source} does not exist")
    if out.resolve() == source.resolve():
        raise PreviError("--out: must differ from --data")
    files = _table_files(source)
    if "youth" not in files:
        raise PreviError(f"--data: no youth.csv or youth.parquet in {source}")
    manifest = _source_manifest(source)
    rows: dict[str, int] = {}
    youth_counts = np.zeros(partitions, dtype=np.int64)
    with atomic_dir(out) as temporary:
        for index in range(partitions):
            part = temporary / _part_name(index)
            part.mkdir()
            (part / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        for table, path in files.items():
            rows[table] = _split_table(table, path, temporary, partitions, youth_counts)
            if table == "youth" and not youth_counts.all():
                raise PreviError(
                    f"--partitions: {partitions} buckets for {rows[table]:,} young people leave "
                    f"{int((youth_counts == 0).sum())} bucket(s) with nobody; use fewer buckets"
                )
        summary = {
            **manifest,
            "partitions": partitions,
            "partitioned_by": "youth_id",
            "hash": HASH_RULE,
            "source": str(source),
            "rows": rows,
        }
        (temporary / MANIFEST_NAME).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return PartitionSummary(out, partitions, rows, tuple(int(count) for count in youth_counts))


def _part_name(index: int) -> str:
    return f"{PARTITION_PREFIX}{index:05d}"


def _table_files(source: Path) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for table in TABLES:
        found = [
            source / f"{table}{suffix}" for suffix in SUFFIXES if (source / f"{table}{suffix}").is_file()
        ]
        if len(found) > 1:
            raise PreviError(f"{table}: both {found[0].name} and {found[1].name} exist; keep only one")
        if found:
            files[table] = found[0]
    return files


def _source_manifest(source: Path) -> dict[str, Any]:
    """The source manifest's extraction date (file names it lists are not copied into the buckets)."""
    path = source / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PreviError(f"{MANIFEST_NAME}: not valid JSON ({error.__class__.__name__})") from None
    if isinstance(content, dict) and "extraction_date" in content:
        return {"extraction_date": content["extraction_date"]}
    return {}


def _split_table(table: str, path: Path, out: Path, partitions: int, youth_counts: np.ndarray) -> int:
    """Stream one table into its bucket files; every bucket gets a file, empty or not."""
    writers: list[pq.ParquetWriter] = []
    total = 0
    try:
        for batch in _batches(path):
            if "youth_id" not in batch.column_names:
                raise PreviError(
                    f"{table}: no youth_id column in {path.name}; cannot partition by young person"
                )
            if not writers:
                writers = [
                    pq.ParquetWriter(out / _part_name(index) / f"{table}.parquet", batch.schema)
                    for index in range(partitions)
                ]
            buckets = bucket_of(batch.column("youth_id").to_pandas(), partitions)
            order = np.argsort(buckets, kind="stable")
            bounds = np.searchsorted(buckets[order], np.arange(partitions + 1))
            for bucket in np.flatnonzero(np.diff(bounds)).tolist():
                writers[bucket].write_table(batch.take(pa.array(order[bounds[bucket] : bounds[bucket + 1]])))
            if table == "youth":
                youth_counts += np.bincount(buckets, minlength=partitions)
            total += batch.num_rows
    except PreviError:
        raise
    except (OSError, pa.ArrowException, ValueError, pd.errors.ParserError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else error.__class__.__name__
        raise PreviError(f"{table}: cannot read {path.name} ({reason})") from None
    finally:
        for writer in writers:
            writer.close()
    if not writers:  # a file with a header and no rows: copy it to every bucket as it is
        for index in range(partitions):
            shutil.copyfile(path, out / _part_name(index) / path.name)
    return total


def _batches(path: Path) -> Iterator[pa.Table]:
    """The table in batches: Parquet as stored, CSV as text the way the loader reads it."""
    if path.suffix == ".parquet":
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            yield pa.Table.from_batches([batch])
        return
    with pd.read_csv(path, dtype=str, chunksize=BATCH_ROWS) as reader:
        for chunk in reader:
            chunk.columns = [str(column).strip() for column in chunk.columns]
            schema = pa.schema([(str(column), pa.string()) for column in chunk.columns])
            yield pa.Table.from_pandas(chunk, schema=schema, preserve_index=False)
