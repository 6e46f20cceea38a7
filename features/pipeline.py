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
    frame = matrix.frame
    title = f"{len(frame):,} rows x {len(matrix.features)} features" + (f" -> {out}" if out else "")
    table = Table("as_of", "young people", "outcome rate", "label window", title=title)
    for as_of, rows in frame.groupby("as_of", sort=True):
        labels = rows[LABEL_COLUMN]
        known = labels.notna().all()
        rate = f"{labels.mean():.1%}" if known else "-"
        table.add_row(
            str(pd.Timestamp(str(as_of)).date()), f"{len(rows):,}", rate, "closed" if known else "open"
        )
    if matrix.removed:
        table.caption = "absent tables remove: " + "; ".join(
            f"{name} ({len(names)} features)" for name, names in matrix.removed.items()
        )
    return table
