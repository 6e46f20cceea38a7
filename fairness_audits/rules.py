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

from previ.errors import PreviError

THRESHOLD_NOT_FINITE = "threshold must be a finite number; got {value!r}"
TOP_K_INVALID = (
    "top-k must be a count of rows (a whole number from 1 to the {n} rows) or a fraction in (0, 1); got {k!r}"
)


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
    Ties at the cut-off are broken in a random order drawn from the audit's
    seed: deterministic for a given seed, and independent of how the file
    happens to be sorted (sorting by municipality, say, must not decide who
    among equal scores is referred).
    """

    k: float

    def count(self, n: int) -> int:
        """How many of ``n`` rows the rule selects; raises PreviError if ``k`` does not fit."""
        k = self.k
        if not math.isfinite(k) or k <= 0:
            raise PreviError(TOP_K_INVALID.format(n=n, k=k))
        if k < 1:
            selected = math.floor(k * n + 1e-9)
        elif float(k).is_integer() and k <= n:
            selected = int(k)
        else:
            raise PreviError(TOP_K_INVALID.format(n=n, k=k))
        if selected < 1:
            raise PreviError(TOP_K_INVALID.format(n=n, k=k))
        return selected

    def select(self, scores: npt.NDArray[np.float64], *, seed: int = 0) -> npt.NDArray[np.bool_]:
        """Boolean selection of the ``count(len(scores))`` highest scores."""
        n = len(scores)
        tie_order = np.random.default_rng(seed).permutation(n)
        ranked = np.lexsort((tie_order, -scores))
        selected = np.zeros(n, dtype=bool)
        selected[ranked[: self.count(n)]] = True
        return selected

    def describe(self) -> dict[str, Any]:
        """The rule as plain data for the JSON report."""
        kind = "fraction" if self.k < 1 else "count"
        return {"kind": "top_k", "top_k": self.k, "top_k_as": kind}


Rule = Threshold | TopK
