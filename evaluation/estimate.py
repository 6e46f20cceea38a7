"""The effect on the served: doubly robust, cross-fitted, with its diagnostics.

:func:`estimate_effect` estimates the average effect on the treated (ATT) of a
binary treatment on a binary outcome with econml's :class:`LinearDRLearner`
(cross-fitted propensity and outcome models, gradient-boosted trees). The
learner targets the average over everyone; weighting its doubly robust scores
by the propensity turns that average into the average over the treated, since
E[p(X) tau(X)] / E[p(X)] = E[tau(X) | T = 1]. The propensity used for those
weights, for the overlap diagnostics and for the balance table is one more
cross-fitted model of the same kind.

The interval is not econml's: that one holds the weights and the treated risk
fixed, the rows independent and the split given. :mod:`evaluation._variance`
gives the variance of the effect on the treated from its influence function,
summed within each young person, over ``REPETITIONS`` splits averaged.

From the risk difference RD and the observed risk of the treated r1, the risk
they would have had untreated is r0 = r1 - RD and the relative risk reduction
is RRR = -RD / r0 = 1 - r1 / r0; its interval is that of the log risk ratio
log(r1 / r0), whose variance counts r1's own. The E-value (VanderWeele and Ding, 2017) says how strongly an
unmeasured confounder would have to be tied to both treatment and outcome, as
a risk ratio, to explain the effect away; the interval's E-value does the same
for its bound nearest to no effect.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from econml.dr import LinearDRLearner
from scipy import stats
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_predict
from threadpoolctl import threadpool_limits

from evaluation import _variance
from previ.errors import PreviError

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

FOLDS = 2
REPETITIONS = 2  # cross-fitting splits averaged (see evaluation._variance); each costs one more learner fit
Z_95 = float(stats.norm.ppf(0.975))
TRIM = 0.05  # rows with a propensity above 1 - TRIM have no comparable untreated people
MIN_PROPENSITY = 1e-3
MIN_GROUP = 30  # fewest treated (and untreated) people for an estimate
TOO_FEW_ERROR = (
    "evaluate: {name} has {treated} treated and {control} untreated rows; at least {least} of each needed"
)


@dataclass(frozen=True)
class Interval:
    value: float
    ci: tuple[float, float]

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "ci": list(self.ci)}


@dataclass(frozen=True)
class Effect:
    """One treatment's effect on the treated, with the diagnostics a reader needs to trust it."""

    n_served: int
    n_comparison: int
    risk_served: float
    risk_not_served: float
    relative_risk_reduction: Interval
    risk_difference: Interval
    naive_relative_risk_reduction: float
    naive_risk_difference: float
    e_value: float
    e_value_ci: float
    balance: pd.DataFrame  # covariate, smd_before, smd_after
    overlap: dict[str, Any]
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def balance_max_smd(self) -> dict[str, float]:
        return {
            "before": float(self.balance["smd_before"].abs().max()),
            "after": float(self.balance["smd_after"].abs().max()),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_served": self.n_served,
            "n_comparison": self.n_comparison,
            "risk_served": self.risk_served,
            "risk_not_served": self.risk_not_served,
            "relative_risk_reduction": self.relative_risk_reduction.as_dict(),
            "risk_difference": self.risk_difference.as_dict(),
            "naive_relative_risk_reduction": self.naive_relative_risk_reduction,
            "naive_risk_difference": self.naive_risk_difference,
            "e_value": {"estimate": self.e_value, "ci": self.e_value_ci},
            "balance_max_smd": self.balance_max_smd,
            "overlap": self.overlap,
            "groups": self.groups,
        }


def estimate_effect(
    covariates: pd.DataFrame,
    treated: BoolArray,
    outcome: FloatArray,
    *,
    name: str,
    clusters: npt.ArrayLike | None = None,
    groups: Mapping[str, npt.NDArray[Any]] | None = None,
    seed: int = 0,
    trim: float = TRIM,
    threads: int = 1,
) -> Effect:
    """Effect of ``treated`` on ``outcome`` (0/1) among the treated, adjusted for ``covariates``.

    ``clusters`` (e.g. the youth id) keeps rows of one person in one fold.
    ``groups`` maps a grouping's name to a label per row; each grouping gets
    per-group effects, an inverse-variance pooled one and Cochran's Q test of
    heterogeneity. Rows with a propensity above ``1 - trim`` are trimmed (their
    share is reported). Raises PreviError with fewer than ``MIN_GROUP`` treated
    or untreated rows. ``threads`` caps the OpenMP threads of the boosted trees
    (0: every core); one thread by default, as training's ``threads``: on a
    shared machine a second thread spends its time waiting for the first.
    """
    with threadpool_limits(limits=threads or None, user_api="openmp"):
        return _estimate(covariates, treated, outcome, name, clusters, groups, seed, trim)


