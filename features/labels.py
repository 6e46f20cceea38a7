"""Labels: did the adverse outcome happen in [as_of, as_of + horizon)?

The label looks only at events dated on or after as_of and strictly before
as_of + horizon. When that window is not closed by the bundle's extraction date
the label is unknown (missing), not negative: a young person cannot be counted
as "no outcome" for months the data do not cover yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features._events import Events, as_day
from previ.config import OutcomeConfig
from previ.errors import PreviError


class OutcomeEvents:
    """The adverse-outcome events of a bundle, as defined by the config."""

    def __init__(
        self, tables: dict[str, pd.DataFrame], youth_index: pd.Index, outcome: OutcomeConfig
    ) -> None:
        parts: list[Events] = []
        contacts = tables.get("justice_contacts")
        if contacts is not None:
            kind = contacts["kind"].astype("string")
            is_outcome = kind.isin(list(outcome.justice_kinds))
            if outcome.violence_infraction:
                is_outcome |= (kind == "civic_infraction") & (
                    contacts["category"].astype("string") == "violence"
                )
            parts.append(
                Events.from_frame(contacts[is_outcome.fillna(False).to_numpy()], youth_index, "date")
            )
        exits = tables.get("school_exits")
        if exits is not None and outcome.school_exit_reasons:
            is_outcome = exits["reason"].astype("string").isin(list(outcome.school_exit_reasons))
            parts.append(Events.from_frame(exits[is_outcome.fillna(False).to_numpy()], youth_index, "date"))
        if not parts:
            raise PreviError(
                "labels: the outcome needs justice_contacts or school_exits, and the bundle has neither"
            )
        self._youth = np.concatenate([part.youth for part in parts])
        self._day = np.concatenate([part.day for part in parts])
        self._n_youth = len(youth_index)

    def label(self, as_of_day: int, horizon_days: int, extraction_day: int) -> np.ndarray:
        """1.0 / 0.0 per youth, or NaN for everyone when the window is still open."""
        if as_of_day + horizon_days > extraction_day + 1:
            return np.full(self._n_youth, np.nan)
        in_window = (self._day >= as_of_day) & (self._day < as_of_day + horizon_days)
        counts = np.bincount(self._youth[in_window], minlength=self._n_youth)
        return (counts > 0).astype(float)


def window_is_closed(as_of: pd.Timestamp, horizon_days: int, extraction_date: pd.Timestamp) -> bool:
    return as_day(as_of) + horizon_days <= as_day(extraction_date) + 1
