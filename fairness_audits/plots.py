"""Figures of the report, as self-contained SVG data URIs (no network, no files beside the HTML).

Figures are built on ``matplotlib.figure.Figure`` with an Agg canvas, never
through pyplot, so rendering touches no global state and works headless.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from fairness_audits.result import CheckStatus, Estimate, GroupResult, ScoreHistogram
from fairness_audits.texts import METRIC, readable
from previ.i18n import Translation

COLOURS: Mapping[str, str] = {
    "ok": "#1f4e79",
    "reference": "#1b7f5b",
    "flagged": "#c0392b",
    "insufficient_data": "#9a9a9a",
    "undefined": "#9a9a9a",
    "not_applicable": "#9a9a9a",
}
BAND_COLOUR = "#dcebd5"


def primary_figure(groups: Sequence[GroupResult], *, measures: Sequence[str], texts: Translation) -> str:
    """Each gated measure by group, with 95% intervals and the acceptable band shaded."""
    labels = [_group_label(group, texts) for group in groups]
    with _style():
        figure = _figure(width=3.2 * len(measures) + 2.4, height=0.34 * len(groups) + 1.3)
        axes = figure.subplots(1, len(measures), sharey=True, squeeze=False)[0]
        positions = np.arange(len(groups))[::-1]
        for ax, measure in zip(axes, measures, strict=True):
            limits = next((g.checks[measure].limits for g in groups if measure in g.checks), (0.8, 1.25))
            values = [g.checks[measure].estimate for g in groups if measure in g.checks]
            upper = max([1.5, *(e.ci[1] for e in values if np.isfinite(e.ci[1]))])
            ax.axvspan(limits[0], min(limits[1], upper * 1.05), color=BAND_COLOUR, zorder=0)
            ax.axvline(1.0, color="#555555", linewidth=0.9, linestyle="--", zorder=1)
            for position, group in zip(positions, groups, strict=True):
                if measure in group.checks:
                    check = group.checks[measure]
                    _interval_point(ax, position, check.estimate, check.status)
            ax.set_title(texts.gettext(METRIC[measure]), loc="left", wrap=True)
            ax.grid(axis="x", color="#e6e6e6", linewidth=0.6)
            ax.set_axisbelow(True)
        axes[0].set_yticks(positions, labels)
        axes[0].set_ylim(-0.7, len(groups) - 0.3)
        return _data_uri(figure)


def calibration_figure(groups: Sequence[GroupResult], *, texts: Translation) -> str:
    """Observed rate against mean score by decile, one line per group with enough data."""
    with _style():
        figure = _figure(width=6.2, height=4.6)
        ax = figure.subplots()
        ax.plot(
            [0, 1],
            [0, 1],
            color="#777777",
            linestyle="--",
            linewidth=0.9,
            label=texts.gettext("perfect calibration"),
        )
        for group in groups:
            if group.status != "ok" or not group.calibration_curve:
                continue
            predicted = [point.predicted for point in group.calibration_curve]
            observed = [point.observed for point in group.calibration_curve]
            ax.plot(predicted, observed, marker="o", markersize=3.5, linewidth=1.4, label=group.value)
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel=texts.gettext("Mean score (predicted)"),
            ylabel=texts.gettext("Share with a need (observed)"),
        )
        ax.set_aspect("equal")
        ax.grid(color="#e6e6e6", linewidth=0.6)
        ax.legend(frameon=False, fontsize=8.5, loc="upper left")
        return _data_uri(figure)


def distribution_figure(
    histogram: ScoreHistogram,
    groups: Sequence[GroupResult],
    *,
    cutoff: float | None,
    texts: Translation,
) -> str:
    """Share of each group's scores per bin, with the rule's cut-off marked."""
    edges = np.asarray(histogram.edges)
    with _style():
        figure = _figure(width=8.0, height=3.4)
        ax = figure.subplots()
        for group in groups:
            counts = np.asarray(histogram.counts[group.value], dtype=float)
            if group.status != "ok" or counts.sum() == 0:
                continue
            ax.stairs(counts / counts.sum(), edges, linewidth=1.6, label=group.value)
        if cutoff is not None:
            line = cutoff - 0.5 if histogram.discrete else cutoff
            ax.axvline(line, color="#333333", linestyle=":", linewidth=1.2)
            ax.annotate(
                f"{texts.gettext('rule')}: ≥ {texts.significant(cutoff, 3)}",
                xy=(line, 1),
                xycoords=("data", "axes fraction"),
                xytext=(4, -2),
                textcoords="offset points",
                va="top",
                fontsize=8.5,
            )
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))
        ax.set(xlabel=texts.gettext("Score"), ylabel=texts.gettext("Share of group"))
        ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
        ax.legend(frameon=False, fontsize=8.5, loc="upper right")
        return _data_uri(figure)


def _style() -> AbstractContextManager[None]:
    return matplotlib.rc_context(
        {
            "font.size": 9.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10.5,
            "axes.titleweight": "bold",
            "svg.hashsalt": "previ-fairness",
            "svg.fonttype": "path",
        }
    )


def _figure(*, width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _interval_point(ax: Axes, position: float, estimate: Estimate, status: CheckStatus) -> None:
    colour = COLOURS.get(status, COLOURS["ok"])
    hollow = status in ("insufficient_data", "undefined")
    if np.all(np.isfinite(estimate.ci)):
        ax.hlines(position, *estimate.ci, color=colour, linewidth=2.2, alpha=0.55 if hollow else 0.9)
    if np.isfinite(estimate.value):
        ax.plot(
            estimate.value,
            position,
            marker="D" if status == "reference" else "o",
            markersize=5.5,
            color=colour,
            markerfacecolor="white" if hollow else colour,
            zorder=3,
        )


def _group_label(group: GroupResult, texts: Translation) -> str:
    label = readable(group.value, texts, level=True)
    if group.is_reference:
        label += f" {texts.gettext('(ref.)')}"
    return label
