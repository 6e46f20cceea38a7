"""Group metrics from sufficient statistics.

Every metric of the audit is a function of a few sums per group (the
confusion counts, the Mann-Whitney numerator of the ROC AUC, two calibration
sums and, when a baseline model is compared, the baseline's true positives).
The same formulas turn the sums of the observed table into point estimates
and the sums of each bootstrap resample into its replicate, so an interval is
always about exactly the number shown beside it.

Vocabulary: a *positive* is a young person whose outcome shows a support need
(label 1); *selected* means the decision rule would refer them.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# Index of each sufficient statistic along the last axis.
TP, FP, FN, TN, AUC_U, CALIBRATION_GAP, CALIBRATION_ABS_GAP, BASELINE_TP = range(8)
N_STATISTICS: Final = 8

ECE_BINS: Final = 10
"""ECE uses 10 equal-width bins on [0, 1]: fixed edges, comparable across groups."""

METRICS: Final[tuple[str, ...]] = (
    "prevalence",
    "selection_rate",
    "tpr",
    "fnr",
    "fpr",
    "ppv",
    "fdr",
    "for",
    "npv",
    "roc_auc",
    "ece",
    "calibration_in_the_large",
    "baseline_recall",
)
"""Metrics reported for every group, in report order (``baseline_recall``: NaN without a baseline)."""

PROPORTIONS: Final[dict[str, tuple[str, str]]] = {
    "prevalence": ("positives", "n"),
    "selection_rate": ("selected", "n"),
    "tpr": ("tp", "positives"),
    "fnr": ("fn", "positives"),
    "fpr": ("fp", "negatives"),
    "ppv": ("tp", "selected"),
    "fdr": ("fp", "selected"),
    "for": ("fn", "not_selected"),
    "npv": ("tn", "not_selected"),
}
"""Metrics that are a count over a count: their intervals can use Wilson's score interval."""

CALIBRATION_METRICS: Final[tuple[str, ...]] = ("ece", "calibration_in_the_large")
"""Metrics defined only when scores are probabilities in [0, 1]."""

DISPARITY_METRICS: Final[tuple[str, ...]] = (
    "fnr",
    "tpr",
    "selection_rate",
    "fpr",
    "ppv",
    "fdr",
    "for",
    "npv",
    "roc_auc",
)
"""Metrics compared with the reference group as a ratio and a difference."""


def compute_metrics(statistics: FloatArray, *, calibration: bool) -> dict[str, FloatArray]:
    """Every metric of :data:`METRICS` from sufficient statistics.

    Parameters
    ----------
    statistics : ndarray of shape (..., N_STATISTICS)
        Sums per group (and per resample, if a leading axis is present).
    calibration : bool
        Whether scores are probabilities; if not, calibration metrics are NaN.

    Returns
    -------
    dict of str to ndarray of shape (...)
        NaN wherever a metric is undefined (e.g. FPR of a group with no negatives).
    """
    tp, fp, fn, tn = (statistics[..., index] for index in (TP, FP, FN, TN))
    n = tp + fp + fn + tn
    positives = tp + fn
    negatives = fp + tn
    selected = tp + fp
    not_selected = fn + tn
    undefined = np.full(n.shape, np.nan)
    if calibration:
        predicted = positives - statistics[..., CALIBRATION_GAP]
        ece = safe_divide(statistics[..., CALIBRATION_ABS_GAP], n)
        in_the_large = safe_divide(positives, predicted)
    else:
        ece = in_the_large = undefined
    return {
        "prevalence": safe_divide(positives, n),
        "selection_rate": safe_divide(selected, n),
        "tpr": safe_divide(tp, positives),
        "fnr": safe_divide(fn, positives),
        "fpr": safe_divide(fp, negatives),
        "ppv": safe_divide(tp, selected),
        "fdr": safe_divide(fp, selected),
        "for": safe_divide(fn, not_selected),
        "npv": safe_divide(tn, not_selected),
        "roc_auc": safe_divide(statistics[..., AUC_U], positives * negatives),
        "ece": ece,
        "calibration_in_the_large": in_the_large,
        "baseline_recall": safe_divide(statistics[..., BASELINE_TP], positives),
    }


def safe_divide(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    """Elementwise ratio, NaN where the denominator is zero."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out
