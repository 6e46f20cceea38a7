"""The plain-language parts of the report: summary, reasoning and number formats.

Sentences are assembled here from the numbers of an :class:`AuditResult` and
message ids the gettext catalogs translate (:mod:`previ.i18n`), numbers in the
report's locale; nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fairness_audits.result import AuditResult, Estimate, GroupResult
from fairness_audits.rules import Threshold
from fairness_audits.texts import METRIC, STATUS, readable
from previ.i18n import Translation


def summary(result: AuditResult, texts: Translation, rule: str) -> list[str]:
    """Bullet points for the top of the report.

    The whole population; per group column, the spread of recall between
    groups (a consequence of how places are shared, not a gate finding) and
    the group whose calibration is furthest from 1; then intersections left
    out, calibration that cannot be judged, and groups too small to judge.
    """
    overall = result.overall.metrics
    items = [
        texts.gettext(
            "With the rule ({rule}), {selection} of the {n} people would get a suggested referral. Of "
            "those with a support need, the model identifies {tpr} (95% CI: {tpr_ci}) and misses {fnr} "
            "({fnr_ci}).",
            rule=rule,
            selection=_whole_percent(overall["selection_rate"].value, texts),
            n=texts.integer(result.n),
            tpr=_whole_percent(overall["tpr"].value, texts),
            tpr_ci=_whole_range(overall["tpr"].ci, texts),
            fnr=_whole_percent(overall["fnr"].value, texts),
            fnr_ci=_whole_range(overall["fnr"].ci, texts),
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
                texts.gettext(
                    "By {column}, the model identifies between {low} ({low_ci}) of those who needed "
                    "support in {low_group} and {high} ({high_ci}) in {high_group}. How places are shared "
                    "between groups is an allocation policy (below), not part of the gate.",
                    column=readable(column, texts),
                    low_group=readable(lowest.value, texts, level=True),
                    low=_whole_percent(lowest.metrics["tpr"].value, texts),
                    low_ci=_whole_range(lowest.metrics["tpr"].ci, texts),
                    high_group=readable(highest.value, texts, level=True),
                    high=_whole_percent(highest.metrics["tpr"].value, texts),
                    high_ci=_whole_range(highest.metrics["tpr"].ci, texts),
                )
            )
        calibrated = [g for g in groups if g.status == "ok" and result.calibration_applicable]
        if calibrated:
            worst = max(calibrated, key=lambda g: _log_distance(g.metrics["calibration_in_the_large"]))
            estimate = worst.metrics["calibration_in_the_large"]
            group = f"{readable(column, texts)} = {readable(worst.value, texts, level=True)}"
            items.append(
                texts.gettext(
                    "In {group}, for every 100 support needs the model predicts, {observed} are observed "
                    "(95% CI: {observed_ci}).",
                    group=group,
                    observed=texts.integer(round(100 * estimate.value)),
                    observed_ci=_whole_range(estimate.ci, texts, percent=False),
                )
            )
    if result.intersections_omitted:
        items.append(
            texts.gettext(
                "Intersections left out because some combination has fewer than {min_n} people: {columns}.",
                columns=", ".join(readable(column, texts) for column in result.intersections_omitted),
                min_n=result.min_n,
            )
        )
    if not result.calibration_applicable:
        low, high = result.score_range
        items.append(
            texts.gettext(
                "Scores are not probabilities between 0 and 1 (they range from {low} to {high}): calibration "
                "cannot be assessed and is not reported.",
                low=texts.significant(low),
                high=texts.significant(high),
            )
        )
    insufficient = [g for g in result.groups if g.status == "insufficient_data"]
    if insufficient:
        items.append(
            texts.ngettext(
                "{count} group has too little data to judge (fewer than {min_n} people or {min_positives} "
                "with "
                "a support need): it is shown, but neither passes nor gets flagged.",
                "{count} groups have too little data to judge (fewer than {min_n} people or "
                "{min_positives} with "
                "a support need): they are shown, but neither pass nor get flagged.",
                len(insufficient),
                count=len(insufficient),
                min_n=result.min_n,
                min_positives=result.min_positives,
            )
        )
    return items


def why(result: AuditResult, texts: Translation) -> list[str]:
    """Paragraphs explaining which differences matter and how they are judged."""
    low, high = result.tolerance
    references = "; ".join(
        f"{readable(column, texts)} = {readable(value, texts, level=True)}"
        for column, value in result.reference.items()
    )
    paragraphs = [
        texts.gettext(
            "The gate answers one question: does the score mean the same thing for every group? For each "
            "group of each column, compared with the whole population, it checks (1) calibration: "
            "observed/predicted and the calibration slope, both close to 1; (2) discrimination: how well "
            "the model orders young people by need within the group (AUC above chance), which must not be "
            "much lower than in the whole population; and (3), when there is a current champion, that each "
            "group's recall at the programme's capacity is no worse than the champion's."
        ),
        texts.gettext(
            "Equal recall between groups is not asked of the gate: when base rates differ, a score that is "
            "calibrated within every group cannot also reach the same share of each group (Kleinberg, "
            "Mullainathan and Raghavan 2016; Chouldechova 2017). How scarce places are shared is a "
            "decision for the programme's managers: by need, or equalising recall between groups (Rodolfa, "
            "Lamba and Ghani 2021). The section “Allocation policies” shows both."
        ),
        texts.gettext(
            "Each check has a one-sided p-value: how likely a value this far outside the band "
            "({low}–{high}; for discrimination, at least {floor}) would be if the truth sat at its edge. "
            "The p-values of the {judged} judged checks are adjusted together (Benjamini-Hochberg), and a "
            "check is flagged when its adjusted p-value is below {fdr}. A difference the data cannot tell "
            "from noise is not flagged, but its interval stays in view.",
            low=texts.significant(low),
            high=texts.significant(high),
            fdr=texts.significant(result.gate.false_discovery_rate),
            floor=texts.significant(result.discrimination_floor),
            judged=result.gate.judged,
        ),
        texts.gettext(
            "A group with fewer than {min_n} people or fewer than {min_positives} with a support need has "
            "“insufficient data”: its figures are shown, but it never passes and is never flagged, and the "
            "gate lists it for a person to review.",
            min_n=result.min_n,
            min_positives=result.min_positives,
        ),
        texts.gettext(
            "Intervals are the 2.5 and 97.5 percentiles of {resamples} bootstrap resamples drawn within "
            "each combination of groups (so each interval is about its own group), with seed {seed}: the "
            "same file and seed give the same result. Ratios use the same resamples for the group and the "
            "reference. ECE uses 10 equal-width bins on [0, 1]; calibration curves use deciles of each "
            "group's scores.",
            resamples=texts.integer(result.resamples),
            seed=result.seed,
        ),
        texts.gettext(
            "Comparisons are made with: {references}. Intersections are named by joining columns and "
            "values with “*”, are shown only when every combination has enough people, and never decide "
            "the gate; blank values of a group column form the group “missing”.",
            references=references or texts.gettext("the whole population"),
        ),
        texts.gettext(
            "An audit measures the model against recorded outcomes. If the records themselves are uneven "
            "(for example, if justice contacts are recorded more often in some places), the metrics "
            "inherit that. The figures inform; they do not replace the judgement of people who know the "
            "programme."
        ),
    ]
    return paragraphs


def allocation_tables(result: AuditResult, texts: Translation) -> list[dict[str, Any]]:
    """One table per policy comparison: recall and places per group under need and equal recall."""
    tables = []
    for comparison in result.allocations:
        by_policy = {outcome.policy: outcome for outcome in comparison.outcomes}
        need, equal = by_policy["need"], by_policy["equal_recall"]
        rows = [
            [
                cell,
                _whole_percent(need.recall_by_group[cell], texts),
                _whole_percent(equal.recall_by_group[cell], texts),
                texts.integer(need.selected_by_group[cell]),
                texts.integer(equal.selected_by_group[cell]),
            ]
            for cell in need.recall_by_group
        ]
        tables.append(
            {
                "heading": texts.gettext(
                    "Equalising across {columns}", columns=readable("*".join(comparison.groups), texts)
                ),
                "precision": texts.gettext(
                    "Precision at capacity: {need} by need, {equal} equalising recall. Overall recall: "
                    "{need_recall} and {equal_recall}.",
                    need=_whole_percent(need.precision, texts),
                    equal=_whole_percent(equal.precision, texts),
                    need_recall=_whole_percent(need.recall, texts),
                    equal_recall=_whole_percent(equal.recall, texts),
                ),
                "rows": rows,
            }
        )
    return tables


def not_judged(result: AuditResult, texts: Translation) -> list[str]:
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
        check = "" if status == "insufficient_data" else f" · {texts.gettext(METRIC[finding.check.measure])}"
        lines.append(
            f"{readable(finding.column, texts)} = {readable(finding.value, texts, level=True)}{check}: "
            f"{texts.gettext(STATUS[status])} "
            f"({texts.integer(group.n)} · {texts.integer(group.positives)})"
        )
    return lines


def by_column(groups: Sequence[GroupResult]) -> list[tuple[str, list[GroupResult]]]:
    """Groups gathered by column or intersection, in audit order."""
    columns: dict[str, list[GroupResult]] = {}
    for group in groups:
        columns.setdefault(group.column, []).append(group)
    return list(columns.items())


def rule_text(result: AuditResult, texts: Translation) -> str:
    """The decision rule in words ("score ≥ 5", "the highest-scoring 10%")."""
    if isinstance(result.rule, Threshold):
        return texts.gettext("score ≥ {threshold}", threshold=texts.significant(result.rule.value))
    k = result.rule.k
    if k < 1:
        return texts.gettext("the highest-scoring {k}", k=texts.percent(k, _decimals(100 * k)))
    return texts.gettext("the {k} highest scores", k=texts.integer(int(k)))


def percent(estimate: Estimate, texts: Translation) -> str:
    """``44,8 % (42,6–47,1)`` (in the report's locale), or a dash when undefined."""
    if not np.isfinite(estimate.value):
        return "—"
    text = texts.percent(estimate.value, 1)
    if np.all(np.isfinite(estimate.ci)):
        text += f" ({texts.decimal(100 * estimate.ci[0], 1)}–{texts.decimal(100 * estimate.ci[1], 1)})"
    return text


def ratio(estimate: Estimate, texts: Translation) -> str:
    """``0,59 (0,53–0,65)``, or a dash when undefined."""
    if not np.isfinite(estimate.value):
        return "—"
    text = texts.decimal(estimate.value, 2)
    if np.all(np.isfinite(estimate.ci)):
        text += f" ({texts.decimal(estimate.ci[0], 2)}–{texts.decimal(estimate.ci[1], 2)})"
    return text


def _whole_percent(value: float, texts: Translation) -> str:
    return texts.percent(value) if np.isfinite(value) else "—"


def _whole_range(ci: tuple[float, float], texts: Translation, *, percent: bool = True) -> str:
    """``42–47 %``: a 95% interval of whole percentages (of whole numbers per 100 when not ``percent``)."""
    if not np.all(np.isfinite(ci)):
        return "—"
    low, high = texts.integer(round(100 * ci[0])), texts.integer(round(100 * ci[1]))
    if not percent:
        return f"{low}-{high}"
    return f"{low}-{texts.percent(ci[1])}"


def _decimals(value: float) -> int:
    """How many decimals ``:g`` would write for ``value`` (0 for whole numbers)."""
    return len(f"{value:g}".partition(".")[2])


def _log_distance(estimate: Estimate) -> float:
    value = estimate.value
    return abs(float(np.log(value))) if np.isfinite(value) and value > 0 else -1.0
