"""Prevention programme features: enrolments as they stood at as_of.

An enrolment that started before as_of and had not ended by then counts as
active, whatever status it was given later; only enrolments that ended before
as_of contribute their final status and session attendance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._events import Events, day_numbers, ratio


class ProgramFeatures:
    source = "programs"

    def __init__(self, frame: pd.DataFrame, youth_index: pd.Index) -> None:
        self._started = Events.from_frame(frame, youth_index, "start_date")
        self._end_day = day_numbers(frame["end_date"])
        status = frame["status"].astype("string").to_numpy(dtype=object)
        self._completed = (status == "completed").astype(float)
        self._dropped = (status == "dropped").astype(float)
        self._attended = frame["sessions_attended"].to_numpy(dtype=float)
        self._offered = frame["sessions_offered"].to_numpy(dtype=float)

    def compute(self, as_of_day: int) -> dict[str, np.ndarray]:
        started = self._started.in_window(as_of_day, None)
        ended = started & (self._end_day < as_of_day)
        running = started & ~ended
        events = self._started
        return {
            "programs_completed_total": events.total(ended, self._completed),
            "programs_dropped_total": events.total(ended, self._dropped),
            "program_active": (events.total(running) > 0).astype(float),
            "program_attendance_rate": ratio(
                events.total(ended, self._attended), events.total(ended, self._offered)
            ),
        }
