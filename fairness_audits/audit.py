"""The fairness audit: group metrics with intervals, disparities, checks and the gate."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from fairness_audits.allocation import check_groups, compare_policies
from fairness_audits.bootstrap import ResampledTopK, SufficientStatistics, compress
from fairness_audits.checks import (
    DISCRIMINATION_FLOOR,
    WILSON_BELOW,
    adjust,
    calibration_slopes,
    disparities,
    estimates,
    gate_checks,
    wilson,
)
from fairness_audits.groups import OVERALL, Partition, build_partitions, resolve_references
from fairness_audits.inputs import prepare
from fairness_audits.metrics import (
    AUC_U,
    FN,
    FP,
    METRICS,
    PROPORTIONS,
    TN,
    TP,
    FloatArray,
    compute_metrics,
    safe_divide,
)
from fairness_audits.result import (
    AllocationComparison,
    AuditResult,
    CheckStatus,
    CurvePoint,
    Disparity,
    Estimate,
    Finding,
    Gate,
    GateCheck,
    GroupResult,
    ScoreHistogram,
)
from fairness_audits.rules import Rule, TopK
from previ.errors import PreviError

DEFAULT_TOLERANCE = (0.8, 1.25)
DEFAULT_FDR = 0.05
MIN_RESAMPLES = 100

TOLERANCE_INVALID = "tolerance must be two numbers LOW,HIGH with 0 < LOW < 1 < HIGH; got {tolerance}"
RESAMPLES_INVALID = "resamples must be a whole number of at least {minimum}; got {resamples}"
MINIMUM_INVALID = "{name} must be a whole number of at least 1; got {value}"
MAX_ECE_INVALID = "max_ece must be a number in (0, 1); got {max_ece}"
FDR_INVALID = "false_discovery_rate must be a number in (0, 1); got {fdr}"

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
    rank_by: str | None = None,
    champion: str | None = None,
    champion_name: str | None = None,
    allocation_groups: Sequence[str] | None = None,
    tolerance: tuple[float, float] = DEFAULT_TOLERANCE,
    discrimination_floor: float = DISCRIMINATION_FLOOR,
    min_n: int = 30,
    min_positives: int = 5,
    max_ece: float = 0.1,
    false_discovery_rate: float = DEFAULT_FDR,
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
        Group columns. Each is gated; every pair (and the full intersection of
        three or more) is reported when each of its cells holds ``min_n``
        people, and never gated.
    rule : Threshold or TopK
        Who would be referred: ``Threshold(t)`` selects scores >= t,
        ``TopK(k)`` the k highest scores of the whole table (re-selected
        inside every resample).
    positive : str, optional
        The label value that means a support need, for text labels (e.g. "Sí").
    rank_by : str, optional
        Column whose order decides a ``TopK`` selection when it differs from
        the score (default: the score itself).
    reference : mapping of str to str, optional
        Compare the reported disparities of a column with one of its groups
        (``{"race": "Caucasian"}``) instead of with the whole population.
        The gate always compares with the whole population.
    champion : str, optional
        Column of the current champion's score on the same rows: recall at
        capacity is then gated as "no worse than today", group by group.
    champion_name : str, optional
        How to name the champion in the report (e.g. its version).
    allocation_groups : sequence of str, optional
        Columns to equalise recall across in the policy comparison (top-k
        rules on probabilities only); default: each group column on its own.
    tolerance : (float, float), default (0.8, 1.25)
        Band of acceptable ratios (and calibration slopes).
    discrimination_floor : float, default 0.8
        A group's discrimination above chance, relative to the pooled
        within-group discrimination of its column, may not fall below this.
    min_n, min_positives : int, default 30 and 5
        Smaller groups are "insufficient_data": reported, never judged.
    max_ece : float, default 0.1
        Reported against the ECE of each group (ECE does not gate).
    false_discovery_rate : float, default 0.05
        A check is flagged when its Benjamini-Hochberg adjusted p-value is below this.
    resamples : int, default 1000
        Bootstrap resamples for the 95% intervals.
    seed : int, default 0
        Seeds the bootstrap and the tie-break of ``TopK`` (the same tie-break as
        training's evaluation): same seed, same result.

    Returns
    -------
    AuditResult

    Raises
    ------
    PreviError
        For a missing or malformed column, or an option out of range.
    """
    _check_options(
        tolerance=tolerance,
        min_n=min_n,
        min_positives=min_positives,
        max_ece=max_ece,
        fdr=false_discovery_rate,
    )
    _check_resamples(resamples)
    groups = [groups] if isinstance(groups, str) else list(groups)
    if allocation_groups:
        check_groups(allocation_groups, [str(column) for column in frame.columns])
    table = prepare(
        frame, label=label, score=score, groups=groups, positive=positive, champion=champion, rank_by=rank_by
    )
    order = table.rank if table.rank is not None else table.score
    selected = rule.select(order, seed=seed)
    champion_selected = rule.select(table.champion, seed=seed) if table.champion is not None else None
    row_cell, all_partitions = build_partitions(table.group_labels)
    partitions, omitted = _reportable(all_partitions, groups, min_n)
    references = resolve_references(partitions, dict(reference or {}))
    calibration = bool(np.all((table.score >= 0) & (table.score <= 1)))
    atoms = compress(
        row_cell,
        table.score,
        table.label,
        selected,
        baseline=table.champion,
        baseline_selected=champion_selected,
    )
    resampled, champion_resampled = None, None
    if isinstance(rule, TopK):
        count = rule.count(len(table.score))
        resampled = ResampledTopK(atoms.rank, count)
        if atoms.baseline is not None:
            champion_resampled = ResampledTopK(atoms.baseline, count)
    statistics = SufficientStatistics(
        atoms,
        partitions,
        calibration=calibration,
        resample_selector=resampled,
        baseline_selector=champion_resampled,
    )
    points = statistics.point()
    replicates = statistics.bootstrap(resamples, seed)
    settings = _Settings(
        tolerance,
        min_n,
        min_positives,
        max_ece,
        calibration,
        table.champion is not None,
        discrimination_floor,
    )
    population = (
        compute_metrics(points[0], calibration=calibration),
        compute_metrics(replicates[0], calibration=calibration),
    )
    results: list[GroupResult] = []
    for partition, point, replicate in zip(partitions, points, replicates, strict=True):
        row_group = partition.cell_group[row_cell]
        curves = (
            _calibration_curves(row_group, partition.sizes, table.score, table.label) if calibration else None
        )
        gated = partition.column in groups
        slopes = (
            calibration_slopes(row_group, len(partition.values), table.score, table.label)
            if gated and calibration
            else None
        )
        results.extend(
            _partition_results(
                partition,
                point,
                replicate,
                population,
                references.get(partition.column),
                settings,
                curves,
                slopes,
                gated=gated,
            )
        )
    overall, group_results = results[0], _adjusted(tuple(results[1:]), false_discovery_rate)
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
        gate=_gate(group_results, false_discovery_rate, champion_name or champion),
        histograms=tuple(
            _histogram(partition, partition.cell_group[row_cell], table.score, calibration)
            for partition in partitions
            if partition.column in groups
        ),
        discrimination_floor=float(discrimination_floor),
        intersections_omitted=omitted,
        allocations=_allocations(frame, table.score, table.label, groups, allocation_groups, rule, seed)
        if isinstance(rule, TopK) and calibration
        else (),
    )


