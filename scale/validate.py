"""`previ validate --engine dask`: every bucket checked by the one validator, findings merged.

Keys and references are per young person and a young person's rows share a
bucket, so checking buckets apart finds what checking the whole finds: a
duplicate key or an event with an unknown youth id lands in one bucket and is
reported there. Problem lines name their bucket, and row numbers count rows of
that bucket's file. Warnings that every bucket repeats are given once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from features.load import TableFile, ValidationReport, describe_missing_tables, validate_bundle
from previ.config import PreviConfig
from scale.cluster import Progress, run_per_partition
from scale.partition import partition_dirs

__all__ = ["validate_partitioned"]


def validate_partitioned(
    client: Any, settings: PreviConfig, *, data_dir: Path, progress: Progress | None = None
) -> ValidationReport:
    """The report of the whole partitioned bundle (``bundle`` is None: the tables stay on the workers)."""
    parts = partition_dirs(data_dir)
    reports = run_per_partition(client, _validate_bucket, parts, settings, progress=progress)
    problems = [
        f"{part.name}: {line}"
        for part, report in zip(parts, reports, strict=True)
        for line in report.problems
    ]
    warnings = list(dict.fromkeys(line for report in reports for line in report.warnings))
    missing = tuple(dict.fromkeys(name for report in reports for name in report.missing_tables))
    unread = tuple(dict.fromkeys(name for report in reports for name in report.unread_tables))
    return ValidationReport(
        directory=Path(data_dir),
        extraction_date=reports[0].extraction_date,
        files=_merge_files(Path(data_dir), reports),
        problems=tuple(problems),
        warnings=tuple(warnings),
        missing_tables=missing,
        unread_tables=unread,
        absent=describe_missing_tables(missing),
        bundle=None,
    )


def _validate_bucket(part: Path, settings: PreviConfig) -> ValidationReport:
    """Runs on a worker: the bucket's report without its tables (they are not needed back)."""
    report = validate_bundle(
        part, audit_columns=settings.data.audit_columns, extraction_date=settings.data.extraction_date
    )
    return dataclasses.replace(report, bundle=None)


def _merge_files(directory: Path, reports: list[ValidationReport]) -> tuple[TableFile, ...]:
    """One line per table: its rows summed over the buckets, its path as a pattern over them."""
    merged: dict[str, TableFile] = {}
    for report in reports:
        for file in report.files:
            seen = merged.get(file.table)
            rows = file.rows + (seen.rows if seen else 0)
            path = directory / "part-*" / file.path.name
            merged[file.table] = TableFile(file.table, path, file.file_format, rows, file.columns)
    return tuple(merged.values())