def _estimate(
    covariates: pd.DataFrame,
    treated: BoolArray,
    outcome: FloatArray,
    name: str,
    clusters: npt.ArrayLike | None,
    groups: Mapping[str, npt.NDArray[Any]] | None,
    seed: int,
    trim: float,
) -> Effect:
    treated = np.asarray(treated, dtype=bool)
    outcome = np.asarray(outcome, dtype=float)
    _check_size(name, treated)
    codes = pd.factorize(np.arange(len(treated)) if clusters is None else np.asarray(clusters))[0]
    matrix = covariates.to_numpy(dtype=float)
    propensity = _cross_fitted_propensity(matrix, treated, _folds(codes, seed, 0), seed)
    kept = propensity <= 1.0 - trim
    overlap = _overlap(propensity, treated, kept)
    matrix, treated_k, outcome_k, propensity_k = matrix[kept], treated[kept], outcome[kept], propensity[kept]
    codes_k = pd.factorize(codes[kept])[0]
    _check_size(name, treated_k)
    # the first split reuses the trimming pass's propensity (out of fold for every row kept)
    splits = [
        _split(
            matrix,
            treated_k,
            outcome_k,
            codes_k,
            seed=seed,
            repetition=repetition,
            propensity=propensity_k if repetition == 0 else None,
            trim=trim,
        )
        for repetition in range(REPETITIONS)
    ]
    difference, variance = _variance.aggregate(
        np.array([split.difference for split in splits]),
        np.array([split.difference_variance for split in splits]),
    )
    half = Z_95 * math.sqrt(variance)
    risk_served = float(outcome_k[treated_k].mean())
    effect = _effect(
        risk_served,
        difference,
        (difference - half, difference + half),
        n_comparison=int((~treated_k).sum()),
        n_served=int(treated_k.sum()),
        naive=(risk_served, float(outcome_k[~treated_k].mean())),
        balance=_balance(covariates.loc[kept], treated_k, propensity_k),
        overlap=overlap,
    )
    by_group = {}
    for grouping, labels in (groups or {}).items():
        by_group[grouping] = _heterogeneity(
            matrix, treated_k, outcome_k, codes_k, propensity_k, np.asarray(labels)[kept], seed
        )
    relative = _relative(risk_served, difference, splits)
    return Effect(**{**effect.__dict__, "relative_risk_reduction": relative, "groups": by_group})


def _split(
    matrix: FloatArray,
    treated: BoolArray,
    outcome: FloatArray,
    codes: npt.NDArray[np.int64],
    *,
    seed: int,
    repetition: int,
    propensity: FloatArray | None,
    trim: float,
) -> _variance.SplitEstimate:
    """One cross-fitting split: econml's effect on the treated and its clustered variance.

    ``propensity`` (cross-fitted here on the split's folds unless the caller
    has it) weights the learner's scores and is the one they divide by
    (:class:`_KnownPropensity`).
    """
    folds = _folds(codes, seed, repetition)
    if propensity is None:
        # rows were kept for their first propensity (at most 1 - TRIM); another split's model may put a
        # few of them above it, and the odds p / (1 - p) of a comparison would weigh up to 1 / MIN_PROPENSITY
        propensity = np.minimum(_cross_fitted_propensity(matrix, treated, folds, seed), 1.0 - trim)
    learner = _fit(matrix, treated, outcome, folds, propensity, seed, None)
    difference = float(np.ravel(learner.ate_inference().mean_point)[0])
    untreated_risk = np.empty(len(outcome))
    for (_, test), model in zip(folds, learner.models_regression[0], strict=True):
        # the learner's outcome model reads [W, row id, T]: the risk of the same rows untreated
        given = np.column_stack([matrix[test], test.astype(float), np.zeros(len(test))])
        untreated_risk[test] = model.predict_proba(given)[:, 1]
    clipped = np.clip(propensity, MIN_PROPENSITY, 1.0 - MIN_PROPENSITY)  # as econml clips it
    return _variance.split_estimate(difference, treated, outcome, untreated_risk, clipped, codes)


