"""The fairness audit: group metrics with intervals, disparities, checks and the gate."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from fairness_audits.bootstrap import SufficientStatistics, compress
from fairness_audits.checks import calibration_checks, disparities, estimates, gate
from fairness_audits.groups import Partition, build_partitions, resolve_references
from fairness_audits.inputs import prepare
from fairness_audits.metrics import FN, FP, METRICS, TN, TP, FloatArray, compute_metrics
from fairness_audits.result import AuditResult, CurvePoint, GroupResult, ScoreHistogram
from fairness_audits.rules import Rule
from previ.errors import PreviError

DEFAULT_TOLERANCE = (0.8, 1.25)
MIN_RESAMPLES = 100

TOLERANCE_INVALID = "tolerance must be two numbers LOW,HIGH with 0 < LOW < 1 < HIGH; got {tolerance}"
RESAMPLES_INVALID = "resamples must be a whole number of at least {minimum}; got {resamples}"
MINIMUM_INVALID = "{name} must be a whole number of at least 1; got {value}"
MAX_ECE_INVALID = "max_ece must be a number in (0, 1); got {max_ece}"

_CURVE_BINS = 10
_HISTOGRAM_BINS = 20


def audit(
    frame: pd.DataFrame,
    *,
    label: str,
    score: str,
    groups: Sequence[str],
    rule: Rule,
    positive: str | None = None,
    reference: Mapping[str, str] | None = None,
    tolerance: tuple[float, float] = DEFAULT_TOLERANCE,
    min_n: int = 30,
    min_positives: int = 5,
    max_ece: float = 0.1,
    resamples: int = 1000,
    seed: int = 0,
) -> AuditResult:
    """Audit a score and decision rule for every group, intersection and the whole table.

    Parameters
    ----------
    frame : DataFrame
        One row per young person (or per person and date).
    label : str
        Column of the observed outcome: 1 (or ``positive``) means a support need.
        0/1, true/false, or two text values with ``positive``. Blanks are an error.
    score : str
        Column of the score. Higher means more need. Calibration is judged only
        when every score is a probability in [0, 1]; otherwise it is reported
        as not applicable.
    groups : sequence of str
        Group columns. Every pair is also audited as an intersection (``a*b``),
        and the full intersection when there are three or more.
    rule : Threshold or TopK
        Who would be referred: ``Threshold(t)`` selects scores >= t,
        ``TopK(k)`` the k highest scores of the whole table.
    positive : str, optional
        The label value that means a support need, for text labels (e.g. "Sí").
    reference : mapping of str to str, optional
        Reference group per column or intersection (``{"race": "Caucasian"}``);
        default: the largest group of each.
    tolerance : (float, float), default (0.8, 1.25)
        Band of acceptable ratios; a check is flagged when its whole 95%
        interval lies outside.
    min_n, min_positives : int, default 30 and 5
        Smaller groups are "insufficient_data": reported, never judged.
    max_ece : float, default 0.1
        ECE is flagged when its whole interval lies above this value.
    resamples : int, default 1000
        Bootstrap resamples for the 95% intervals.
    seed : int, default 0
        Seeds the bootstrap and the tie-break of ``TopK``: same seed, same result.

    Returns
    -------
    AuditResult

    Raises
    ------
    PreviError
        For a missing or malformed column, or an option out of range.
    """
    _check_options(tolerance=tolerance, min_n=min_n, min_positives=min_positives, max_ece=max_ece)
    _check_resamples(resamples)
    groups = [groups] if isinstance(groups, str) else list(groups)
    table = prepare(frame, label=label, score=score, groups=groups, positive=positive)
    tie_seed, bootstrap_seed = np.random.SeedSequence(seed).spawn(2)
    selected = rule.select(table.score, seed=int(tie_seed.generate_state(1)[0]))
    row_cell, partitions = build_partitions(table.group_labels)
    references = resolve_references(partitions, dict(reference or {}))
    calibration = bool(np.all((table.score >= 0) & (table.score <= 1)))
    statistics = SufficientStatistics(
        compress(row_cell, table.score, table.label, selected), partitions, calibration=calibration
    )
    points = statistics.point()
    replicates = statistics.bootstrap(resamples, int(bootstrap_seed.generate_state(1)[0]))
    settings = _Settings(tolerance, min_n, min_positives, max_ece, calibration)
    results: list[GroupResult] = []
    for partition, point, replicate in zip(partitions, points, replicates, strict=True):
        row_group = partition.cell_group[row_cell]
        curves = (
            _calibration_curves(row_group, partition.sizes, table.score, table.label) if calibration else None
        )
        results.extend(
            _partition_results(
                partition, point, replicate, references.get(partition.column), settings, curves
            )
        )
    overall, group_results = results[0], tuple(results[1:])
    return AuditResult(
        label=label,
        score=score,
        group_columns=tuple(groups),
        positive=positive,
        rule=rule,
        selection=_selection_details(table.score, selected),
        reference=references,
        tolerance=(float(tolerance[0]), float(tolerance[1])),
        max_ece=float(max_ece),
        min_n=min_n,
        min_positives=min_positives,
        resamples=resamples,
        seed=seed,
        calibration_applicable=calibration,
        score_range=(float(table.score.min()), float(table.score.max())),
        overall=overall,
        groups=group_results,
        gate=gate(group_results, tolerance),
        histograms=tuple(
            _histogram(partition, partition.cell_group[row_cell], table.score, calibration)
            for partition in partitions
            if partition.column in groups
        ),
    )


@dataclass(frozen=True)
class _Settings:
    tolerance: tuple[float, float]
    min_n: int
    min_positives: int
    max_ece: float
    calibration: bool


def _partition_results(
    partition: Partition,
    point_statistics: FloatArray,
    replicate_statistics: FloatArray,
    reference_value: str | None,
    settings: _Settings,
    curves: list[tuple[CurvePoint, ...]] | None,
) -> list[GroupResult]:
    point = compute_metrics(point_statistics, calibration=settings.calibration)
    replicates = compute_metrics(replicate_statistics, calibration=settings.calibration)
    counts = np.rint(point_statistics[:, [TP, FP, FN, TN]]).astype(np.int64)
    sufficient = (partition.sizes >= settings.min_n) & (counts[:, 0] + counts[:, 2] >= settings.min_positives)
    metric_estimates = {metric: estimates(point[metric], replicates[metric]) for metric in METRICS}
    n_groups = len(partition.values)
    reference = None if reference_value is None else partition.values.index(reference_value)
    group_disparities = (
        [{} for _ in range(n_groups)]
        if reference is None
        else disparities(
            point, replicates, reference=reference, sufficient=sufficient, tolerance=settings.tolerance
        )
    )
    checks = calibration_checks(
        point,
        replicates,
        sufficient=sufficient,
        tolerance=settings.tolerance,
        max_ece=settings.max_ece,
        applicable=settings.calibration,
    )
    return [
        GroupResult(
            column=partition.column,
            value=value,
            n=int(partition.sizes[index]),
            counts=dict(zip(("tp", "fp", "fn", "tn"), (int(c) for c in counts[index]), strict=True)),
            status="ok" if sufficient[index] else "insufficient_data",
            is_reference=index == reference,
            metrics={metric: metric_estimates[metric][index] for metric in METRICS},
            disparity=group_disparities[index],
            calibration=checks[index],
            calibration_curve=() if curves is None else curves[index],
        )
        for index, value in enumerate(partition.values)
    ]


def _calibration_curves(
    row_group: npt.NDArray[np.intp],
    sizes: npt.NDArray[np.intp],
    score: FloatArray,
    label: npt.NDArray[np.bool_],
) -> list[tuple[CurvePoint, ...]]:
    """Observed rate against mean score by decile of each group's scores (equal-count bins)."""
    order = np.lexsort((score, row_group))
    sorted_group = row_group[order]
    starts = np.cumsum(sizes) - sizes
    rank = np.arange(len(order)) - starts[sorted_group]
    key = sorted_group * _CURVE_BINS + (rank * _CURVE_BINS) // sizes[sorted_group]
    length = len(sizes) * _CURVE_BINS
    count = np.bincount(key, minlength=length).reshape(-1, _CURVE_BINS)
    predicted = np.bincount(key, weights=score[order], minlength=length).reshape(-1, _CURVE_BINS)
    observed = np.bincount(key, weights=label[order], minlength=length).reshape(-1, _CURVE_BINS)
    return [
        tuple(
            CurvePoint(
                float(predicted[g, b] / count[g, b]), float(observed[g, b] / count[g, b]), int(count[g, b])
            )
            for b in range(_CURVE_BINS)
            if count[g, b]
        )
        for g in range(len(sizes))
    ]


