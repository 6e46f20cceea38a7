"""Write the audit as ``audit.json`` (every number) and ``report.html`` (for people).

The HTML file is self-contained: CSS inline, figures as SVG data URIs, no
script and no network. Its words are message ids translated by the gettext catalogs (:mod:`previ.i18n`),
its numbers are written in the report's locale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from fairness_audits.checks import GATE_MEASURES
from fairness_audits.narrative import (
    allocation_tables,
    by_column,
    not_judged,
    percent,
    ratio,
    rule_text,
    summary,
    why,
)
from fairness_audits.plots import calibration_figure, distribution_figure, primary_figure
from fairness_audits.result import AuditResult, Disparity, GateCheck, GroupResult
from fairness_audits.rules import Threshold
from fairness_audits.texts import HELP, LANGUAGES, METRIC, STATUS, Lang, readable
from previ.atomic import atomic_dir
from previ.errors import PreviError
from previ.i18n import Translation, translation

JSON_NAME = "audit.json"
HTML_NAME = "report.html"
LANGUAGE_UNKNOWN = "lang must be one of {languages}; got {lang!r}"

SECONDARY_COLUMNS = ("prevalence", "selection_rate", "fpr", "ppv", "fdr", "for", "npv", "roc_auc")
SECONDARY_RATIOS = ("selection_rate", "fpr")
_STATUS_ORDER = ("flagged", "insufficient_data", "undefined", "ok", "reference", "not_applicable")

_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("fairness_audits", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def write_report(result: AuditResult, out_dir: Path | str, *, lang: Lang = "es") -> tuple[Path, Path]:
    """Write ``audit.json`` and ``report.html`` into ``out_dir``, all or nothing.

    Other files already in ``out_dir`` are kept. Returns the two paths.
    """
    html = render_html(result, lang=lang)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir, overwrite=False) as staging:
        (staging / JSON_NAME).write_text(to_json(result), encoding="utf-8")
        (staging / HTML_NAME).write_text(html, encoding="utf-8")
    return out_dir / JSON_NAME, out_dir / HTML_NAME


def to_json(result: AuditResult) -> str:
    """The audit as JSON text: sorted by group as audited, ``null`` for undefined numbers."""
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def render_html(result: AuditResult, *, lang: Lang = "es") -> str:
    """The HTML report in Spanish (``"es"``) or English (``"en"``)."""
    if lang not in LANGUAGES:
        raise PreviError(LANGUAGE_UNKNOWN.format(languages=", ".join(LANGUAGES), lang=lang))
    texts = translation(lang)
    rule = rule_text(result, texts)
    sections = [_section(result, column, groups, texts) for column, groups in by_column(result.groups)]
    return _environment.get_template("report.html.j2").render(
        lang=lang,
        _=texts.gettext,
        ngettext=texts.ngettext,
        data_line=texts.gettext(
            "{n} records · outcome: “{label}” · score: “{score}” · rule: {rule} · groups: {groups} · "
            "{resamples} resamples, seed {seed}",
            n=texts.integer(result.n),
            label=result.label,
            score=result.score,
            rule=rule,
            groups=", ".join(readable(column, texts) for column in result.group_columns),
            resamples=texts.integer(result.resamples),
            seed=result.seed,
        ),
        gate=result.gate,
        summary=summary(result, texts, rule),
        findings=[
            _finding_row(finding.column, finding.value, finding.check, texts)
            for finding in result.gate.flagged
        ],
        allocations=allocation_tables(result, texts),
        not_judged=not_judged(result, texts),
        why=why(result, texts),
        overall=_overall_rows(result.overall, texts),
        sections=sections,
        glossary=[
            (texts.gettext(METRIC[m]), texts.gettext(HELP[m])) for m in (*GATE_MEASURES, *SECONDARY_COLUMNS)
        ],
    )


@dataclass(frozen=True)
class _Cell:
    text: str
    css: str = ""


@dataclass(frozen=True)
class _Section:
    heading: str
    primary_figure: str | None
    headers: list[str]
    rows: list[list[_Cell]]
    detail_headers: list[str]
    detail_rows: list[list[_Cell]]
    calibration_figure: str | None
    distribution_figure: str | None


def _section(result: AuditResult, column: str, groups: list[GroupResult], texts: Translation) -> _Section:
    single = column in result.group_columns
    measures = [m for m in GATE_MEASURES if any(m in group.checks for group in groups)]
    headers = [
        texts.gettext("Group"),
        texts.gettext("People"),
        texts.gettext("With a need"),
        texts.gettext("Detection rate (TPR)"),
    ]
    headers += [texts.gettext(METRIC[m]) for m in measures]
    if measures:
        headers.append(texts.gettext("Result"))
    rows = []
    for group in groups:
        row = [
            _Cell(_label(group, texts)),
            _Cell(texts.integer(group.n)),
            _Cell(texts.integer(group.positives)),
            _Cell(percent(group.metrics["tpr"], texts)),
        ]
        statuses = []
        for measure in measures:
            check = group.checks[measure]
            row.append(_Cell(_check_text(check, texts), _css(check.status)))
            statuses.append(check.status)
        if statuses:
            verdict = min(statuses, key=_STATUS_ORDER.index)
            row.append(_Cell(texts.gettext(STATUS[verdict]), _css(verdict)))
        rows.append(row)
    detail_headers = [texts.gettext("Group"), *(texts.gettext(METRIC[m]) for m in SECONDARY_COLUMNS)]
    detail_headers += [
        texts.gettext("{metric} ratio", metric=texts.gettext(METRIC[m])) for m in SECONDARY_RATIOS
    ]
    detail_rows = [
        [_Cell(_label(group, texts))]
        + [
            _Cell(ratio(group.metrics[m], texts) if m == "roc_auc" else percent(group.metrics[m], texts))
            for m in SECONDARY_COLUMNS
        ]
        + [
            _Cell(_disparity_text(group.disparity[m], texts), _css(group.disparity[m].status))
            for m in SECONDARY_RATIOS
        ]
        for group in groups
    ]
    histogram = next((h for h in result.histograms if h.column == column), None)
    cutoff = result.rule.value if isinstance(result.rule, Threshold) else result.selection.get("cutoff_score")
    return _Section(
        heading=texts.gettext("By {column}", column=readable(column, texts))
        if single
        else texts.gettext("Intersection {column}", column=readable(column, texts)),
        primary_figure=primary_figure(groups, measures=measures, texts=texts) if measures else None,
        headers=headers,
        rows=rows,
        detail_headers=detail_headers,
        detail_rows=detail_rows,
        calibration_figure=calibration_figure(groups, texts=texts)
        if single and result.calibration_applicable
        else None,
        distribution_figure=(
            distribution_figure(histogram, groups, cutoff=_as_float(cutoff), texts=texts)
            if single and histogram is not None
            else None
        ),
    )


def _overall_rows(overall: GroupResult, texts: Translation) -> list[list[str]]:
    metrics = (
        "prevalence",
        "selection_rate",
        "fnr",
        "tpr",
        "fpr",
        "ppv",
        "roc_auc",
        "calibration_in_the_large",
        "ece",
    )
    return [
        [
            texts.gettext(METRIC[m]),
            ratio(overall.metrics[m], texts)
            if m in ("roc_auc", "calibration_in_the_large")
            else percent(overall.metrics[m], texts),
        ]
        for m in metrics
        if np.isfinite(overall.metrics[m].value)
    ]


def _finding_row(column: str, value: str, check: GateCheck, texts: Translation) -> list[str]:
    low, high = check.limits
    band = (
        f"≥ {_limit(low, texts)}" if not np.isfinite(high) else f"{_limit(low, texts)}–{_limit(high, texts)}"
    )
    return [
        f"{readable(column, texts)} = {readable(value, texts, level=True)}",
        texts.gettext(METRIC[check.measure]),
        _check_text(check, texts),
        band,
        _limit(check.p_adjusted, texts, digits=2),
    ]


def _check_text(check: GateCheck, texts: Translation) -> str:
    return ratio(check.estimate, texts)


def _limit(value: float, texts: Translation, *, digits: int = 6) -> str:
    """A limit or p-value with the locale's decimal mark, as few digits as it needs ("0,8", "1,25")."""
    return texts.significant(value, digits)


def _disparity_text(disparity: Disparity, texts: Translation) -> str:
    return texts.gettext("reference") if disparity.status == "reference" else ratio(disparity.ratio, texts)


def _label(group: GroupResult, texts: Translation) -> str:
    value = readable(group.value, texts, level=True)
    return f"{value} {texts.gettext('(ref.)')}" if group.is_reference else value


def _css(status: str) -> str:
    return {"flagged": "flag", "insufficient_data": "muted", "undefined": "muted", "reference": "ref"}.get(
        status, ""
    )


def _as_float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None