def _relative(risk_served: float, difference: float, splits: list[_variance.SplitEstimate]) -> Interval:
    """The relative risk reduction, its interval from the log risk ratio r1 / r0.

    On the log scale the interval carries the variance of the observed risk of
    the treated r1 and its covariance with r0, which mapping the risk
    difference's interval through r1 held fixed leaves out. When a split has no
    positive risk to take the log of, the mapping (:func:`effect_interval`) is
    the fallback.
    """
    logs = np.array([split.log_ratio for split in splits])
    if not np.all(np.isfinite(logs)):
        half = Z_95 * math.sqrt(
            _variance.aggregate(
                np.array([split.difference for split in splits]),
                np.array([split.difference_variance for split in splits]),
            )[1]
        )
        return effect_interval(risk_served, difference, (difference - half, difference + half))
    _, variance = _variance.aggregate(logs, np.array([split.log_ratio_variance for split in splits]))
    centre = _rrr(risk_served, difference)
    log_ratio = math.log(1.0 - centre)
    half = Z_95 * math.sqrt(variance)
    return Interval(centre, (1.0 - math.exp(log_ratio + half), 1.0 - math.exp(log_ratio - half)))


def _check_size(name: str, treated: BoolArray) -> None:
    count, others = int(treated.sum()), int((~treated).sum())
    if count < MIN_GROUP or others < MIN_GROUP:
        raise PreviError(TOO_FEW_ERROR.format(name=name, treated=count, control=others, least=MIN_GROUP))


def _trees(seed: int) -> HistGradientBoostingClassifier:
    """Nuisance model: small boosted trees, fast on 10^5 rows, missing values handled natively."""
    return HistGradientBoostingClassifier(
        max_iter=80, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=40, random_state=seed
    )


Folds = list[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]]


def _folds(codes: npt.NDArray[np.int64], seed: int, repetition: int) -> Folds:
    """Cross-fitting folds that keep every row of one cluster (one young person) together.

    ``codes`` are the clusters as integer codes 0..G-1 (GroupKFold with
    shuffling grows with rows x groups); each ``repetition`` draws another split.
    """
    fold_of_group = np.random.default_rng([seed, repetition]).permutation(int(codes.max()) + 1) % FOLDS
    fold = fold_of_group[codes]
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(FOLDS)]


class _KnownPropensity(ClassifierMixin, BaseEstimator):
    """The propensity already cross-fitted, looked up by the row id in the last column.

    The learner passes the ATT weights (the propensity itself) to every model it
    fits, and its doubly robust scores divide by its own propensity. Handing it
    the very out-of-fold propensity behind the weights makes the weighted scores
    the usual effect-on-the-treated score, whatever rows were trimmed, instead of
    a ratio of two estimates of one propensity; and it spares a second fit.
    """

    def __init__(self, propensity: FloatArray | None = None) -> None:
        self.propensity = propensity

    def fit(
        self, X: FloatArray, y: npt.ArrayLike, sample_weight: FloatArray | None = None
    ) -> _KnownPropensity:
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: FloatArray) -> FloatArray:
        if self.propensity is None:
            raise RuntimeError("_KnownPropensity needs the propensity of every row")
        treated = self.propensity[np.asarray(X)[:, -1].astype(np.int64)]
        return np.column_stack([1.0 - treated, treated])

    def predict(self, X: FloatArray) -> npt.NDArray[Any]:
        return (self.predict_proba(X)[:, 1] > 0.5).astype(np.int64)