@dataclass(frozen=True)
class _Settings:
    tolerance: tuple[float, float]
    min_n: int
    min_positives: int
    max_ece: float
    calibration: bool
    champion: bool
    discrimination_floor: float


def _reportable(
    partitions: Sequence[Partition], groups: Sequence[str], min_n: int
) -> tuple[list[Partition], tuple[str, ...]]:
    """Every partition but the intersections with a cell smaller than ``min_n`` people."""
    kept, omitted = [], []
    for partition in partitions:
        if partition.column == OVERALL or partition.column in groups or int(partition.sizes.min()) >= min_n:
            kept.append(partition)
        else:
            omitted.append(partition.column)
    return kept, tuple(omitted)


def _partition_results(
    partition: Partition,
    point_statistics: FloatArray,
    replicate_statistics: FloatArray,
    population: tuple[dict[str, FloatArray], dict[str, FloatArray]],
    reference_value: str | None,
    settings: _Settings,
    curves: list[tuple[CurvePoint, ...]] | None,
    slopes: tuple[FloatArray, FloatArray] | None,
    *,
    gated: bool,
) -> list[GroupResult]:
    point = compute_metrics(point_statistics, calibration=settings.calibration)
    replicates = compute_metrics(replicate_statistics, calibration=settings.calibration)
    counts = np.rint(point_statistics[:, [TP, FP, FN, TN]]).astype(np.int64)
    sufficient = (partition.sizes >= settings.min_n) & (counts[:, 0] + counts[:, 2] >= settings.min_positives)
    metric_estimates = {metric: estimates(point[metric], replicates[metric]) for metric in METRICS}
    _wilson_where_few(metric_estimates, counts)
    n_groups = len(partition.values)
    is_overall = partition.column == OVERALL
    reference = None if reference_value is None else partition.values.index(reference_value)
    if is_overall:
        group_disparities: list[dict[str, Disparity]] = [{}]
    else:
        reference_point, reference_replicates = population
        if reference is not None:
            reference_point = {m: v[[reference]] for m, v in point.items()}
            reference_replicates = {m: v[:, [reference]] for m, v in replicates.items()}
        group_disparities = disparities(
            point,
            replicates,
            reference_point=reference_point,
            reference_replicates=reference_replicates,
            reference=reference,
            sufficient=sufficient,
            tolerance=settings.tolerance,
        )
    checks: list[dict[str, GateCheck]] = [{} for _ in range(n_groups)]
    if gated:
        checks = gate_checks(
            point,
            replicates,
            pooled_auc=(_pooled_auc(point_statistics[np.newaxis])[0], _pooled_auc(replicate_statistics)),
            slopes=slopes if slopes is not None else (np.full(n_groups, np.nan), np.full(n_groups, np.nan)),
            sufficient=sufficient,
            tolerance=settings.tolerance,
            calibration=settings.calibration,
            champion=settings.champion,
            discrimination_floor=settings.discrimination_floor,
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
            checks=checks[index],
            calibration_curve=() if curves is None else curves[index],
        )
        for index, value in enumerate(partition.values)
    ]


