"""The variance of the effect on the treated: influence functions, clustered by person, over repeated splits.

econml's final stage reports a heteroskedasticity-robust interval for the
propensity-weighted mean of its doubly robust scores. That interval treats the
weights and the observed risk of the treated as fixed and the rows as
independent, and it belongs to one random split of the cross-fitting. Each of
those leaves some variance out:

* **the propensity behind the weights is estimated.** The weighted score is
  not Neyman-orthogonal in the propensity; to first order its error adds
  (T - p)(tau(X) - ATT) to each row's influence, which turns the weighted score
  into the usual orthogonal score of the effect on the treated (Chernozhukov et
  al. 2018, section 5.1). :func:`att_influence` returns that score's influence
  functions for the treated risk r1 = E[Y | T = 1] and the untreated one
  r0 = E[Y(0) | T = 1], from the learner's own out-of-fold nuisances;
* **the same young person has several rows** (served in one month, a
  comparison in others). :func:`cluster_covariance` sums the influence within a
  person before squaring (a cluster-robust sandwich);
* **the split is random.** With two folds the nuisance models see half the
  data and the estimate moves with the split (on the synthetic worlds, a
  standard deviation of 0.4 to 0.9 of the reported standard error for a
  programme of 700-1,300 served). :func:`aggregate` averages repeated splits and
  adds their spread to the variance, as DML's mean aggregation does
  (Chernozhukov et al. 2018, definition 3.3 and remark 3.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class SplitEstimate:
    """One cross-fitting split: the risk difference and log risk ratio with their variances."""

    difference: float
    difference_variance: float
    log_ratio: float  # log(r1 / r0); NaN when either risk is not positive
    log_ratio_variance: float


def att_influence(
    treated: BoolArray, outcome: FloatArray, untreated_risk: FloatArray, propensity: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Influence functions (one value per row, mean zero) of r1 and of r0 among the treated.

    ``untreated_risk`` is the out-of-fold model of E[Y | X, T = 0] and
    ``propensity`` the out-of-fold P(T = 1 | X), both as the learner used them.
    r0 is estimated by the mean among the treated of the untreated risk, plus
    the comparisons' residuals weighted by the odds p / (1 - p): the orthogonal
    score of the effect on the treated.
    """
    served = treated.astype(float)
    share = served.mean()
    observed = served * outcome
    counterfactual = served * untreated_risk + (1.0 - served) * propensity / (1.0 - propensity) * (
        outcome - untreated_risk
    )
    risk_served = observed.sum() / served.sum()
    risk_untreated = counterfactual.sum() / served.sum()
    return (observed - served * risk_served) / share, (counterfactual - served * risk_untreated) / share


def cluster_covariance(influence: FloatArray, clusters: IntArray) -> FloatArray:
    """Covariance of the means of the ``influence`` columns, rows of one cluster summed first.

    ``influence`` is (rows, k) with mean-zero columns; ``clusters`` are integer
    codes 0..G-1. The factor G / (G - 1) is the usual small-sample correction.
    """
    rows, columns = influence.shape
    count = int(clusters.max()) + 1
    sums = np.zeros((count, columns))
    np.add.at(sums, clusters, influence)
    scale = count / max(count - 1, 1) / rows**2
    return np.asarray(sums.T @ sums * scale, dtype=float)


def split_estimate(
    difference: float,
    treated: BoolArray,
    outcome: FloatArray,
    untreated_risk: FloatArray,
    propensity: FloatArray,
    clusters: IntArray,
) -> SplitEstimate:
    """The learner's ``difference`` with the variances of its influence functions, clustered."""
    served_influence, untreated_influence = att_influence(treated, outcome, untreated_risk, propensity)
    covariance = cluster_covariance(np.column_stack([served_influence, untreated_influence]), clusters)
    difference_variance = float(covariance[0, 0] + covariance[1, 1] - 2.0 * covariance[0, 1])
    risk_served = float(outcome[treated].mean())
    risk_untreated = risk_served - difference
    if risk_served <= 0 or risk_untreated <= 0:
        return SplitEstimate(difference, difference_variance, float("nan"), float("nan"))
    gradient = np.array([1.0 / risk_served, -1.0 / risk_untreated])
    return SplitEstimate(
        difference,
        difference_variance,
        float(np.log(risk_served / risk_untreated)),
        float(gradient @ covariance @ gradient),
    )


def aggregate(values: FloatArray, variances: FloatArray) -> tuple[float, float]:
    """Mean over splits and its variance: the mean within-split variance plus the splits' spread."""
    centre = float(np.mean(values))
    return centre, float(np.mean(variances + (values - centre) ** 2))