def _histogram(
    partition: Partition, row_group: npt.NDArray[np.intp], score: FloatArray, calibration: bool
) -> ScoreHistogram:
    """Counts of scores per bin and group: integer bins for few whole-number scores, else 20 bins."""
    low, high = float(score.min()), float(score.max())
    distinct = np.unique(score)
    discrete = len(distinct) <= 30 and bool(np.all(np.mod(distinct, 1) == 0))
    if discrete:
        edges = np.arange(low - 0.5, high + 1.0)
    elif calibration:
        edges = np.linspace(0.0, 1.0, _HISTOGRAM_BINS + 1)
    else:
        edges = np.linspace(low, high if high > low else low + 1.0, _HISTOGRAM_BINS + 1)
    n_bins = len(edges) - 1
    bins = np.clip(np.searchsorted(edges, score, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(row_group * n_bins + bins, minlength=len(partition.values) * n_bins)
    counts = counts.reshape(-1, n_bins)
    return ScoreHistogram(
        column=partition.column,
        edges=tuple(float(edge) for edge in edges),
        counts={value: tuple(int(c) for c in counts[g]) for g, value in enumerate(partition.values)},
        discrete=discrete,
    )


def _selection_details(score: FloatArray, selected: npt.NDArray[np.bool_]) -> dict[str, object]:
    """How many the rule selects, the lowest selected score and ties left out at that score."""
    cutoff = float(score[selected].min()) if selected.any() else None
    tied_out = int(np.sum((score == cutoff) & ~selected)) if cutoff is not None else 0
    return {
        "selected": int(selected.sum()),
        "selection_rate": float(selected.mean()),
        "cutoff_score": cutoff,
        "tied_not_selected": tied_out,
    }


def _check_options(*, tolerance: tuple[float, float], min_n: int, min_positives: int, max_ece: float) -> None:
    problems = []
    try:
        low, high = (float(bound) for bound in tolerance)
        valid = 0 < low < 1 < high and math.isfinite(high)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        problems.append(TOLERANCE_INVALID.format(tolerance=tolerance))
    for name, value in (("min_n", min_n), ("min_positives", min_positives)):
        if not isinstance(value, int) or value < 1:
            problems.append(MINIMUM_INVALID.format(name=name, value=value))
    if not 0 < max_ece < 1:
        problems.append(MAX_ECE_INVALID.format(max_ece=max_ece))
    if problems:
        raise PreviError(*problems)


def _check_resamples(resamples: int) -> None:
    if not isinstance(resamples, int) or resamples < MIN_RESAMPLES:
        raise PreviError(RESAMPLES_INVALID.format(minimum=MIN_RESAMPLES, resamples=resamples))
