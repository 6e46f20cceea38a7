"""The plain-language parts of the report: summary, reasoning and number formats.

Sentences are assembled here from the numbers of an :class:`AuditResult` and
the words of :mod:`fairness_audits.texts`; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from fairness_audits.result import AuditResult, Estimate, GroupResult
from fairness_audits.rules import Threshold


def summary(result: AuditResult, texts: Mapping[str, str], rule: str) -> list[str]:
    """Bullet points for the top of the report.

    The whole population; per group column, the group whose miss rate is
    furthest from the reference (flagged ones first) and the group whose
    calibration is furthest from 1; then intersections, calibration that
    cannot be judged, and groups too small to judge.
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
        reference = next(group for group in groups if group.is_reference)
        judged = [g for g in groups if not g.is_reference and g.status == "ok" and reference.status == "ok"]
        if judged:
            worst = max(
                judged, key=lambda g: (g.disparity["fnr"].flagged, _log_distance(g.disparity["fnr"].ratio))
            )
            verdict = worst.disparity["fnr"].status
            items.append(
                texts["summary.fnr"].format(
                    fnr=_whole_percent(worst.metrics["fnr"].value),
                    fnr_ci=_whole_range(worst.metrics["fnr"].ci),
                    group=f"{column} = {worst.value}",
                    ref_fnr=_whole_percent(reference.metrics["fnr"].value),
                    ref_fnr_ci=_whole_range(reference.metrics["fnr"].ci),
                    reference=reference.value,
                )
                + " "
                + texts[f"summary.verdict.{verdict if verdict in ('flagged', 'ok') else 'undefined'}"]
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
    intersection_flags = [f for f in result.gate.flagged if f.column not in result.group_columns]
    if intersection_flags:
        items.append(texts["summary.intersections"].format(count=len(intersection_flags)))
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
    return [
        texts["why.support"],
        texts["why.secondary"],
        texts["why.flag_rule"].format(low=f"{low:g}", high=f"{high:g}", max_ece=f"{result.max_ece:g}"),
        texts["why.insufficient"].format(min_n=result.min_n, min_positives=result.min_positives),
        texts["why.intervals"].format(resamples=f"{result.resamples:,}", seed=result.seed),
        texts["why.reference"].format(references=references),
        texts["why.limits"],
    ]


def not_judged(result: AuditResult, texts: Mapping[str, str]) -> list[str]:
    """One line per group or check that the gate could not judge (each small group once)."""
    lines = []
    seen = set()
    for finding in result.gate.not_judged:
        key = (finding.column, finding.value, finding.status)
        if finding.status == "insufficient_data" and key in seen:
            continue
        seen.add(key)
        group = result.group(finding.column, finding.value)
        check = "" if finding.status == "insufficient_data" else f" · {texts[f'metric.{finding.check}']}"
        lines.append(
            f"{finding.column} = {finding.value}{check}: {texts[f'status.{finding.status}']} "
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
