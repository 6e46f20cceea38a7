"""Which differences matter, and the gate.

Referrals are support, so the main harm is *missing* a young person who needs
it. The primary checks are therefore

* recall parity: the ratio of each group's FNR, and of its TPR, to the
  reference group's (paired on the same resamples);
* calibration within each group: calibration-in-the-large (observed rate /
  mean score, 1 is perfect) and the expected calibration error.

A check is *flagged* only when the whole 95% interval lies outside the
tolerance band (or, for ECE, above ``max_ece``): a difference the data cannot
tell from noise is not flagged. Groups with too little data are never "ok" and
never flagged: their checks are "insufficient_data" and the gate lists them.
Selection-rate, FPR and the other disparities are reported but do not gate.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

from fairness_audits.metrics import DISPARITY_METRICS, PRIMARY_PARITY, FloatArray, safe_divide
from fairness_audits.result import (
    CalibrationCheck,
    CheckStatus,
    Disparity,
    Estimate,
    Finding,
    Gate,
    GroupResult,
)

BoolArray = npt.NDArray[np.bool_]

PERCENTILES = (2.5, 97.5)
PRIMARY_CHECKS = ("fnr", "tpr", "calibration_in_the_large", "ece")
"""Names of the gating checks, as keys of ``disparity`` (fnr, tpr) or ``calibration``."""


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


def disparities(
    point: Mapping[str, FloatArray],
    replicates: Mapping[str, FloatArray],
    *,
    reference: int,
    sufficient: BoolArray,
    tolerance: tuple[float, float],
) -> list[dict[str, Disparity]]:
    """Ratio and difference of each metric to the reference group, per group.

    Intervals come from the same resamples for the group and the reference
    (paired), so they account for the uncertainty of both.
    """
    n_groups = len(sufficient)
    results: list[dict[str, Disparity]] = [{} for _ in range(n_groups)]
    for metric in DISPARITY_METRICS:
        values, samples = point[metric], replicates[metric]
        ratios = estimates(
            safe_divide(values, values[reference]), safe_divide(samples, samples[:, [reference]])
        )
        differences = estimates(values - values[reference], samples - samples[:, [reference]])
        for group in range(n_groups):
            ratio = ratios[group]
            if group == reference:
                status: CheckStatus = "reference"
            elif not (sufficient[group] and sufficient[reference]):
                status = "insufficient_data"
            else:
                status = _band_status(ratio, tolerance)
            results[group][metric] = Disparity(
                ratio=ratio,
                difference=differences[group],
                primary=metric in PRIMARY_PARITY,
                status=status,
            )
    return results


def calibration_checks(
    point: Mapping[str, FloatArray],
    replicates: Mapping[str, FloatArray],
    *,
    sufficient: BoolArray,
    tolerance: tuple[float, float],
    max_ece: float,
    applicable: bool,
) -> list[dict[str, CalibrationCheck]]:
    """Calibration-in-the-large within the tolerance band, and ECE below ``max_ece``, per group."""
    in_the_large = estimates(point["calibration_in_the_large"], replicates["calibration_in_the_large"])
    ece = estimates(point["ece"], replicates["ece"])
    results = []
    for group, is_sufficient in enumerate(sufficient):
        checks = {}
        for name, estimate, limits in (
            ("calibration_in_the_large", in_the_large[group], tolerance),
            ("ece", ece[group], (0.0, max_ece)),
        ):
            status: CheckStatus
            if not applicable:
                status = "not_applicable"
            elif not is_sufficient:
                status = "insufficient_data"
            else:
                status = _band_status(estimate, limits)
            checks[name] = CalibrationCheck(estimate=estimate, limits=limits, status=status)
        results.append(checks)
    return results


def gate(groups: Iterable[GroupResult], tolerance: tuple[float, float]) -> Gate:
    """Collect the primary checks of every group: flagged ones fail the gate, unjudged ones are listed."""
    flagged, not_judged = [], []
    for group in groups:
        for check in PRIMARY_CHECKS:
            if check in group.disparity:
                disparity = group.disparity[check]
                status, estimate, limits = disparity.status, disparity.ratio, tolerance
            else:
                calibration = group.calibration[check]
                status, estimate, limits = calibration.status, calibration.estimate, calibration.limits
            finding = Finding(group.column, group.value, check, status, estimate, limits)
            if status == "flagged":
                flagged.append(finding)
            elif status in ("insufficient_data", "undefined"):
                not_judged.append(finding)
    return Gate(flagged=tuple(flagged), not_judged=tuple(not_judged))


def _band_status(estimate: Estimate, limits: tuple[float, float]) -> CheckStatus:
    lower, upper = estimate.ci
    if not (np.isfinite(lower) and np.isfinite(upper) and np.isfinite(estimate.value)):
        return "undefined"
    if lower > limits[1] or upper < limits[0]:
        return "flagged"
    return "ok"
