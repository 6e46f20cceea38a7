"""School incident features: incidents dated before as_of, by category and recency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._events import Events


class IncidentFeatures:
    source = "school_incidents"

    def __init__(self, frame: pd.DataFrame, youth_index: pd.Index) -> None:
        self._events = Events.from_frame(frame, youth_index, "date")
        category = frame["category"].astype("string").to_numpy(dtype=object)
        self._fight = (category == "fight").astype(float)
        self._bullying = (category == "bullying").astype(float)
        self._substance = (category == "substance").astype(float)
        severity = frame["severity"].to_numpy(dtype=float)
        self._serious = ((severity >= 3) | (category == "weapon")).astype(float)
        self._suspension = frame["suspension_days"].to_numpy(dtype=float)

    def compute(self, as_of_day: int) -> dict[str, np.ndarray]:
        events = self._events
        recent = events.in_window(as_of_day, 90)
        year = events.in_window(as_of_day, 365)
        known = events.in_window(as_of_day, None)
        return {
            "fights_90d": events.total(recent, self._fight),
            "fights_365d": events.total(year, self._fight),
            "incidents_90d": events.total(recent),
            "incidents_365d": events.total(year),
            "bullying_365d": events.total(year, self._bullying),
            "serious_incidents_365d": events.total(year, self._serious),
            "substance_incidents_365d": events.total(year, self._substance),
            "suspension_days_365d": events.total(year, self._suspension),
            "days_since_last_incident": as_of_day - events.latest_day(known),
        }
