"""The one shape that training accepts, whichever entry point the data came through.

`previ train --config` builds it from a data bundle (registry features,
point-in-time labels, as_of dates); `previ train --table` builds it from a data
scientist's flat table (plain columns, optional time column). Everything after
this point (splits, grid, calibration, evaluation, audits) reads only this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.build import LABEL_COLUMN, FeatureMatrix
from features.registry import Feature


@dataclass(frozen=True)
class TrainingSet:
    """Features, labels and audit groups, row-aligned.

    ``features`` holds only model inputs: numeric float columns and pandas
    ``category`` columns. ``groups`` holds the audit-only columns (never
    features). ``time`` is the as_of date per row, or None for a flat table
    without a time column (then validation is stratified k-fold).
    ``registry`` maps a feature name to its registry declaration when the data
    came from a bundle; flat tables have none and get plain-language reasons.
    ``monotone`` is the expected direction per feature (+1, -1 or 0).
    """

    features: pd.DataFrame
    label: np.ndarray
    ids: np.ndarray
    groups: pd.DataFrame
    time: np.ndarray | None = None
    registry: dict[str, Feature] = field(default_factory=dict)
    monotone: dict[str, int] = field(default_factory=dict)
    horizon_days: int | None = None
    source: str = "bundle"
    warnings: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    """Columns that are not features, and why: (column, why), e.g. a proxy of a protected column."""
    allowed: tuple[tuple[str, str], ...] = ()
    """Features kept although the proxy screen flagged them: (column, what it predicts)."""

    @property
    def feature_names(self) -> list[str]:
        return [str(name) for name in self.features.columns]

    @property
    def categorical(self) -> list[str]:
        dtypes = self.features.dtypes.items()
        return [str(name) for name, dtype in dtypes if isinstance(dtype, pd.CategoricalDtype)]

    def subset(self, rows: np.ndarray) -> TrainingSet:
        """The same set restricted to ``rows`` (a boolean mask or integer positions)."""
        return TrainingSet(
            features=self.features.iloc[rows].reset_index(drop=True),
            label=self.label[rows],
            ids=self.ids[rows],
            groups=self.groups.iloc[rows].reset_index(drop=True),
            time=None if self.time is None else self.time[rows],
            registry=self.registry,
            monotone=self.monotone,
            horizon_days=self.horizon_days,
            source=self.source,
            warnings=self.warnings,
            excluded=self.excluded,
            allowed=self.allowed,
        )


def training_set_from_matrix(matrix: FeatureMatrix) -> TrainingSet:
    """Rows with a known label, registry features as inputs, audit columns as groups."""
    frame = matrix.frame[matrix.frame[LABEL_COLUMN].notna()].reset_index(drop=True)
    names = matrix.feature_names
    return TrainingSet(
        features=frame[names].astype("float64"),
        label=frame[LABEL_COLUMN].to_numpy(dtype=np.int8),
        ids=frame["youth_id"].to_numpy(dtype=object),
        groups=frame[list(matrix.group_columns)].astype("string"),
        time=frame["as_of"].to_numpy(dtype="datetime64[ns]"),
        registry={feature.name: feature for feature in matrix.features},
        monotone={feature.name: feature.direction for feature in matrix.features},
        horizon_days=matrix.horizon_days,
        source="bundle",
    )
