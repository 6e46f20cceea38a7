"""The point-in-time feature matrix: one row per (youth_id, as_of).

For each as_of date the population is every young person of programme age
(config ``min_age``-``max_age``) who had not graduated or transferred away
before as_of. Each source module computes its features for everybody at once
with array operations; the registry decides the column order and which features
an absent table removes. The label comes from :mod:`features.labels`.

The audit columns (sex, municipality, age band and those declared in the
config) travel beside the features for the fairness audits; they are never
features themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from features._attendance import AttendanceFeatures
from features._events import as_day
from features._grades import GradeFeatures
from features._incidents import IncidentFeatures
from features._justice import JusticeFeatures
from features._programs import ProgramFeatures
from features._youth import ExitFeatures, age_band, age_in_years
from features.labels import OutcomeEvents
from features.registry import FEATURES, Feature, features_for
from previ.config import FeaturesConfig
from previ.errors import PreviError

ID_COLUMNS = ("youth_id", "as_of")
LABEL_COLUMN = "label"
BASE_GROUP_COLUMNS = ("sex", "municipality", "age_band")

_SOURCES = (
    AttendanceFeatures,
    GradeFeatures,
    IncidentFeatures,
    JusticeFeatures,
    ProgramFeatures,
    ExitFeatures,
)


class BundleLike(Protocol):
    """What feature building needs of a loaded bundle (see :mod:`features.load`)."""

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]: ...

    @property
    def extraction_date(self) -> dt.date: ...

    @property
    def audit_columns(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class FeatureMatrix:
    """The matrix and what a reader needs to use it without guessing."""

    frame: pd.DataFrame
    features: tuple[Feature, ...]
    group_columns: tuple[str, ...]
    removed: dict[str, tuple[str, ...]]
    horizon_days: int

    @property
    def feature_names(self) -> list[str]:
        return [feature.name for feature in self.features]


def build_features(
    bundle: BundleLike, as_of: Sequence[dt.date], settings: FeaturesConfig | None = None
) -> FeatureMatrix:
    """Compute features and labels for every young person of programme age at each as_of.

    Raises PreviError when an as_of date falls after the extraction date (the
    data cannot describe it) or when no as_of date is given.
    """
    return FeatureBuilder(bundle, settings).build(as_of)


class FeatureBuilder:
    """The bundle's tables read into event arrays once, for features at any as_of dates.

    :func:`build_features` is one call of :meth:`build`; callers that build in
    blocks of dates (``previ evaluate`` month by month) keep one builder so the
    tables are indexed once, not once per block.
    """

    def __init__(self, bundle: BundleLike, settings: FeaturesConfig | None = None) -> None:
        self.settings = settings or FeaturesConfig()
        self.extraction = pd.Timestamp(bundle.extraction_date)
        tables = bundle.tables
        self.youth = tables["youth"].reset_index(drop=True)
        youth_index = pd.Index(self.youth["youth_id"])
        self.sources = [
            source(tables[source.source], youth_index) for source in _SOURCES if source.source in tables
        ]
        self.exits = next((source for source in self.sources if isinstance(source, ExitFeatures)), None)
        self.outcomes = OutcomeEvents(dict(tables), youth_index, self.settings.outcome)
        present = set(tables)
        self.features = features_for(present)
        self.removed = {
            table: tuple(feature.name for feature in FEATURES if feature.source == table)
            for table in sorted({feature.source for feature in FEATURES} - present)
        }
        self.audit_columns = tuple(column for column in bundle.audit_columns if column in self.youth.columns)

    def build(self, as_of: Sequence[dt.date]) -> FeatureMatrix:
        """The matrix at ``as_of`` (see :func:`build_features`)."""
        settings, extraction, youth = self.settings, self.extraction, self.youth
        if not as_of:
            raise PreviError("features: no as_of dates given (use --as-of or features.as_of in previ.yaml)")
        late = [str(date) for date in as_of if pd.Timestamp(date) > extraction + pd.Timedelta(days=1)]
        if late:
            raise PreviError(
                f"features: as_of {', '.join(late)} after the extraction date {extraction.date()}"
            )
        features, audit_columns = self.features, self.audit_columns
        blocks = []
        for date in sorted(set(as_of)):
            timestamp = pd.Timestamp(date)
            day = as_day(timestamp)
            ages = age_in_years(youth["birth_date"], timestamp)
            values: dict[str, np.ndarray] = {"age": ages}
            for source in self.sources:
                values.update(source.compute(day))
            in_population = (ages >= settings.min_age) & (ages <= settings.max_age)
            if self.exits is not None:
                in_population &= ~self.exits.left_population(day)
            rows = np.flatnonzero(in_population)
            block = {
                "youth_id": youth["youth_id"].to_numpy()[rows],
                "as_of": np.full(len(rows), timestamp.to_datetime64()),
                "sex": youth["sex"].to_numpy()[rows],
                "municipality": youth["municipality"].to_numpy()[rows],
                "age_band": age_band(ages[rows]),
                **{column: youth[column].to_numpy()[rows] for column in audit_columns},
                **{feature.name: values[feature.name][rows] for feature in features},
                LABEL_COLUMN: self.outcomes.label(day, settings.horizon_days, as_day(extraction))[rows],
            }
            blocks.append(pd.DataFrame(block))
        frame = pd.concat(blocks, ignore_index=True)
        frame["as_of"] = frame["as_of"].astype("datetime64[ns]")
        frame[LABEL_COLUMN] = frame[LABEL_COLUMN].astype("Int8")
        frame = frame.sort_values(list(ID_COLUMNS), kind="stable", ignore_index=True)
        return FeatureMatrix(
            frame=frame,
            features=features,
            group_columns=(*BASE_GROUP_COLUMNS, *audit_columns),
            removed=self.removed,
            horizon_days=settings.horizon_days,
        )


def first_record_date(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """The earliest date in any table but ``youth``; PreviError when no table has a date."""
    firsts = [
        frame[column].min()
        for name, frame in tables.items()
        if name != "youth"
        for column in frame.columns
        if pd.api.types.is_datetime64_any_dtype(frame[column]) and frame[column].notna().any()
    ]
    if not firsts:
        raise PreviError("features: the bundle has no dated events to place as_of dates; pass --as-of")
    return pd.Timestamp(min(firsts))


def default_as_of_dates(
    tables: Mapping[str, pd.DataFrame], extraction_date: dt.date, horizon_days: int
) -> list[dt.date]:
    """Every six months from a year after the first event until one horizon before extraction.

    A year of history before the first as_of lets the 365-day windows fill; the
    last as_of keeps its label window closed. Dates fall on the first of
    February and August (the Mexican school calendar's terms).
    """
    start = first_record_date(tables) + pd.DateOffset(years=1)
    last = pd.Timestamp(extraction_date) - pd.Timedelta(days=horizon_days - 1)
    candidates = pd.date_range(start.replace(day=1), last, freq="MS")
    dates = [timestamp.date() for timestamp in candidates if timestamp.month in (2, 8)]
    if not dates:
        raise PreviError(
            "features: the bundle is too short for a year of history plus a closed label window; pass --as-of"
        )
    return dates
