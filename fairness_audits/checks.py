"""Which differences matter, and the promotion gate.

Two questions are answered apart (Kleinberg, Mullainathan and Raghavan 2016;
Chouldechova 2017 show that calibration within groups and equal recall cannot
both hold when base rates differ):

1. *Does the score mean the same thing for every group?* That is the gate.
   For each group of each group column (intersections are reported, never
   gated):

   * ``calibration``: calibration-in-the-large (observed / predicted, 1 is
     perfect; band ``tolerance``) and the calibration slope (a logistic fit of
     the outcome on the score's logit inside the group; 1 is perfect; band
     ``tolerance``);
   * ``auc``: discrimination above chance, ``(AUC_group - 0.5) /
     (AUC_pooled - 0.5)``, flagged only when below ``discrimination_floor``.
     ``AUC_pooled`` is the within-group AUC of the whole column (every
     within-group pair of a positive and a negative, pooled): the population's
     own AUC also counts the separation *between* groups with different base
     rates, which no ranking within a group can match, so a perfect score
     would fail against it;
   * ``recall``: recall at capacity against the current champion on the same
     rows ("no worse than today"), flagged only when too low, and only when a
     champion is given.

   Each check has one measure, a 95% interval and a one-sided p-value for "the
   true value lies outside the band". The p-values of one audit are adjusted
   together (Benjamini-Hochberg), and a check is flagged when its adjusted
   p-value is below the false discovery rate.

2. *How are scarce places shared?* That is an allocation policy, a
   programme manager's decision (:mod:`fairness_audits.allocation`). Recall
   and selection-rate differences between groups are reported as
   consequences of that policy, never gated.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
from scipy import stats

from fairness_audits.metrics import DISPARITY_METRICS, FloatArray, safe_divide
from fairness_audits.result import CheckStatus, Disparity, Estimate, GateCheck

BoolArray = npt.NDArray[np.bool_]

PERCENTILES = (2.5, 97.5)
Z_95 = float(stats.norm.ppf(0.975))
WILSON_BELOW = 40
"""Proportions whose denominator is smaller get Wilson's score interval instead of the bootstrap's,
which collapses at 0% and 100% (5 positives, all selected: an interval of exactly 100%)."""
SLOPE_ITERATIONS = 30
MAX_SLOPE = 50.0
MAX_SLOPE_SE = 10.0
"""A slope larger than MAX_SLOPE or less certain than MAX_SLOPE_SE is a fit that did not converge
(separation: the group's outcomes split perfectly on the score): undefined, not judged."""
LOGIT_CLIP = 1e-6

DISCRIMINATION_FLOOR = 0.8
"""A group's discrimination above chance may not fall below this share of the groups' pooled one."""

GATE_CHECKS = ("calibration", "auc", "recall")
"""The ``check`` of a gate finding."""
GATE_MEASURES: Mapping[str, str] = {
    "calibration_in_the_large": "calibration",
    "calibration_slope": "calibration",
    "auc_above_chance": "auc",
    "recall_vs_champion": "recall",
}
"""Every gated measure and the check it belongs to."""


def interval(replicates: FloatArray) -> tuple[FloatArray, FloatArray]:
    """95% percentile interval along the first axis, ignoring undefined replicates.

    NaN where no replicate is defined.
    """
    defined = np.isfinite(replicates)
    if defined.all():
        lower, upper = np.percentile(replicates, PERCENTILES, axis=0)
        return lower, upper
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lower, upper = np.nanpercentile(np.where(defined, replicates, np.nan), PERCENTILES, axis=0)
    return lower, upper


def estimates(point: FloatArray, replicates: FloatArray) -> list[Estimate]:
    """One :class:`Estimate` per group from point values (G,) and replicates (R, G)."""
    lower, upper = interval(replicates)
    return [
        Estimate(float(value), (float(low), float(high)))
        for value, low, high in zip(point, lower, upper, strict=True)
    ]


def wilson(successes: float, trials: float) -> tuple[float, float]:
    """Wilson's 95% score interval for a proportion; NaN for no trials."""
    if trials <= 0:
        return (float("nan"), float("nan"))
    share = successes / trials
    denominator = 1 + Z_95**2 / trials
    centre = (share + Z_95**2 / (2 * trials)) / denominator
    half = Z_95 * np.sqrt(share * (1 - share) / trials + Z_95**2 / (4 * trials**2)) / denominator
    lower = 0.0 if successes <= 0 else min(share, max(0.0, centre - half))
    upper = 1.0 if successes >= trials else max(share, min(1.0, centre + half))
    return (float(lower), float(upper))


def disparities(
    point: Mapping[str, FloatArray],
    replicates: Mapping[str, FloatArray],
    *,
    reference_point: Mapping[str, FloatArray],
    reference_replicates: Mapping[str, FloatArray],
    reference: int | None,
    sufficient: BoolArray,
    tolerance: tuple[float, float],
) -> list[dict[str, Disparity]]:
    """Ratio and difference of each metric to the reference, per group (reported, never gated).

    The reference is the whole population (``reference`` None) or one group of
    the partition. Intervals come from the same resamples for the group and the
    reference (paired), so they account for the uncertainty of both.
    """
    n_groups = len(sufficient)
    results: list[dict[str, Disparity]] = [{} for _ in range(n_groups)]
    for metric in DISPARITY_METRICS:
        values, samples = point[metric], replicates[metric]
        base, base_samples = reference_point[metric], reference_replicates[metric]
        ratios = estimates(safe_divide(values, base), safe_divide(samples, base_samples))
        differences = estimates(values - base, samples - base_samples)
        for group in range(n_groups):
            ratio = ratios[group]
            status: CheckStatus
            if group == reference:
                status = "reference"
            elif not sufficient[group]:
                status = "insufficient_data"
            else:
                status = _band_status(ratio, tolerance)
            results[group][metric] = Disparity(ratio=ratio, difference=differences[group], status=status)
    return results


def gate_checks(
    point: Mapping[str, FloatArray],
    replicates: Mapping[str, FloatArray],
    *,
    pooled_auc: tuple[FloatArray, FloatArray],
    slopes: tuple[FloatArray, FloatArray],
    sufficient: BoolArray,
    tolerance: tuple[float, float],
    calibration: bool,
    champion: bool,
    discrimination_floor: float = DISCRIMINATION_FLOOR,
) -> list[dict[str, GateCheck]]:
    """The gated measures of every group, with raw p-values (adjusted later, across the audit)."""
    low, high = tolerance
    n_groups = len(sufficient)
    measures: dict[str, tuple[FloatArray, FloatArray | None, tuple[float, float], bool]] = {}
    if calibration:
        measures["calibration_in_the_large"] = (
            point["calibration_in_the_large"],
            replicates["calibration_in_the_large"],
            (low, high),
            True,
        )
    pooled, pooled_samples = pooled_auc
    gini = safe_divide(point["roc_auc"] - 0.5, pooled - 0.5)
    gini_samples = safe_divide(replicates["roc_auc"] - 0.5, pooled_samples[:, np.newaxis] - 0.5)
    measures["auc_above_chance"] = (gini, gini_samples, (discrimination_floor, np.inf), False)
    if champion:
        measures["recall_vs_champion"] = (
            safe_divide(point["tpr"], point["baseline_recall"]),
            safe_divide(replicates["tpr"], replicates["baseline_recall"]),
            (low, np.inf),
            True,
        )
    results: list[dict[str, GateCheck]] = [{} for _ in range(n_groups)]
    for name, (values, samples, limits, log_scale) in measures.items():
        assert samples is not None
        intervals = estimates(values, samples)
        for group in range(n_groups):
            estimate = intervals[group]
            results[group][name] = _check(
                name,
                estimate,
                limits,
                sufficient[group],
                _bootstrap_p_value(float(values[group]), samples[:, group], limits, log_scale=log_scale),
            )
    if calibration:
        slope, slope_se = slopes
        for group in range(n_groups):
            value, se = float(slope[group]), float(slope_se[group])
            estimate = Estimate(value, (value - Z_95 * se, value + Z_95 * se))
            results[group]["calibration_slope"] = _check(
                "calibration_slope",
                estimate,
                (low, high),
                sufficient[group],
                _normal_p_value(value, se, (low, high)),
            )
    order = list(GATE_MEASURES)
    return [dict(sorted(checks.items(), key=lambda item: order.index(item[0]))) for checks in results]


def calibration_slopes(
    row_group: npt.NDArray[np.intp], n_groups: int, score: FloatArray, label: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Calibration slope and its standard error per group (logistic fit of y on logit(score)).

    Newton-Raphson on all groups at once; the standard error is Wald's, from
    the inverse information. NaN where the fit is not defined (one class, or
    separation).
    """
    x = np.log(np.clip(score, LOGIT_CLIP, 1 - LOGIT_CLIP) / (1 - np.clip(score, LOGIT_CLIP, 1 - LOGIT_CLIP)))
    y = label.astype(np.float64)
    intercept = np.zeros(n_groups)
    slope = np.ones(n_groups)
    info = np.zeros((n_groups, 3))

    def sums(weights: FloatArray) -> FloatArray:
        return np.bincount(row_group, weights=weights, minlength=n_groups).astype(np.float64)

    for _ in range(SLOPE_ITERATIONS):
        # a separated group's slope runs off to infinity; the clip keeps eta finite, and the group is
        # reported as undefined below (|slope| > MAX_SLOPE), so the overflow on the way is expected
        with np.errstate(over="ignore", invalid="ignore"):
            eta = np.clip(intercept[row_group] + slope[row_group] * x, -30, 30)
        mu = 1 / (1 + np.exp(-eta))
        w = mu * (1 - mu)
        residual = y - mu
        g_a, g_b = sums(residual), sums(residual * x)
        info = np.column_stack([sums(w), sums(w * x), sums(w * x * x)])
        det = info[:, 0] * info[:, 2] - info[:, 1] ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            step_a = (info[:, 2] * g_a - info[:, 1] * g_b) / det
            step_b = (info[:, 0] * g_b - info[:, 1] * g_a) / det
        step_a, step_b = np.nan_to_num(step_a), np.nan_to_num(step_b)
        intercept += step_a
        slope += step_b
        if np.all(np.abs(step_b) < 1e-10):
            break
    det = info[:, 0] * info[:, 2] - info[:, 1] ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(info[:, 0] / det)
    positives = sums(y)
    one_class = (positives == 0) | (positives == sums(np.ones_like(y)))
    separated = ~np.isfinite(se) | (det <= 0) | (np.abs(slope) > MAX_SLOPE) | (se > MAX_SLOPE_SE)
    undefined = one_class | separated
    return np.where(undefined, np.nan, slope), np.where(undefined, np.nan, se)


def adjust(p_values: FloatArray) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (false discovery rate across one audit's checks)."""
    if len(p_values) == 0:
        return p_values
    adjusted = stats.false_discovery_control(np.clip(p_values, 0.0, 1.0), method="bh")
    return np.asarray(adjusted, dtype=np.float64)


def _check(
    measure: str, estimate: Estimate, limits: tuple[float, float], sufficient: bool, p_value: float
) -> GateCheck:
    status: CheckStatus
    if not sufficient:
        status = "insufficient_data"
    elif not np.isfinite(estimate.value) or not np.isfinite(p_value):
        status = "undefined"
    else:
        status = "ok"  # flagged or not once the p-values of the whole audit are adjusted
    return GateCheck(
        check=GATE_MEASURES[measure],
        measure=measure,
        estimate=estimate,
        limits=limits,
        p_value=p_value,
        p_adjusted=float("nan"),
        status=status,
    )


def _bootstrap_p_value(
    value: float, samples: FloatArray, limits: tuple[float, float], *, log_scale: bool
) -> float:
    """One-sided p-value that the true value lies inside ``limits``, from the bootstrap spread.

    The spread is the standard deviation of the replicates, on the log scale for
    ratios (where they are symmetric), and the test is against the nearer edge
    of the band: the least favourable value of the null hypothesis.
    """
    finite = samples[np.isfinite(samples)]
    if not np.isfinite(value) or len(finite) < 2:
        return float("nan")
    low, high = limits
    if log_scale and value > 0 and np.all(finite > 0):
        return _normal_p_value(
            float(np.log(value)),
            float(np.std(np.log(finite), ddof=1)),
            (float(np.log(low)), float(np.log(high)) if np.isfinite(high) else np.inf),
        )
    return _normal_p_value(value, float(np.std(finite, ddof=1)), (low, high))


def _normal_p_value(value: float, se: float, limits: tuple[float, float]) -> float:
    """P(a value this far outside the band | the truth is at the nearer edge), normal errors."""
    if not (np.isfinite(value) and np.isfinite(se)):
        return float("nan")
    low, high = limits
    if se <= 0:
        return 0.0 if (value < low or value > high) else 1.0
    below = stats.norm.cdf((value - low) / se) if np.isfinite(low) else 1.0
    above = stats.norm.sf((value - high) / se) if np.isfinite(high) else 1.0
    return float(min(below, above, 1.0))


def _band_status(estimate: Estimate, limits: tuple[float, float]) -> CheckStatus:
    lower, upper = estimate.ci
    if not (np.isfinite(lower) and np.isfinite(upper) and np.isfinite(estimate.value)):
        return "undefined"
    if lower > limits[1] or upper < limits[0]:
        return "flagged"
    return "ok"
