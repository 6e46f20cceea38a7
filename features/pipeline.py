"""Bundle folder -> feature matrix file, the path shared by the CLI and training."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich.table import Table

from features.build import LABEL_COLUMN, FeatureMatrix, build_features, default_as_of_dates
from features.load import Bundle, load_bundle
from previ.atomic import atomic_file
from previ.config import PreviConfig
from previ.errors import PreviError

MATRIX_SUFFIXES = (".parquet", ".csv")


def matrix_from_bundle(
    settings: PreviConfig, *, data_dir: Path | None = None, as_of: Sequence[dt.date] = ()
) -> FeatureMatrix:
    """Load and validate the bundle, then build the matrix (default as_of dates when none given)."""
    bundle = load_bundle(
        data_dir or settings.data.dir,
        audit_columns=settings.data.audit_columns,
        extraction_date=settings.data.extraction_date,
    )
    return matrix_from_loaded(bundle, settings, as_of=as_of)


def matrix_from_loaded(
    bundle: Bundle, settings: PreviConfig, *, as_of: Sequence[dt.date] = ()
) -> FeatureMatrix:
    """The matrix of an already loaded bundle (default as_of dates when none given)."""
    dates = list(as_of) or default_as_of_dates(
        bundle.tables, bundle.extraction_date, settings.features.horizon_days
    )
    return build_features(bundle, dates, settings.features)


def write_feature_matrix(
    settings: PreviConfig, *, data_dir: Path | None, as_of: Sequence[dt.date], out: Path
) -> FeatureMatrix:
    """Build the matrix and write it to ``out`` (.parquet or .csv), all or nothing."""
    if out.suffix.lower() not in MATRIX_SUFFIXES:
        raise PreviError(f"--out: {out.name} must end in .parquet or .csv")
    matrix = matrix_from_bundle(settings, data_dir=data_dir, as_of=as_of)
    with atomic_file(out) as temporary:
        write_table(matrix.frame, temporary, out.suffix.lower())
    return matrix


def write_table(frame: pd.DataFrame, path: Path, suffix: str) -> None:
    if suffix == ".csv":
        frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    else:
        frame.to_parquet(path, index=False)


def summarise_matrix(matrix: FeatureMatrix, out: Path | None = None) -> Table:
    """A small table people can read: rows, prevalence and population per as_of."""
    return summarise_counts(as_of_counts(matrix.frame), len(matrix.features), matrix.removed, out)


def as_of_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows, labelled rows and positive labels per as_of: the figures of the summary, which add up.

    Counts of parts of a matrix (the Dask engine's buckets) sum to the counts of the whole.
    """
    labels = frame[LABEL_COLUMN]
    counts = (
        pd.DataFrame({"as_of": frame["as_of"], "labelled": labels.notna(), "positives": labels.fillna(0)})
        .groupby("as_of", sort=True)
        .agg(rows=("labelled", "size"), labelled=("labelled", "sum"), positives=("positives", "sum"))
    )
    return counts.astype("int64").reset_index()


def summarise_counts(
    counts: pd.DataFrame, n_features: int, removed: dict[str, tuple[str, ...]], out: Path | None = None
) -> Table:
    """The summary table from :func:`as_of_counts` (summed over parts, if the matrix came in parts)."""
    title = f"{int(counts['rows'].sum()):,} rows x {n_features} features" + (f" -> {out}" if out else "")
    table = Table("as_of", "young people", "outcome rate", "label window", title=title)
    ordered = counts.sort_values("as_of")
    for as_of, rows, labelled, positives in zip(
        ordered["as_of"],
        ordered["rows"].tolist(),
        ordered["labelled"].tolist(),
        ordered["positives"].tolist(),
        strict=True,
    ):
        known = labelled == rows
        rate = f"{positives / labelled:.1%}" if known and labelled else "-"
        table.add_row(str(pd.Timestamp(str(as_of)).date()), f"{rows:,}", rate, "closed" if known else "open")
    if removed:
        table.caption = "absent tables remove: " + "; ".join(
            f"{name} ({len(names)} features)" for name, names in removed.items()
        )
    return table
