"""Civic-justice and probation features: contacts dated before as_of.

Probation is an interval: it is in force at as_of when the latest probation
start before as_of is later than the latest probation end before as_of.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._events import Events


class JusticeFeatures:
    source = "justice_contacts"

    def __init__(self, frame: pd.DataFrame, youth_index: pd.Index) -> None:
        self._events = Events.from_frame(frame, youth_index, "date")
        kind = frame["kind"].astype("string").to_numpy(dtype=object)
        category = frame["category"].astype("string").to_numpy(dtype=object)
        disposition = frame["disposition"].astype("string").fillna("").to_numpy(dtype=object)
        self._infraction = (kind == "civic_infraction").astype(float)
        self._contact = kind != "probation_end"
        self._violence = ((category == "violence") & self._contact).astype(float)
        self._substance = ((category == "substance") & self._contact).astype(float)
        self._mediation = (disposition == "mediation").astype(float)
        self._detention = (kind == "detention").astype(float)
        self._probation_start = kind == "probation_start"
        self._probation_end = kind == "probation_end"

    def compute(self, as_of_day: int) -> dict[str, np.ndarray]:
        events = self._events
        year = events.in_window(as_of_day, 365)
        known = events.in_window(as_of_day, None)
        latest_start = events.latest_day(known & self._probation_start)
        latest_end = events.latest_day(known & self._probation_end)
        active = ~np.isnan(latest_start) & (np.isnan(latest_end) | (latest_end < latest_start))
        return {
            "civic_infractions_365d": events.total(year, self._infraction),
            "civic_infractions_total": events.total(known, self._infraction),
            "violence_contacts_365d": events.total(year, self._violence),
            "substance_contacts_365d": events.total(year, self._substance),
            "mediation_dispositions_total": events.total(known, self._mediation),
            "detentions_total": events.total(known, self._detention),
            "probation_active": active.astype(float),
            "probation_ever": (~np.isnan(latest_start)).astype(float),
            "days_since_last_justice_contact": as_of_day - events.latest_day(known & self._contact),
        }
