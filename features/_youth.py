"""Features and population rules from `youth` and `school_exits`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._events import Events


def age_in_years(birth_dates: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    """Whole years of age at as_of (NaN for a missing birth date)."""
    births = pd.DatetimeIndex(birth_dates)
    years = as_of.year - births.year
    before_birthday = (births.month > as_of.month) | (
        (births.month == as_of.month) & (births.day > as_of.day)
    )
    return np.asarray(years - before_birthday.astype(int), dtype=float)


def age_band(ages: np.ndarray) -> np.ndarray:
    """Age bands used by the audits: 11-14 (secundaria), 15-17 (media superior), 18+."""
    bands = np.full(ages.shape, "18+", dtype=object)
    bands[ages < 18] = "15-17"
    bands[ages < 15] = "11-14"
    return bands


class ExitFeatures:
    """Whether a young person had left school before as_of, and who left for good."""

    source = "school_exits"

    def __init__(self, frame: pd.DataFrame, youth_index: pd.Index) -> None:
        self._events = Events.from_frame(frame, youth_index, "date")
        reason = frame["reason"].astype("string").to_numpy(dtype=object)
        self._dropped = (reason == "dropped_out").astype(float)
        self._left = ((reason == "graduated") | (reason == "transferred")).astype(float)

    def compute(self, as_of_day: int) -> dict[str, np.ndarray]:
        known = self._events.in_window(as_of_day, None)
        return {"dropped_out_before": (self._events.total(known, self._dropped) > 0).astype(float)}

    def left_population(self, as_of_day: int) -> np.ndarray:
        """Graduated or transferred away before as_of: no longer this programme's population."""
        known = self._events.in_window(as_of_day, None)
        return self._events.total(known, self._left) > 0
