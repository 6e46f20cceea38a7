"""Who is compared with whom: served young people and comparable ones not served, month by month.

The design is sequential ("served now versus not now"): for every month m
from a year after the first record,

* the risk set is everyone of programme age followed on the first day of m
  (the population of :func:`features.build.build_features`), not in a
  programme then, and still followed on the first day of m + 1;
* the served are those of the risk set whose programme starts in month m; the
  comparison rows are the others, sampled at one fixed rate (``max_comparisons``
  bounds their number; a rate independent of everything keeps the effect on the
  served unbiased);
* covariates are the registry's point-in-time features at the first day of m,
  so nothing recorded on or after enrolment enters the adjustment;
* the outcome is the adverse outcome of :mod:`features.labels` in [first day of
  m + 1, + horizon), and a month is used only when that window is closed.

Those not served may be served later; the estimand is the effect of being
served now against not now, the one the synthetic truth computes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features._events import as_day
from features._youth import ExitFeatures
from features.build import ID_COLUMNS, LABEL_COLUMN, BundleLike, FeatureBuilder, first_record_date
from features.labels import OutcomeEvents
from previ.config import FeaturesConfig
from previ.errors import PreviError

DATES_PER_BLOCK = 6  # as_of dates built at once: bounds memory at ~six months of the population
TREATMENT_COLUMN = "program"
NOT_SERVED = ""
NO_PROGRAMS_ERROR = "evaluate: the bundle has no programs table, so nobody is known to be served"


@dataclass(frozen=True)
class EvaluationSample:
    """Rows of served and sampled comparison person-months.

    ``frame`` has youth_id, as_of (first day of the month), ``program`` (the
    programme started that month, "" when not served), ``outcome`` (0/1), the
    group columns and the covariates named in ``covariates``.
    """

    frame: pd.DataFrame
    covariates: tuple[str, ...]
    comparison_rate: float
    months: tuple[dt.date, ...]
    horizon_days: int


def evaluation_sample(
    bundle: BundleLike,
    settings: FeaturesConfig,
    *,
    comparisons_per_served: float = 10.0,
    max_comparisons: int = 200_000,
    seed: int = 0,
) -> EvaluationSample:
    """Build the served and comparison rows of the sequential design (see the module docstring).

    Raises PreviError when the bundle has no programmes or is too short for a
    year of history plus a closed outcome window.
    """
    tables = bundle.tables
    if "programs" not in tables:
        raise PreviError(NO_PROGRAMS_ERROR)
    programs = tables["programs"]
    months = _months(tables, bundle.extraction_date, settings.horizon_days)
    youth_index = pd.Index(tables["youth"]["youth_id"])
    outcomes = OutcomeEvents(dict(tables), youth_index, settings.outcome)
    exits = ExitFeatures(tables["school_exits"], youth_index) if "school_exits" in tables else None
    extraction_day = as_day(pd.Timestamp(bundle.extraction_date))
    starts = pd.to_datetime(programs["start_date"])
    ends = pd.to_datetime(programs["end_date"])
    # one sampling rate for every month, set from a rough count of risk-set rows
    in_months = (starts >= pd.Timestamp(months[0])) & (
        starts < pd.Timestamp(months[-1]) + pd.DateOffset(months=1)
    )
    wanted = min(max_comparisons, comparisons_per_served * int(in_months.sum()))
    followed = len(youth_index) * 0.7 * len(months)
    rate = min(1.0, wanted / max(followed, 1.0))
    rng = np.random.default_rng(seed)

    builder = FeatureBuilder(bundle, settings)
    # programme spells as integer positions into the youth table: no string look-ups month by month
    program_youth = youth_index.get_indexer(pd.Index(programs["youth_id"].to_numpy(dtype=object)))
    program_name = programs["program"].astype(str).to_numpy(dtype=object)
    blocks = []
    for first in range(0, len(months), DATES_PER_BLOCK):
        dates = months[first : first + DATES_PER_BLOCK]
        matrix = builder.build(dates)
        frame = matrix.frame.drop(columns=[LABEL_COLUMN])
        positions = youth_index.get_indexer(pd.Index(frame["youth_id"].to_numpy(dtype=object)))
        as_of = frame["as_of"].to_numpy()
        parts = []
        for date in np.unique(as_of):
            at = np.flatnonzero(as_of == date)
            position = positions[at]
            month_start = pd.Timestamp(date)
            following = month_start + pd.DateOffset(months=1)
            running = ((starts < month_start) & (ends.isna() | (ends >= month_start))).to_numpy()
            in_program = np.zeros(len(youth_index), dtype=bool)
            in_program[program_youth[running]] = True
            enrolling = ((starts >= month_start) & (starts < following)).to_numpy()
            enrolled = np.full(len(youth_index), NOT_SERVED, dtype=object)
            # the first spell of the month, as drop_duplicates would keep it
            for row in np.flatnonzero(enrolling)[::-1]:
                enrolled[program_youth[row]] = program_name[row]
            keep = ~in_program[position]
            if exits is not None:
                keep &= ~exits.left_population(as_day(following))[position]
            served = enrolled[position]
            keep &= (served != NOT_SERVED) | (rng.random(at.size) < rate)
            label = outcomes.label(as_day(following), settings.horizon_days, extraction_day)[position]
            part = frame.iloc[at[keep]].assign(**{TREATMENT_COLUMN: served[keep], "outcome": label[keep]})
            parts.append(part)
        blocks.append(pd.concat(parts, ignore_index=True))
        covariates = tuple(matrix.feature_names)
    frame = pd.concat(blocks, ignore_index=True).sort_values(list(ID_COLUMNS), ignore_index=True)
    frame["outcome"] = frame["outcome"].astype(int)
    return EvaluationSample(
        frame=frame,
        covariates=covariates,
        comparison_rate=rate,
        months=tuple(months),
        horizon_days=settings.horizon_days,
    )


def _months(tables: Mapping[str, pd.DataFrame], extraction: dt.date, horizon_days: int) -> list[dt.date]:
    """First days of the months with a year of history before them and a closed outcome window."""
    start = (first_record_date(tables) + pd.DateOffset(years=1)).replace(day=1)
    last_day = as_day(pd.Timestamp(extraction))
    months = [
        stamp.date()
        for stamp in pd.date_range(start, pd.Timestamp(extraction), freq="MS")
        if as_day(stamp + pd.DateOffset(months=1)) + horizon_days <= last_day + 1
    ]
    if not months:
        raise PreviError(
            "evaluate: the bundle is too short for a year of history plus a closed outcome window"
        )
    return months
