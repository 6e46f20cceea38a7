"""The results of an audit: one object, many views (JSON, a table by group, the report).

Undefined numbers (an FPR for a group with no negatives, a ratio to a
reference of zero) are NaN here and ``null`` in JSON, never a made-up value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from fairness_audits.rules import Rule

GroupStatus = Literal["ok", "insufficient_data"]
CheckStatus = Literal["ok", "flagged", "insufficient_data", "undefined", "not_applicable", "reference"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Estimate:
    """A number with its 95% percentile bootstrap interval (NaN where undefined)."""

    value: float
    ci: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        lower, upper = (_number(bound) for bound in self.ci)
        return {
            "value": _number(self.value),
            "ci": None if lower is None or upper is None else [lower, upper],
        }


@dataclass(frozen=True)
class Disparity:
    """A metric of a group compared with its reference group, on paired resamples."""

    ratio: Estimate
    difference: Estimate
    primary: bool
    status: CheckStatus

    @property
    def flagged(self) -> bool:
        """The whole interval of the ratio lies outside the tolerance band."""
        return self.status == "flagged"

    def to_dict(self) -> dict[str, Any]:
        ratio, difference = self.ratio.to_dict(), self.difference.to_dict()
        return {
            "ratio": ratio["value"],
            "ratio_ci": ratio["ci"],
            "difference": difference["value"],
            "difference_ci": difference["ci"],
            "flagged": self.flagged,
            "primary": self.primary,
            "status": self.status,
        }


@dataclass(frozen=True)
class CalibrationCheck:
    """Calibration within a group, judged against fixed limits (not against another group)."""

    estimate: Estimate
    limits: tuple[float, float]
    status: CheckStatus

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.estimate.to_dict(),
            "limits": list(self.limits),
            "flagged": self.flagged,
            "primary": True,
            "status": self.status,
        }


@dataclass(frozen=True)
class CurvePoint:
    """One decile of a calibration curve: mean score, observed rate and size."""

    predicted: float
    observed: float
    n: int


@dataclass(frozen=True)
class GroupResult:
    """Everything the audit says about one group (or intersection, or the whole table)."""

    column: str
    value: str
    n: int
    counts: Mapping[str, int]
    status: GroupStatus
    is_reference: bool
    metrics: Mapping[str, Estimate]
    disparity: Mapping[str, Disparity]
    calibration: Mapping[str, CalibrationCheck]
    calibration_curve: tuple[CurvePoint, ...]

    @property
    def positives(self) -> int:
        return self.counts["tp"] + self.counts["fn"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "value": self.value,
            "n": self.n,
            "positives": self.positives,
            "counts": dict(self.counts),
            "status": self.status,
            "is_reference": self.is_reference,
            "metrics": {name: estimate.to_dict() for name, estimate in self.metrics.items()},
            "disparity": {name: disparity.to_dict() for name, disparity in self.disparity.items()},
            "calibration": {name: check.to_dict() for name, check in self.calibration.items()},
            "calibration_curve": [
                {"predicted": _number(p.predicted), "observed": _number(p.observed), "n": p.n}
                for p in self.calibration_curve
            ],
        }


@dataclass(frozen=True)
class Finding:
    """A primary check of one group that failed, or could not be judged."""

    column: str
    value: str
    check: str
    status: CheckStatus
    estimate: Estimate
    limits: tuple[float, float]

    def to_dict(self) -> dict[str, Any]:
        estimate = self.estimate.to_dict()
        return {
            "column": self.column,
            "value": self.value,
            "check": self.check,
            "status": self.status,
            "ratio": estimate["value"],
            "ratio_ci": estimate["ci"],
            "limits": [_number(limit) for limit in self.limits],
        }


@dataclass(frozen=True)
class Gate:
    """Pass/fail of the primary checks: fails when any primary check is flagged.

    Checks that could not be judged (too little data, undefined ratios) do not
    pass silently: they are listed in ``not_judged`` for a person to look at.
    """

    flagged: tuple[Finding, ...]
    not_judged: tuple[Finding, ...]

    @property
    def passed(self) -> bool:
        return not self.flagged

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "passed" if self.passed else "failed",
            "passed": self.passed,
            "flagged": [finding.to_dict() for finding in self.flagged],
            "not_judged": [finding.to_dict() for finding in self.not_judged],
        }


@dataclass(frozen=True)
class ScoreHistogram:
    """How scores are distributed in each group of one column (counts per bin)."""

    column: str
    edges: tuple[float, ...]
    counts: Mapping[str, tuple[int, ...]]
    discrete: bool
    """One bin per whole-number score (edges at half-integers)."""


@dataclass(frozen=True)
class AuditResult:
    """The fairness audit of one score and decision rule.

    Use :meth:`to_dict` for the JSON report, :meth:`by_group` for a table and
    :func:`fairness_audits.write_report` for the HTML report.
    """

    label: str
    score: str
    group_columns: tuple[str, ...]
    positive: str | None
    rule: Rule
    selection: Mapping[str, Any]
    reference: Mapping[str, str]
    tolerance: tuple[float, float]
    max_ece: float
    min_n: int
    min_positives: int
    resamples: int
    seed: int
    calibration_applicable: bool
    score_range: tuple[float, float]
    overall: GroupResult
    groups: tuple[GroupResult, ...]
    gate: Gate
    histograms: tuple[ScoreHistogram, ...]

    @property
    def n(self) -> int:
        return self.overall.n

    def group(self, column: str, value: str) -> GroupResult:
        """The result of one group; raises KeyError if there is no such group."""
        for group in self.groups:
            if group.column == column and group.value == value:
                return group
        raise KeyError((column, value))

    def by_group(self) -> pd.DataFrame:
        """Point values of every metric, one row per group (like ``MetricFrame.by_group``)."""
        rows = [
            {
                "column": group.column,
                "value": group.value,
                "n": group.n,
                "status": group.status,
                **{name: estimate.value for name, estimate in group.metrics.items()},
            }
            for group in self.groups
        ]
        return pd.DataFrame(rows).set_index(["column", "value"])

    def to_dict(self) -> dict[str, Any]:
        """Every number of the audit as JSON-ready data (``None`` for undefined values)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "label": self.label,
            "score": self.score,
            "group_columns": list(self.group_columns),
            "positive": self.positive,
            "rule": {**self.rule.describe(), **self.selection},
            "reference": dict(self.reference),
            "tolerance": list(self.tolerance),
            "max_ece": self.max_ece,
            "min_n": self.min_n,
            "min_positives": self.min_positives,
            "confidence_level": 0.95,
            "interval": "percentile bootstrap, resampling rows within each cell of the group columns",
            "resamples": self.resamples,
            "seed": self.seed,
            "n": self.n,
            "score_range": list(self.score_range),
            "calibration": {
                "applicable": self.calibration_applicable,
                "ece_bins": "10 equal-width bins on [0, 1]",
                "curve_bins": "deciles of each group's scores (equal counts)",
            },
            "overall": self.overall.to_dict(),
            "groups": [group.to_dict() for group in self.groups],
            "gate": self.gate.to_dict(),
            "score_histograms": [
                {
                    "column": histogram.column,
                    "edges": list(histogram.edges),
                    "discrete": histogram.discrete,
                    "counts": {value: list(counts) for value, counts in histogram.counts.items()},
                }
                for histogram in self.histograms
            ],
        }


def _number(value: float) -> float | None:
    """A finite float, or None (JSON null) for NaN and infinities."""
    value = float(value)
    return value if math.isfinite(value) else None
