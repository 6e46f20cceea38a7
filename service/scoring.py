"""One scoring path for the API and the batch snapshot: values in, probabilities and reasons out.

A glass box is scored straight from its compiled lookup tables: one pass gives
the per-feature contributions, their sum is the logit the calibrator turns into
a probability, and the same contributions are the explanation, so a score and
its reasons can never disagree. Other model kinds go through the artifact's own
methods. Features the caller does not know are marginalised (:mod:`models.marginal`):
the glass box only, as its additivity makes the expectation and the range exact.
Reasons are selected and worded for all rows at once
(:func:`models.reasons.reason_codes`), which is what keeps a 100,000-row
snapshot within seconds.

The live API scores people one at a time (:func:`explained_scores`): a glass
box of numeric features, the default, goes row by row through its tables
(:meth:`models._lookup.LookupModel.row_contributions`) and words the row's
reasons directly (:func:`models.reasons.row_reasons`), in tens of microseconds
and without pandas; the answers are those of :func:`score_rows`, which a test
checks row by row. Other models take :func:`score_rows`, importing pandas then.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from features.registry import UNITS, Feature, Language
from models.artifact import ScoringModel
from models.explain import Explanation
from models.marginal import marginalise
from models.reasons import ReasonCodes, RowReasons, reason_codes, row_reasons
from previ.errors import PreviError
from previ.i18n import N_, translation

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FeatureProblem",
    "PercentileReference",
    "PersonScore",
    "ScoredRows",
    "explained_scores",
    "feature_problems",
    "score_rows",
    "unknown_features",
    "values_row",
]

FeatureValue = float | str | None
# Feasible values per registry unit: a value outside is a data error, not a young person's fact.
UNIT_RANGES: dict[str, tuple[float, float]] = {
    "rate": (0.0, 1.0),
    "points": (-1.0, 1.0),
    "grade": (-10.0, 10.0),  # grade means lie in 0-10; trends in -10..10
    "flag": (0.0, 1.0),
    "count": (0.0, 100_000.0),
    "days": (0.0, 36_500.0),
    "years": (0.0, 120.0),
}
# The feature checks' messages: English ids, translated when the 422 is written (FeatureProblem.text).
NEVER_MISSING = N_(
    "cannot be null: this feature always has a value in the training data, so 'no record' means nothing "
    "to the model; send its value, or list it in unknown if you do not know it"
)
SENT_AND_UNKNOWN = N_(
    "is listed in unknown and also sent (in features, or as the request's age): send a value "
    "(null: no record) or list it in unknown, not both"
)
CANNOT_MARGINALISE = N_(
    "is unknown (listed in unknown, or left out), but the served model ({kind}) cannot score unknown "
    "values: only the glass box, an additive model whose training population is stored in the artifact, "
    "can; send a value, or null if no record exists"
)
UNKNOWN_FEATURE = N_("not a feature of the served model")
NOT_A_NUMBER = N_("must be a number or null")
NOT_A_LEVEL = N_("must be a text level of this categorical feature, or null")
OUT_OF_RANGE = N_("out of range: must lie between {low:g} and {high:g} ({unit})")
NOT_A_FLAG = N_("must be 0 or 1 (a yes/no flag)")
AGE_DIFFERS = N_("differs from the request's age")


@dataclass(frozen=True)
class FeatureProblem:
    """One invalid feature value, named but never echoed.

    ``message`` is an English message id with ``{fields}`` filled from ``values``
    (numbers, or message ids themselves, such as a unit's name); :meth:`text`
    words it in a language.
    """

    feature: str
    message: str
    kind: str
    values: Mapping[str, object] = field(default_factory=dict)

    def text(self, language: Language) -> str:
        texts = translation(language)
        values = {
            key: texts.gettext(value) if isinstance(value, str) else value
            for key, value in self.values.items()
        }
        return texts.gettext(self.message, **values)


@dataclass(frozen=True)
class PercentileReference:
    """Sorted probabilities (quantiles) that percentiles are read against, and where they come from."""

    quantiles: np.ndarray
    source: Literal["model", "snapshot"]

    def percentile(self, probability: np.ndarray) -> np.ndarray:
        """Share (0-100) of the reference population scored at or below each probability."""
        positions = np.searchsorted(self.quantiles, probability, side="right")
        return 100.0 * positions / max(1, len(self.quantiles))


@dataclass(frozen=True, eq=False)
class ScoredRows:
    """Row-aligned results of one scoring pass.

    ``low`` and ``high`` bound the probability the ``unknown`` cells (rows x
    features) could give; ``most_informative`` names the unknown feature per row
    whose value would narrow that range most (None when nothing is unknown).
    """

    probability: np.ndarray
    percentile: np.ndarray
    tier: np.ndarray
    explanation: Explanation
    reference: Literal["model", "snapshot"]
    low: np.ndarray
    high: np.ndarray
    unknown: np.ndarray
    most_informative: list[str | None]
    registry: Mapping[str, Feature] = field(default_factory=dict)
    """The feature declarations frozen in the artifact: reasons are worded as the model was trained."""

    def reasons(self, language: Language, *, top: int) -> ReasonCodes:
        """Reasons from known values only: an unknown feature's expectation is not a fact about the person."""
        explanation = self.explanation
        if self.unknown.any():
            contributions = np.where(self.unknown, 0.0, explanation.contributions)
            explanation = Explanation(
                explanation.base_value, contributions, explanation.feature_names, explanation.values
            )
        return reason_codes(explanation, language=language, top=top, registry=self.registry)


@dataclass(frozen=True)
class PersonScore:
    """One person's explained score, as the API answers it (``low``/``high``: see :class:`ScoredRows`)."""

    probability: float
    percentile: float
    tier: str
    low: float
    high: float
    most_informative: str | None
    reasons: RowReasons
    reference: Literal["model", "snapshot"]


def explained_scores(
    scoring: ScoringModel,
    rows: Sequence[Sequence[FeatureValue]],
    unknown: Sequence[Sequence[bool]],
    *,
    reference: PercentileReference | None = None,
    language: Language,
    top: int,
) -> list[PersonScore]:
    """Explained scores of checked values (see :func:`values_row`), one per row, in order.

    ``unknown`` marks, per row and model feature, the values the caller does not
    know. The same numbers and reasons as :func:`score_rows` followed by
    :meth:`ScoredRows.reasons`; a glass box of numeric features is scored one
    row at a time from its tables, other models all at once through pandas.
    """
    reference = reference or PercentileReference(scoring.reference, "model")
    if scoring.scores_rows:
        return [
            _score_row(scoring, row, mask, reference=reference, language=language, top=top)
            for row, mask in zip(rows, unknown, strict=True)
        ]
    import pandas as pd

    if scoring.categorical_levels:
        values = pd.DataFrame(list(rows), columns=scoring.feature_names, dtype=object)
    else:
        values = pd.DataFrame(np.array(rows, dtype=np.float64), columns=scoring.feature_names)
    mask = np.array(unknown, dtype=bool).reshape(values.shape)
    scored = score_rows(scoring, values, reference=reference, unknown=mask)
    reasons = scored.reasons(language, top=top)
    return [
        PersonScore(
            probability=float(scored.probability[row]),
            percentile=float(scored.percentile[row]),
            tier=str(scored.tier[row]),
            low=float(scored.low[row]),
            high=float(scored.high[row]),
            most_informative=scored.most_informative[row],
            reasons=reasons.for_row(row),
            reference=scored.reference,
        )
        for row in range(len(values))
    ]


def _score_row(
    scoring: ScoringModel,
    row: Sequence[FeatureValue],
    unknown: Sequence[bool],
    *,
    reference: PercentileReference,
    language: Language,
    top: int,
) -> PersonScore:
    """:func:`score_rows` and its reasons for one row of a glass box, with the same arithmetic.

    The logit is summed by numpy, as the batch sums each row, and the
    calibration, percentile, tier and marginalisation are the batch's own
    functions on one-element arrays, so the two paths agree to the last bit
    but for numpy's own summation order (a test holds them within 1e-12).
    """
    lookup = scoring.model
    values = [math.nan if value is None else float(value) for value in row]
    contributions = np.array(lookup.row_contributions(values))
    probability = low = high = scoring.calibrator.probability(np.array([lookup.base + contributions.sum()]))
    most_informative = None
    if any(unknown):
        if scoring.population is None:
            raise PreviError(CANNOT_MARGINALISE.format(kind=scoring.kind))
        mask = np.array([unknown], dtype=bool)
        marginal = marginalise(
            lookup, scoring.population, contributions[None, :], mask, scoring.calibrator.probability
        )
        probability, low, high = marginal.probability, marginal.low, marginal.high
        contributions = np.where(mask[0], 0.0, marginal.contributions[0])  # reasons: known values only
        best = int(marginal.most_informative[0])
        most_informative = scoring.feature_names[best] if best >= 0 else None
    reasons = row_reasons(
        scoring.feature_names,
        contributions.tolist(),
        [None if value != value else value for value in values],
        language=language,
        registry=scoring.registry,
        top=top,
    )
    return PersonScore(
        probability=float(probability[0]),
        percentile=float(reference.percentile(probability)[0]),
        tier=scoring.tiers.tier_of(float(probability[0])),
        low=float(low[0]),
        high=float(high[0]),
        most_informative=most_informative,
        reasons=reasons,
        reference=reference.source,
    )


def feature_problems(
    scoring: ScoringModel,
    features: Mapping[str, FeatureValue],
    *,
    age: int | None = None,
    unknown: Sequence[str] = (),
) -> list[FeatureProblem]:
    """Everything wrong with one person's feature values, one problem per feature.

    ``age`` (the request's own field) is the ``age`` feature when the request
    leaves it out, and must agree with it when both are sent. A feature left out
    of ``features`` is unknown, as is one listed in ``unknown`` (never both listed
    and sent); unknown features need a model that can marginalise them. A null
    (no record) is refused for a feature that training never saw missing.
    """
    expected = set(scoring.feature_names)
    problems = [
        FeatureProblem(name, UNKNOWN_FEATURE, "unknown_feature")
        for name in [*features, *unknown]
        if name not in expected
    ]
    problems += [
        FeatureProblem(name, SENT_AND_UNKNOWN, "value_error")
        for name in unknown
        if name in features or (name == "age" and age is not None)  # the request's age is the age feature
    ]
    missing = set(unknown_features(scoring, features, unknown, age=age))
    if missing and not can_marginalise(scoring):
        problems += [
            FeatureProblem(name, CANNOT_MARGINALISE, "missing", {"kind": scoring.kind})
            for name in scoring.feature_names
            if name in missing
        ]
    registry = scoring.registry
    population = scoring.population
    for name in scoring.feature_names:
        if name not in features or name in unknown:
            continue
        value = features[name]
        if name == "age" and age is not None and value is not None and value != age:
            problems.append(FeatureProblem(name, AGE_DIFFERS, "value_error"))
            continue
        if value is None and population is not None and population.never_missing(name):
            problems.append(FeatureProblem(name, NEVER_MISSING, "value_error"))
            continue
        problem = _value_problem(name, value, scoring, registry[name].unit if name in registry else None)
        if problem is not None:
            problems.append(problem)
    return problems


def unknown_features(
    scoring: ScoringModel,
    features: Mapping[str, FeatureValue],
    unknown: Sequence[str] = (),
    *,
    age: int | None = None,
) -> list[str]:
    """The features one person's request leaves unknown, in model order (``age`` fills the age feature)."""
    listed = set(unknown)
    return [
        name
        for name in scoring.feature_names
        if name in listed or (name not in features and not (name == "age" and age is not None))
    ]


def can_marginalise(scoring: ScoringModel) -> bool:
    """Only a glass box with its training population stored can score unknown values exactly."""
    return scoring.kind == "glassbox" and scoring.population is not None


def values_row(
    scoring: ScoringModel, features: Mapping[str, FeatureValue], *, age: int | None = None
) -> list[FeatureValue]:
    """One person's values in model order (``age`` filling a missing age feature); check them first."""
    return [
        age if name == "age" and name not in features and age is not None else features.get(name)
        for name in scoring.feature_names
    ]


def score_rows(
    scoring: ScoringModel,
    values: pd.DataFrame,
    *,
    reference: PercentileReference | None = None,
    unknown: np.ndarray | None = None,
) -> ScoredRows:
    """Score rows of checked feature values (``values`` holds at least the model's columns).

    ``reference`` replaces the model's reference distribution for percentiles
    (a snapshot population). ``unknown`` (bool, rows x model features) marks the
    values the caller does not know; their cells in ``values`` are ignored. A
    missing value elsewhere means no record, as in the bundle.
    """
    import pandas as pd

    names = list(scoring.feature_names)
    if list(values.columns) != names:
        values = values[names]
    if not isinstance(values.index, pd.RangeIndex) or values.index.start != 0 or values.index.step != 1:
        values = values.reset_index(drop=True)
    if scoring.kind == "glassbox" and not scoring.categorical_levels:
        lookup = scoring.model
        base, contributions = lookup.contributions(values.to_numpy(dtype=np.float64, na_value=np.nan))
        explanation = Explanation(base, contributions, tuple(scoring.feature_names), values)
        probability = scoring.calibrator.probability(explanation.logit)
    else:
        probability = scoring.probability(values)
        explanation = scoring.explain(values)
    unknown = np.zeros(values.shape, dtype=bool) if unknown is None else np.asarray(unknown, dtype=bool)
    low = high = probability
    most_informative: list[str | None] = [None] * len(values)
    if unknown.any():
        if not can_marginalise(scoring) or scoring.population is None:
            raise PreviError(CANNOT_MARGINALISE.format(kind=scoring.kind))
        marginal = marginalise(
            scoring.model,
            scoring.population,
            explanation.contributions,
            unknown,
            scoring.calibrator.probability,
        )
        explanation = Explanation(
            marginal.base, marginal.contributions, explanation.feature_names, explanation.values
        )
        probability, low, high = marginal.probability, marginal.low, marginal.high
        most_informative = [names[j] if j >= 0 else None for j in marginal.most_informative.tolist()]
    reference = reference or PercentileReference(scoring.reference, "model")
    return ScoredRows(
        probability=probability,
        percentile=reference.percentile(probability),
        tier=scoring.tiers.tier(probability),
        explanation=explanation,
        reference=reference.source,
        low=low,
        high=high,
        unknown=unknown,
        most_informative=most_informative,
        registry=scoring.registry,
    )


def _value_problem(
    name: str, value: FeatureValue, scoring: ScoringModel, unit: str | None
) -> FeatureProblem | None:
    if value is None:
        return None
    if name in scoring.categorical_levels:
        return None if isinstance(value, str) else FeatureProblem(name, NOT_A_LEVEL, "string_type")
    if isinstance(value, str | bool) or not math.isfinite(value):
        return FeatureProblem(name, NOT_A_NUMBER, "float_type")
    if unit == "flag" and value not in (0, 1):
        return FeatureProblem(name, NOT_A_FLAG, "value_error")
    if unit in UNIT_RANGES:
        low, high = UNIT_RANGES[unit]
        if not low <= value <= high:
            return FeatureProblem(
                name, OUT_OF_RANGE, "value_error", {"low": low, "high": high, "unit": UNITS[unit]}
            )
    return None
