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
from dataclasses import dataclass, field
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
Term = tuple[float, float, float, np.ndarray, np.ndarray]
"""A feature's expectation, min, max, and the table and weights of its populated positions."""


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
    _terms: dict[int, tuple[LookupModel, Term]] = field(default_factory=dict, init=False, repr=False)
    """Each feature's term, worked out once per lookup model: the service marginalises person by person."""

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
    return Marginal(
        base=lookup.base,
        contributions=filled,
        logit=logit,
        probability=probability,
        low=ends.min(axis=0),
        high=ends.max(axis=0),
        most_informative=_most_informative(terms, unknown, logit_low, logit_high, calibrate),
    )


def _most_informative(
    terms: Mapping[int, Term],
    unknown: np.ndarray,
    logit_low: np.ndarray,
    logit_high: np.ndarray,
    calibrate: Calibrate,
) -> np.ndarray:
    """Per row, the unknown feature whose value leaves the narrowest expected range (-1: none unknown).

    Once feature j is known, the other unknowns still span their ranges and j
    adds its own value: the ends are ``logit_low - min_j + f_j(x)`` and
    ``logit_high - max_j + f_j(x)`` for each populated position x, weighted by
    its training share. All features and rows go through the calibrator in
    one call (a person with 30 unknowns costs one pass, not 30); ties go to
    the earlier feature.
    """
    best = np.full(len(logit_low), -1, dtype=np.intp)
    if not terms:
        return best
    columns = np.fromiter(terms, dtype=np.intp, count=len(terms))
    sizes = [terms[j][3].size for j in columns.tolist()]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
    owner = np.repeat(np.arange(columns.size), sizes)  # the feature each position belongs to
    table = np.concatenate([terms[j][3] for j in columns.tolist()])
    weights = np.concatenate([terms[j][4] for j in columns.tolist()])
    lows = np.array([terms[j][1] for j in columns.tolist()])[owner]
    highs = np.array([terms[j][2] for j in columns.tolist()])[owner]
    known_low = (logit_low[:, None] - lows[None, :]) + table[None, :]
    known_high = (logit_high[:, None] - highs[None, :]) + table[None, :]
    width = np.abs(calibrate(known_high.ravel()) - calibrate(known_low.ravel())).reshape(known_low.shape)
    expected = np.add.reduceat(width * weights[None, :], starts, axis=1)
    expected[~unknown[:, columns]] = np.inf  # only a feature unknown in that row can be chosen
    pick = np.argmin(expected, axis=1)
    chosen = np.isfinite(expected[np.arange(len(pick)), pick])
    best[chosen] = columns[pick[chosen]]
    return best


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


def _terms(lookup: LookupModel, population: Population, columns: np.ndarray) -> dict[int, Term]:
    """Per unknown feature: expectation, min, max, and the table and weights of its populated positions."""
    terms = {}
    for j in columns.tolist():
        known = population._terms.get(j)
        if known is not None and known[0] is lookup:
            terms[j] = known[1]
            continue
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
        population._terms[j] = (lookup, terms[j])
    return terms
