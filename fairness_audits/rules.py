"""Decision rules: which young people the programme would reach.

A rule turns scores into a yes/no selection (a suggested referral). Two kinds
cover how programmes decide: a score threshold, or a capacity (the top k).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fairness_audits.selection import capacity_count, top_k
from previ.errors import PreviError

THRESHOLD_NOT_FINITE = "threshold must be a finite number; got {value!r}"


@dataclass(frozen=True)
class Threshold:
    """Select every score greater than or equal to ``value``.

    Parameters
    ----------
    value : float
        The cut-off, in the units of the score (a probability, a decile...).
    """

    value: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise PreviError(THRESHOLD_NOT_FINITE.format(value=self.value))

    def select(self, scores: npt.NDArray[np.float64], *, seed: int = 0) -> npt.NDArray[np.bool_]:
        """Boolean selection, one per score (``seed`` is unused: thresholds have no ties to break)."""
        return np.asarray(scores >= self.value)

    def describe(self) -> dict[str, Any]:
        """The rule as plain data for the JSON report."""
        return {"kind": "threshold", "threshold": self.value}


@dataclass(frozen=True)
class TopK:
    """Select the ``k`` highest scores of the whole table (the programme's capacity).

    Parameters
    ----------
    k : float
        A count (a whole number >= 1) or a fraction of the table in (0, 1);
        a fraction selects ``floor(k * n)`` rows, never more than the capacity.

    Notes
    -----
    Selection goes through :mod:`fairness_audits.selection`, the engine that
    training's evaluation and the service's tiers use too: the same seed
    selects the same people everywhere.
    """

    k: float

    def count(self, n: int) -> int:
        """How many of ``n`` rows the rule selects; raises PreviError if ``k`` does not fit."""
        return capacity_count(n, self.k)

    def select(self, scores: npt.NDArray[np.float64], *, seed: int = 0) -> npt.NDArray[np.bool_]:
        """Boolean selection of the ``count(len(scores))`` highest scores (the shared engine)."""
        return top_k(scores, self.count(len(scores)), seed=seed)

    def describe(self) -> dict[str, Any]:
        """The rule as plain data for the JSON report."""
        kind = "fraction" if self.k < 1 else "count"
        return {"kind": "top_k", "top_k": self.k, "top_k_as": kind}


Rule = Threshold | TopK
