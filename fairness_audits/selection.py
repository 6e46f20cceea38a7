"""Who gets the programme's places: the one selection engine of previ.

Training's evaluation (precision and recall at k), the fairness audit, the
allocation policies and the service's tier cut-offs all select "the k highest
scores" through this module, so they always select the same young people:

* ``k`` is a capacity: a count (a whole number >= 1) or a share of the
  population in (0, 1). A share selects ``floor(k * n)`` people, never more
  than the places there are (and at least one).
* Ties at the cut-off are broken in a random order drawn from a seed:
  deterministic for a given seed, and independent of how the rows happen to be
  sorted (sorting by municipality must not decide who among equal scores is
  referred).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from previ.errors import PreviError

CAPACITY_INVALID = (
    "top-k must be a count of rows (a whole number from 1 to the {n} rows) or a fraction in (0, 1); got {k!r}"
)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def capacity_count(n: int, k: float) -> int:
    """How many of ``n`` people a capacity ``k`` takes; raises PreviError if ``k`` does not fit."""
    if not math.isfinite(k) or k <= 0 or n < 1:
        raise PreviError(CAPACITY_INVALID.format(n=n, k=k))
    if k < 1:
        return max(1, math.floor(k * n + 1e-9))
    if float(k).is_integer() and k <= n:
        return int(k)
    raise PreviError(CAPACITY_INVALID.format(n=n, k=k))


def top_k(scores: npt.ArrayLike, count: int, *, seed: int = 0) -> BoolArray:
    """Boolean mask of the ``count`` highest scores, ties broken by a seeded shuffle."""
    values = np.asarray(scores, dtype=np.float64)
    order = ranking(values, seed=seed)
    selected = np.zeros(len(values), dtype=bool)
    selected[order[:count]] = True
    return selected


def ranking(scores: npt.ArrayLike, *, seed: int = 0) -> npt.NDArray[np.intp]:
    """Row positions from the highest score down, ties in the seeded order of :func:`top_k`."""
    values = np.asarray(scores, dtype=np.float64)
    tie_order = np.random.default_rng(seed).permutation(len(values))
    return np.lexsort((tie_order, -values)).astype(np.intp)


def cutoff(scores: npt.ArrayLike, share: float) -> float:
    """The lowest score among the top ``share`` of ``scores``: a tier's minimum probability.

    Everyone scoring at or above it is in the tier; with ties at the cut-off the
    tier may hold a few more than the share, never fewer.
    """
    values = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    return float(values[capacity_count(len(values), share) - 1])
