"""Grade features: terms that ended before as_of, on the 0-10 scale with 6 to pass."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from features._events import Events, ratio

CORE_SUBJECTS = frozenset({"matematicas", "espanol", "mathematics", "math", "spanish", "lengua materna"})


def _normalise(subject: str) -> str:
    decomposed = unicodedata.normalize("NFKD", subject.strip().lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class GradeFeatures:
    source = "grades"

    def __init__(self, frame: pd.DataFrame, youth_index: pd.Index) -> None:
        self._events = Events.from_frame(frame, youth_index, "term_end")
        self._grade = frame["grade"].to_numpy(dtype=float)
        self._failed = (self._grade < 6).astype(float)
        subjects = frame["subject"].astype("string")
        normalised = {value: _normalise(value) in CORE_SUBJECTS for value in subjects.dropna().unique()}
        self._core = subjects.map(normalised).fillna(False).to_numpy(dtype=bool)

    def compute(self, as_of_day: int) -> dict[str, np.ndarray]:
        events = self._events
        known = events.in_window(as_of_day, None)
        year = events.in_window(as_of_day, 365)
        latest = events.latest_day(known)
        latest_of_row = latest[events.youth]
        last_term = known & (events.day == latest_of_row)
        before_last = year & (events.day < latest_of_row)
        rows_last = events.total(last_term)
        mean_last = ratio(events.total(last_term, self._grade), rows_last)
        mean_before = ratio(events.total(before_last, self._grade), events.total(before_last))
        core_failed = events.total(last_term, self._failed * self._core)
        return {
            "failed_subjects_last_term": np.where(
                rows_last > 0, events.total(last_term, self._failed), np.nan
            ),
            "failed_subjects_365d": events.total(year, self._failed),
            "failed_core_subject_last_term": np.where(rows_last > 0, (core_failed > 0).astype(float), np.nan),
            "grade_mean_last_term": mean_last,
            "grade_mean_365d": ratio(events.total(year, self._grade), events.total(year)),
            "grade_trend": mean_last - mean_before,
        }