class _WithoutRowIds(ClassifierMixin, BaseEstimator):
    """The outcome model, blind to the row id: the learner gives it [covariates, row id, treatment]."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: FloatArray, y: npt.ArrayLike, sample_weight: FloatArray | None = None) -> _WithoutRowIds:
        self.model_ = _trees(self.seed).fit(_drop_row_ids(X), y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X: FloatArray) -> FloatArray:
        return np.asarray(self.model_.predict_proba(_drop_row_ids(X)))

    def predict(self, X: FloatArray) -> npt.NDArray[Any]:
        return np.asarray(self.model_.predict(_drop_row_ids(X)))


def _drop_row_ids(with_treatment: FloatArray) -> FloatArray:
    return np.delete(np.asarray(with_treatment), -2, axis=1)


def _cross_fitted_propensity(matrix: FloatArray, treated: BoolArray, folds: Folds, seed: int) -> FloatArray:
    predicted = cross_val_predict(_trees(seed), matrix, treated, cv=folds, method="predict_proba")
    return np.asarray(predicted[:, 1], dtype=float)


def _fit(
    matrix: FloatArray,
    treated: BoolArray,
    outcome: FloatArray,
    folds: Folds,
    propensity: FloatArray,
    seed: int,
    modifiers: FloatArray | None,
) -> LinearDRLearner:
    """econml's learner on ``folds``, scores weighted by the cross-fitted ``propensity`` they use."""
    learner = LinearDRLearner(
        model_propensity=_KnownPropensity(propensity),
        model_regression=_WithoutRowIds(seed),
        discrete_outcome=True,
        fit_cate_intercept=modifiers is None,
        min_propensity=MIN_PROPENSITY,
        cv=folds,
        random_state=seed,
        allow_missing=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        learner.fit(
            outcome.astype(int),
            treated.astype(int),
            X=modifiers,
            W=np.column_stack([matrix, np.arange(len(outcome), dtype=float)]),
            sample_weight=np.maximum(propensity, MIN_PROPENSITY),
        )
    return learner


def _effect(
    risk_served: float,
    difference: float,
    ci: tuple[float, float],
    *,
    n_served: int,
    n_comparison: int,
    naive: tuple[float, float],
    balance: pd.DataFrame,
    overlap: dict[str, Any],
) -> Effect:
    risk_not_served = risk_served - difference
    low, high = ci
    naive_served, naive_not_served = naive
    return Effect(
        n_served=n_served,
        n_comparison=n_comparison,
        risk_served=risk_served,
        risk_not_served=risk_not_served,
        relative_risk_reduction=effect_interval(risk_served, difference, (low, high)),
        risk_difference=Interval(difference, (low, high)),
        naive_relative_risk_reduction=1.0 - naive_served / naive_not_served if naive_not_served else math.nan,
        naive_risk_difference=naive_served - naive_not_served,
        e_value=e_value(risk_served, risk_served - difference),
        e_value_ci=e_value_ci(risk_served, low, high),
        balance=balance,
        overlap=overlap,
    )


def effect_interval(risk_served: float, difference: float, ci: tuple[float, float]) -> Interval:
    """The relative risk reduction and its interval, from a risk difference with its interval.

    The reduction -RD / (r1 - RD) falls towards minus infinity as RD nears the
    served risk r1 (no untreated risk left). So when the interval's upper end
    reaches r1, the data do not bound the reduction from below: the lower bound
    is ``-inf`` (evaluation.json writes it as null, the reports "unbounded").
    NaN only when the whole interval lies at or above r1.
    """
    low, high = ci
    lower = _rrr(risk_served, high) if risk_served - high > 0 else -math.inf
    upper = _rrr(risk_served, low) if risk_served - low > 0 else math.nan
    return Interval(_rrr(risk_served, difference), (math.nan if math.isnan(upper) else lower, upper))


def _rrr(risk_served: float, difference: float) -> float:
    """1 - r1 / r0 with r0 = r1 - RD; decreasing in RD; NaN when r0 is not positive."""
    untreated = risk_served - difference
    return float(-difference / untreated) if untreated > 0 else math.nan


def e_value(risk_treated: float, risk_untreated: float) -> float:
    """E-value of a risk ratio r1 / r0 (1 when there is no effect or the risks are undefined)."""
    if not (risk_treated > 0 and risk_untreated > 0):
        return math.nan
    ratio = risk_treated / risk_untreated
    ratio = 1.0 / ratio if ratio < 1 else ratio
    return float(ratio + math.sqrt(ratio * (ratio - 1.0)))


def e_value_ci(risk_served: float, low: float, high: float) -> float:
    """E-value of the interval's bound nearest to no effect (1 when the interval holds 0)."""
    if low <= 0 <= high:
        return 1.0
    nearest = high if high < 0 else low
    return e_value(risk_served, risk_served - nearest)


def _overlap(propensity: FloatArray, treated: BoolArray, kept: BoolArray) -> dict[str, Any]:
    quantiles = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
    edges = np.linspace(0.0, 1.0, 21)
    return {
        "trimmed_share": float(1.0 - kept.mean()),
        "trimmed_served_share": float(1.0 - kept[treated].mean()),
        "propensity_quantiles": {
            label: {f"{q:.2f}": float(np.quantile(propensity[mask], q)) for q in quantiles}
            for label, mask in (("served", treated), ("comparison", ~treated))
        },
        "histogram": {
            "edges": edges.tolist(),
            "served": np.histogram(propensity[treated], edges)[0].tolist(),
            "comparison": np.histogram(propensity[~treated], edges)[0].tolist(),
        },
    }


def _balance(covariates: pd.DataFrame, treated: BoolArray, propensity: FloatArray) -> pd.DataFrame:
    """Standardised mean differences, before and after weighting comparisons by p / (1 - p)."""
    values = covariates.to_numpy(dtype=float)
    weights = np.where(treated, 1.0, propensity / (1.0 - propensity))
    rows = []
    for column, series in zip(covariates.columns, values.T, strict=True):
        present = ~np.isnan(series)
        served, others = present & treated, present & ~treated
        if served.sum() < 2 or others.sum() < 2:
            continue
        spread = math.sqrt((series[served].var() + series[others].var()) / 2.0)
        if spread == 0:
            continue
        before = (series[served].mean() - series[others].mean()) / spread
        after = (series[served].mean() - np.average(series[others], weights=weights[others])) / spread
        rows.append({"covariate": column, "smd_before": float(before), "smd_after": float(after)})
    return pd.DataFrame(rows, columns=["covariate", "smd_before", "smd_after"])


def _heterogeneity(
    matrix: FloatArray,
    treated: BoolArray,
    outcome: FloatArray,
    codes: npt.NDArray[np.int64],
    propensity: FloatArray,
    labels: npt.NDArray[Any],
    seed: int,
) -> dict[str, Any]:
    """Per-group effects from one learner with a group indicator per column, then pooling and Q.

    One split and econml's own intervals: a screen of how effects differ, not
    the headline estimate (which :func:`_split` repeats and clusters).
    """
    names = sorted({str(label) for label in labels})
    sizes = {name: int((treated & (labels.astype(str) == name)).sum()) for name in names}
    names = [name for name in names if sizes[name] >= MIN_GROUP]
    if len(names) < 2:
        return {"groups": {}, "note": "fewer than two groups with enough served people"}
    keep = np.isin(labels.astype(str), names)
    indicators = (labels[keep].astype(str)[:, None] == np.array(names)[None, :]).astype(float)
    folds = _folds(pd.factorize(codes[keep])[0], seed, 0)
    learner = _fit(matrix[keep], treated[keep], outcome[keep], folds, propensity[keep], seed, indicators)
    inference = learner.effect_inference(np.eye(len(names)))
    point = np.ravel(inference.point_estimate)
    se = np.ravel(inference.stderr)
    low, high = (np.ravel(bound) for bound in inference.conf_int(alpha=0.05))
    groups = {}
    for index, name in enumerate(names):
        mask = keep & treated & (labels.astype(str) == name)
        risk = float(outcome[mask].mean())
        groups[name] = {
            "n_served": sizes[name],
            "risk_difference": {"value": float(point[index]), "ci": [float(low[index]), float(high[index])]},
            "relative_risk_reduction": effect_interval(
                risk, float(point[index]), (float(low[index]), float(high[index]))
            ).as_dict(),
        }
    precision = 1.0 / np.maximum(se, 1e-12) ** 2
    pooled = float(np.sum(precision * point) / np.sum(precision))
    pooled_se = float(math.sqrt(1.0 / np.sum(precision)))
    q = float(np.sum(precision * (point - pooled) ** 2))
    df = len(names) - 1
    return {
        "groups": groups,
        "pooled_risk_difference": {
            "value": pooled,
            "ci": [pooled - 1.96 * pooled_se, pooled + 1.96 * pooled_se],
        },
        "heterogeneity": {
            "cochran_q": q,
            "df": df,
            "p_value": float(stats.chi2.sf(q, df)),
            "i_squared": float(max(0.0, (q - df) / q)) if q > 0 else 0.0,
        },
    }