def _pooled_auc(statistics: FloatArray) -> FloatArray:
    """Within-group AUC of a whole partition: every within-group (positive, negative) pair, pooled.

    ``statistics`` is (resamples, groups, N_STATISTICS); returns one value per resample.
    """
    positives = statistics[..., TP] + statistics[..., FN]
    negatives = statistics[..., FP] + statistics[..., TN]
    pairs = (positives * negatives).sum(axis=1)
    return np.asarray(safe_divide(statistics[..., AUC_U].sum(axis=1), pairs), dtype=np.float64)


def _wilson_where_few(metric_estimates: dict[str, list[Estimate]], counts: npt.NDArray[np.int64]) -> None:
    """Replace bootstrap intervals of proportions by Wilson's where the denominator is small."""
    tp, fp, fn, tn = (counts[:, index] for index in range(4))
    parts = {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "n": tp + fp + fn + tn,
        "positives": tp + fn,
        "negatives": fp + tn,
        "selected": tp + fp,
        "not_selected": fn + tn,
    }
    for metric, (numerator, denominator) in PROPORTIONS.items():
        top = parts[numerator]
        for group, estimate in enumerate(metric_estimates[metric]):
            trials = int(parts[denominator][group])
            if 0 < trials < WILSON_BELOW:
                metric_estimates[metric][group] = Estimate(estimate.value, wilson(float(top[group]), trials))


def _adjusted(groups: tuple[GroupResult, ...], fdr: float) -> tuple[GroupResult, ...]:
    """Adjust the p-values of every judged check together and flag those below ``fdr``."""
    judged = [
        (index, name)
        for index, group in enumerate(groups)
        for name, check in group.checks.items()
        if check.status == "ok"
    ]
    adjusted = adjust(np.array([groups[i].checks[name].p_value for i, name in judged]))
    updated = [dict(group.checks) for group in groups]
    for (index, name), p_adjusted in zip(judged, adjusted, strict=True):
        check = updated[index][name]
        status: CheckStatus = "flagged" if p_adjusted < fdr else "ok"
        updated[index][name] = replace(check, p_adjusted=float(p_adjusted), status=status)
    return tuple(replace(group, checks=checks) for group, checks in zip(groups, updated, strict=True))


def _gate(groups: tuple[GroupResult, ...], fdr: float, champion: str | None) -> Gate:
    flagged, not_judged, judged = [], [], 0
    for group in groups:
        for check in group.checks.values():
            finding = Finding(group.column, group.value, check)
            if check.status == "flagged":
                flagged.append(finding)
            elif check.status in ("insufficient_data", "undefined"):
                not_judged.append(finding)
            judged += check.status in ("ok", "flagged")
    return Gate(
        flagged=tuple(flagged),
        not_judged=tuple(not_judged),
        judged=judged,
        false_discovery_rate=fdr,
        champion=champion,
    )


def _allocations(
    frame: pd.DataFrame,
    score: FloatArray,
    label: npt.NDArray[np.bool_],
    groups: Sequence[str],
    allocation_groups: Sequence[str] | None,
    rule: TopK,
    seed: int,
) -> tuple[AllocationComparison, ...]:
    """The capacity shared by need and by equal recall: across the chosen columns, else each column."""
    count = rule.count(len(score))
    sets = [list(allocation_groups)] if allocation_groups else [[column] for column in groups]
    return tuple(
        compare_policies(score, label, frame[columns].reset_index(drop=True), count=count, seed=seed)
        for columns in sets
    )


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


def _check_options(
    *, tolerance: tuple[float, float], min_n: int, min_positives: int, max_ece: float, fdr: float
) -> None:
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
    if not 0 < fdr < 1:
        problems.append(FDR_INVALID.format(fdr=fdr))
    if problems:
        raise PreviError(*problems)


def _check_resamples(resamples: int) -> None:
    if not isinstance(resamples, int) or resamples < MIN_RESAMPLES:
        raise PreviError(RESAMPLES_INVALID.format(minimum=MIN_RESAMPLES, resamples=resamples))
