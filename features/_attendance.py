"""Attendance features: reporting periods that ended before as_of.

A period is known only once it has ended, so a period that straddles as_of is
left out entirely (its totals were not published yet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._events import Events, ratio


class AttendanceFeatures:
    source = "attendance"

    def __init__(self, frame: pd.DataFrame, youth_index: pd.Index) -> None:
        self._events = Events.from_frame(frame, youth_index, "period_end")
        self._enrolled = frame["days_enrolled"].to_numpy(dtype=float)
        self._excused = frame["days_absent_excused"].to_numpy(dtype=float)
        self._unexcused = frame["days_absent_unexcused"].to_numpy(dtype=float)
        self._late = frame["days_late"].to_numpy(dtype=float)
        self._absent = self._excused + self._unexcused

    def compute(self, as_of_day: int) -> dict[str, np.ndarray]:
        events = self._events
        recent = events.in_window(as_of_day, 90)
        year = events.in_window(as_of_day, 365)
        earlier = year & ~recent
        enrolled_90 = events.total(recent, self._enrolled)
        rate_90 = 1 - ratio(events.total(recent, self._absent), enrolled_90)
        rate_365 = 1 - ratio(events.total(year, self._absent), events.total(year, self._enrolled))
        rate_earlier = 1 - ratio(events.total(earlier, self._absent), events.total(earlier, self._enrolled))
        return {
            "attendance_rate_90d": rate_90,
            "attendance_rate_365d": rate_365,
            "attendance_rate_change": rate_90 - rate_earlier,
            "unexcused_absences_90d": events.total(recent, self._unexcused),
            "unexcused_absences_365d": events.total(year, self._unexcused),
            "excused_absences_90d": events.total(recent, self._excused),
            "days_late_90d": events.total(recent, self._late),
            "days_enrolled_90d": enrolled_90,
        }
