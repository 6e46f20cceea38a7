"""The plain-language parts of the report: summary, reasoning and number formats.

Sentences are assembled here from the numbers of an :class:`AuditResult` and
the words of :mod:`fairness_audits.texts`; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fairness_audits.result import AuditResult, Estimate, GroupResult
from fairness_audits.rules import Threshold


def summary(result: AuditResult, texts: Mapping[str, str], rule: str) -> list[str]:
    """Bullet points for the top of the report.

    The whole population; per group column, the spread of recall between
    groups (a consequence of how places are shared, not a gate finding) and
    the group whose calibration is furthest from 1; then intersections left
    out, calibration that cannot be judged, and groups too small to judge.
    """
    overall = result.overall.metrics
    items = [
        texts["summary.overall"].format(
            rule=rule,
            selection=_whole_percent(overall["selection_rate"].value),
            n=f"{result.n:,}",
            tpr=_whole_percent(overall["tpr"].value),
            tpr_ci=_whole_range(overall["tpr"].ci),
            fnr=_whole_percent(overall["fnr"].value),
            fnr_ci=_whole_range(overall["fnr"].ci),
        )
    ]
    for column, groups in by_column(result.groups):
        if column not in result.group_columns:
            continue
        judged = [g for g in groups if g.status == "ok" and np.isfinite(g.metrics["tpr"].value)]
        if len(judged) >= 2:
            lowest = min(judged, key=lambda g: g.metrics["tpr"].value)
            highest = max(judged, key=lambda g: g.metrics["tpr"].value)
            items.append(
                texts["summary.recall"].format(
                    column=column,
                    low_group=lowest.value,
                    low=_whole_percent(lowest.metrics["tpr"].value),
                    low_ci=_whole_range(lowest.metrics["tpr"].ci),
                    high_group=highest.value,
                    high=_whole_percent(highest.metrics["tpr"].value),
                    high_ci=_whole_range(highest.metrics["tpr"].ci),
                )
            )
        calibrated = [g for g in groups if g.status == "ok" and result.calibration_applicable]
        if calibrated:
            worst = max(calibrated, key=lambda g: _log_distance(g.metrics["calibration_in_the_large"]))
            estimate = worst.metrics["calibration_in_the_large"]
            items.append(
                texts["summary.calibration"].format(
                    group=f"{column} = {worst.value}",
                    observed=f"{100 * estimate.value:.0f}",
                    observed_ci=_whole_range(estimate.ci, suffix=""),
                )
            )
    if result.intersections_omitted:
        items.append(
            texts["summary.intersections_omitted"].format(
                columns=", ".join(result.intersections_omitted), min_n=result.min_n
            )
        )
    if not result.calibration_applicable:
        low, high = result.score_range
        items.append(texts["summary.no_calibration"].format(low=f"{low:g}", high=f"{high:g}"))
    insufficient = [g for g in result.groups if g.status == "insufficient_data"]
    if insufficient:
        items.append(
            texts["summary.not_judged"].format(
                count=len(insufficient), min_n=result.min_n, min_positives=result.min_positives
            )
        )
    return items


def why(result: AuditResult, texts: Mapping[str, str]) -> list[str]:
    """Paragraphs explaining which differences matter and how they are judged."""
    low, high = result.tolerance
    references = "; ".join(f"{column} = {value}" for column, value in result.reference.items())
    paragraphs = [
        texts["why.support"],
        texts["why.allocation"],
        texts["why.flag_rule"].format(
            low=f"{low:g}",
            high=f"{high:g}",
            fdr=f"{result.gate.false_discovery_rate:g}",
            floor=f"{result.discrimination_floor:g}",
            judged=result.gate.judged,
        ),
        texts["why.insufficient"].format(min_n=result.min_n, min_positives=result.min_positives),
        texts["why.intervals"].format(resamples=f"{result.resamples:,}", seed=result.seed),
        texts["why.reference"].format(references=references or texts["population"]),
        texts["why.limits"],
    ]
    return paragraphs


def allocation_tables(result: AuditResult, texts: Mapping[str, str]) -> list[dict[str, Any]]:
    """One table per policy comparison: recall and places per group under need and equal recall."""
    tables = []
    for comparison in result.allocations:
        by_policy = {outcome.policy: outcome for outcome in comparison.outcomes}
        need, equal = by_policy["need"], by_policy["equal_recall"]
        rows = [
            [
                cell,
                _whole_percent(need.recall_by_group[cell]),
                _whole_percent(equal.recall_by_group[cell]),
                f"{need.selected_by_group[cell]:,}",
                f"{equal.selected_by_group[cell]:,}",
            ]
            for cell in need.recall_by_group
        ]
        tables.append(
            {
                "heading": texts["allocation.across"].format(columns=" * ".join(comparison.groups)),
                "precision": texts["allocation.precision"].format(
                    need=_whole_percent(need.precision),
                    equal=_whole_percent(equal.precision),
                    need_recall=_whole_percent(need.recall),
                    equal_recall=_whole_percent(equal.recall),
                ),
                "rows": rows,
            }
        )
    return tables


def not_judged(result: AuditResult, texts: Mapping[str, str]) -> list[str]:
    """One line per group or check that the gate could not judge (each small group once)."""
    lines = []
    seen = set()
    for finding in result.gate.not_judged:
        status = finding.check.status
        key = (finding.column, finding.value, status)
        if status == "insufficient_data" and key in seen:
            continue
        seen.add(key)
        group = result.group(finding.column, finding.value)
        check = "" if status == "insufficient_data" else f" · {texts[f'metric.{finding.check.measure}']}"
        lines.append(
            f"{finding.column} = {finding.value}{check}: {texts[f'status.{status}']} "
            f"({group.n:,} · {group.positives:,})"
        )
    return lines


def by_column(groups: Sequence[GroupResult]) -> list[tuple[str, list[GroupResult]]]:
    """Groups gathered by column or intersection, in audit order."""
    columns: dict[str, list[GroupResult]] = {}
    for group in groups:
        columns.setdefault(group.column, []).append(group)
    return list(columns.items())


def rule_text(result: AuditResult, texts: Mapping[str, str]) -> str:
    """The decision rule in words ("score ≥ 5", "the highest-scoring 10%")."""
    if isinstance(result.rule, Threshold):
        return texts["rule.threshold"].format(threshold=f"{result.rule.value:g}")
    k = result.rule.k
    if k < 1:
        return texts["rule.top_k_fraction"].format(k=f"{100 * k:g}%")
    return texts["rule.top_k_count"].format(k=f"{int(k):,}")


def percent(estimate: Estimate) -> str:
    """``44.8% (42.6–47.1)``, or a dash when undefined."""
    if not np.isfinite(estimate.value):
        return "—"
    text = f"{100 * estimate.value:.1f}%"
    if np.all(np.isfinite(estimate.ci)):
        text += f" ({100 * estimate.ci[0]:.1f}–{100 * estimate.ci[1]:.1f})"
    return text


def ratio(estimate: Estimate) -> str:
    """``0.59 (0.53–0.65)``, or a dash when undefined."""
    if not np.isfinite(estimate.value):
        return "—"
    text = f"{estimate.value:.2f}"
    if np.all(np.isfinite(estimate.ci)):
        text += f" ({estimate.ci[0]:.2f}–{estimate.ci[1]:.2f})"
    return text


def _whole_percent(value: float) -> str:
    return f"{100 * value:.0f}%" if np.isfinite(value) else "—"


def _whole_range(ci: tuple[float, float], suffix: str = "%") -> str:
    if not np.all(np.isfinite(ci)):
        return "—"
    return f"{100 * ci[0]:.0f}-{100 * ci[1]:.0f}{suffix}"


def _log_distance(estimate: Estimate) -> float:
    value = estimate.value
    return abs(float(np.log(value))) if np.isfinite(value) and value > 0 else -1.0
