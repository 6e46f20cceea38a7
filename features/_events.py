"""Vectorised point-in-time aggregation over event tables.

Every source module turns its table into :class:`Events`: the youth index of
each row (an integer into the `youth` table) and its date as a day number. The
window functions below then aggregate with ``np.bincount`` over a boolean mask,
which is what keeps feature building fast: no group-by per feature, no Python
loop over people.

The point-in-time rule lives here and only here: an event counts for ``as_of``
when its day is strictly before ``as_of`` and, for a window of ``W`` days, on or
after ``as_of - W``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FloatArray = np.ndarray


def day_numbers(dates: pd.Series) -> np.ndarray:
    """Dates as int64 days since 1970-01-01 (NaT becomes a very large day: never 'before')."""
    values = dates.to_numpy(dtype="datetime64[D]", na_value=np.datetime64("NaT"))
    days = values.astype("int64")
    days[np.isnat(values)] = np.iinfo(np.int64).max
    return days


def as_day(as_of: pd.Timestamp | np.datetime64 | str) -> int:
    return int(np.datetime64(pd.Timestamp(as_of).date(), "D").astype("int64"))


@dataclass(frozen=True)
class Events:
    """One event table in array form, rows aligned with the original frame."""

    youth: np.ndarray  # int64 index into the youth table
    day: np.ndarray  # int64 day number of the event
    n_youth: int

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, youth_index: pd.Index, date_column: str) -> Events:
        codes = youth_index.get_indexer(pd.Index(frame["youth_id"]))
        return cls(
            youth=codes.astype(np.int64), day=day_numbers(frame[date_column]), n_youth=len(youth_index)
        )

    def in_window(self, as_of_day: int, window_days: int | None) -> np.ndarray:
        """Rows dated strictly before as_of and, with a window, on or after as_of - window."""
        mask = self.day < as_of_day
        if window_days is not None:
            mask &= self.day >= as_of_day - window_days
        return mask

    def total(self, mask: np.ndarray, weights: np.ndarray | None = None) -> FloatArray:
        """Per-youth sum of ``weights`` (or count of rows) over the masked rows."""
        selected = weights[mask] if weights is not None else None
        return np.bincount(self.youth[mask], weights=selected, minlength=self.n_youth).astype(float)

    def latest_day(self, mask: np.ndarray) -> FloatArray:
        """Per-youth latest day among the masked rows (NaN when there is none)."""
        latest = np.full(self.n_youth, -np.inf)
        np.maximum.at(latest, self.youth[mask], self.day[mask].astype(float))
        latest[np.isinf(latest)] = np.nan
        return latest


def ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """numerator / denominator, NaN where the denominator is zero (no data, not zero)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)
