"""Scores from partial information: what an unknown value is expected to add, and how far it could move.

"No record" and "I don't know" are different facts. A missing value (null, NaN)
means that no record exists, and the model learned what that predicts. A feature
the caller does not know is *unknown*: it may hold any value, or none.

The glass box is additive (``logit = base + sum_j f_j(x_j)``, each ``f_j`` a step
function over a few positions: numeric bins or categorical levels, then
"missing"), so for the unknown features ``U`` of a row:

* the point estimate replaces each ``f_j(x_j)`` by its expectation over the
  training population, read from the per-position training counts stored in the
  artifact (:class:`Population`). It is **not conditioned on the known
  features**: that would need joint tables of every pair of features, and the
  artifact keeps one histogram per feature;
* the range is exact: each unknown term can take any value its reachable
  positions give, independently of the others, so the logit lies in
  ``[known + sum_U min f_j, known + sum_U max f_j]``;
* probabilities are the calibrator applied to those logits. Calibrators are
  monotone (Platt with its slope's sign, isotonic non-decreasing), so the
  probability range is the calibrated ends, put in order;
* the most informative unknown feature is the one whose value, once known,
  leaves the narrowest expected probability range (expected over its training
  distribution, the other unknowns still spanning theirs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from models._lookup import LookupModel
from previ.errors import PreviError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Marginal", "Population", "marginalise", "population_from_training"]

WRONG_POSITIONS = (
    "The stored population of {feature!r} has {received} positions; the lookup table has {expected}. "
    "The artifact is inconsistent: retrain it."
)
NO_POPULATION = "population: the training population of {feature!r} is not stored; retrain the model."

Calibrate = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class Population:
    """The training population, summarised per feature.

    ``rows`` is the number of training rows, ``missing[name]`` how many of them had
    no value for the feature. For a glass box, ``positions[name]`` counts the
    training rows at each position of the feature's lookup table (bins or levels,
    then, for a categorical feature, unseen levels, then missing).
    """

    rows: int
    missing: Mapping[str, int]
    positions: Mapping[str, np.ndarray]

    def never_missing(self, name: str) -> bool:
        """True when every training row had a value: 'no record' is then not a state the model knows."""
        return name in self.missing and self.missing[name] == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": int(self.rows),
            "missing": {name: int(count) for name, count in self.missing.items()},
            "positions": {name: counts.astype(int).tolist() for name, counts in self.positions.items()},
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> Population:
        return cls(
            rows=int(stored["rows"]),
            missing={name: int(count) for name, count in stored["missing"].items()},
            positions={
                name: np.asarray(counts, dtype=np.float64) for name, counts in stored["positions"].items()
            },
        )


def population_from_training(features: pd.DataFrame, lookup: LookupModel | None = None) -> Population:
    """Summarise the rows a model was trained on (``features``: one column per model feature).

    With a glass box's ``lookup``, also count the rows at each position of its tables.
    """
    missing = {str(name): int(count) for name, count in features.isna().sum().items()}
    positions: dict[str, np.ndarray] = {}
    if lookup is not None:
        at = lookup.positions(features)
        for j, name in enumerate(lookup.feature_names):
            size = lookup.position_table(j).size
            positions[name] = np.bincount(at[:, j], minlength=size).astype(np.float64)
    return Population(rows=len(features), missing=missing, positions=positions)


@dataclass(frozen=True, eq=False)
class Marginal:
    """Row-aligned scores with the unknown features marginalised.

    ``contributions`` has each unknown cell replaced by its expectation, so
    ``base + contributions.sum(axis=1) == logit``; ``low`` and ``high`` are the
    calibrated ends of the range, ``probability`` the calibrated ``logit``;
    ``most_informative`` is a feature index per row (-1 when nothing is unknown).
    """

    base: float
    contributions: np.ndarray
    logit: np.ndarray
    probability: np.ndarray
    low: np.ndarray
    high: np.ndarray
    most_informative: np.ndarray


def marginalise(
    lookup: LookupModel,
    population: Population,
    contributions: np.ndarray,
    unknown: np.ndarray,
    calibrate: Calibrate,
) -> Marginal:
    """Marginalise the ``unknown`` cells (bool, rows x features) of a glass box's ``contributions``.

    ``contributions`` are the lookup model's, in its feature order; the values in
    unknown cells are ignored. ``calibrate`` maps logits to probabilities and must
    be monotone. Raises :class:`PreviError` when an unknown feature has no stored
    population.
    """
    unknown = np.asarray(unknown, dtype=bool)
    columns = np.flatnonzero(unknown.any(axis=0))
    terms = _terms(lookup, population, columns)
    expectation = np.zeros(len(lookup.feature_names))
    lowest = np.zeros_like(expectation)
    highest = np.zeros_like(expectation)
    for j, (mean, low, high, _, _) in terms.items():
        expectation[j], lowest[j], highest[j] = mean, low, high
    filled = np.where(unknown, expectation, contributions)
    logit = lookup.base + filled.sum(axis=1)
    logit_low = logit + np.where(unknown, lowest - expectation, 0.0).sum(axis=1)
    logit_high = logit + np.where(unknown, highest - expectation, 0.0).sum(axis=1)
    probability = calibrate(logit)
    ends = np.stack([calibrate(logit_low), calibrate(logit_high)])
    best = np.full(len(logit), -1, dtype=np.intp)
    best_width = np.full(len(logit), np.inf)
    for j, (_, low, high, table, weights) in terms.items():
        rows = np.flatnonzero(unknown[:, j])
        # the range once feature j is known: the others still span theirs, j adds its own value
        known_low = (logit_low[rows] - low)[:, None] + table[None, :]
        known_high = (logit_high[rows] - high)[:, None] + table[None, :]
        width = np.abs(calibrate(known_high.ravel()) - calibrate(known_low.ravel())).reshape(known_low.shape)
        expected_width = width @ weights
        better = expected_width < best_width[rows]
        best[rows[better]] = j
        best_width[rows[better]] = expected_width[better]
    return Marginal(
        base=lookup.base,
        contributions=filled,
        logit=logit,
        probability=probability,
        low=ends.min(axis=0),
        high=ends.max(axis=0),
        most_informative=best,
    )


def reachable(lookup: LookupModel, population: Population, feature: int) -> np.ndarray:
    """The positions of the feature's table a request can reach (bool mask).

    Every bin or level; unseen levels (numbers outside the level codes) never, as
    the service sends level names and an unseen name scores as missing; missing
    when the training data had missing values, or for a categorical feature.
    """
    name = lookup.feature_names[feature]
    size = lookup.position_table(feature).size
    mask = np.ones(size, dtype=bool)
    categorical = lookup.kinds[feature] == "categorical"
    if categorical:
        mask[size - 2] = False
    mask[size - 1] = categorical or not population.never_missing(name)
    return mask


def _terms(
    lookup: LookupModel, population: Population, columns: np.ndarray
) -> dict[int, tuple[float, float, float, np.ndarray, np.ndarray]]:
    """Per unknown feature: expectation, min, max, and the table and weights of its populated positions."""
    terms = {}
    for j in columns.tolist():
        name = lookup.feature_names[j]
        if name not in population.positions:
            raise PreviError(NO_POPULATION.format(feature=name))
        table = lookup.position_table(j)
        counts = population.positions[name]
        if counts.size != table.size:
            raise PreviError(WRONG_POSITIONS.format(feature=name, received=counts.size, expected=table.size))
        weights = counts / counts.sum()
        mask = reachable(lookup, population, j)
        populated = weights > 0
        terms[j] = (
            float(weights @ table),
            float(table[mask].min()),
            float(table[mask].max()),
            table[populated],
            weights[populated],
        )
    return terms
