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
    """A metric of a group compared with the whole population (or a chosen reference group).

    Reported to show how a policy shares places; never part of the gate.
    """

    ratio: Estimate
    difference: Estimate
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
            "outside_band": self.flagged,
            "status": self.status,
        }


@dataclass(frozen=True)
class GateCheck:
    """One gated measure of one group: a value with its interval, a band and p-values.

    ``p_value`` is one-sided: how likely a value this far outside ``limits``
    would be if the truth sat at the nearer edge. ``p_adjusted`` is the
    Benjamini-Hochberg adjustment across every judged check of the audit.
    """

    check: str
    measure: str
    estimate: Estimate
    limits: tuple[float, float]
    p_value: float
    p_adjusted: float
    status: CheckStatus

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "measure": self.measure,
            **self.estimate.to_dict(),
            "limits": [_number(limit) for limit in self.limits],
            "p_value": _number(self.p_value),
            "p_adjusted": _number(self.p_adjusted),
            "flagged": self.flagged,
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
    checks: Mapping[str, GateCheck]
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
            "checks": {name: check.to_dict() for name, check in self.checks.items()},
            "calibration_curve": [
                {"predicted": _number(p.predicted), "observed": _number(p.observed), "n": p.n}
                for p in self.calibration_curve
            ],
        }


@dataclass(frozen=True)
class Finding:
    """A gated check of one group that was flagged, or could not be judged."""

    column: str
    value: str
    check: GateCheck

    def to_dict(self) -> dict[str, Any]:
        estimate = self.check.estimate.to_dict()
        return {
            "column": self.column,
            "value": self.value,
            "check": self.check.check,
            "measure": self.check.measure,
            "status": self.check.status,
            "ratio": estimate["value"],
            "ratio_ci": estimate["ci"],
            "limits": [_number(limit) for limit in self.check.limits],
            "p_value": _number(self.check.p_value),
            "p_adjusted": _number(self.check.p_adjusted),
        }


@dataclass(frozen=True)
class Gate:
    """Does the score mean the same thing for every group? Fails when any gated check is flagged.

    Checks that could not be judged (too little data, undefined values) do not
    pass silently: they are listed in ``not_judged`` for a person to look at.
    ``judged`` counts the checks whose p-values were adjusted together.
    """

    flagged: tuple[Finding, ...]
    not_judged: tuple[Finding, ...]
    judged: int
    false_discovery_rate: float
    champion: str | None = None

    @property
    def passed(self) -> bool:
        return not self.flagged

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "passed" if self.passed else "failed",
            "passed": self.passed,
            "flags": [finding.to_dict() for finding in self.flagged],
            "not_judged": [finding.to_dict() for finding in self.not_judged],
            "checks_judged": self.judged,
            "false_discovery_rate": self.false_discovery_rate,
            "multiple_comparisons": "Benjamini-Hochberg across every judged check of this audit",
            "champion": self.champion,
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
class PolicyOutcome:
    """What one allocation policy does with the places: precision at k and recall per group."""

    policy: str
    selected: int
    precision: float
    recall: float
    recall_by_group: Mapping[str, float]
    selected_by_group: Mapping[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "selected": self.selected,
            "precision_at_k": _number(self.precision),
            "recall_at_k": _number(self.recall),
            "recall_by_group": {key: _number(value) for key, value in self.recall_by_group.items()},
            "selected_by_group": dict(self.selected_by_group),
        }


@dataclass(frozen=True)
class AllocationComparison:
    """The same capacity shared by need and by equal recall across ``groups``."""

    groups: tuple[str, ...]
    outcomes: tuple[PolicyOutcome, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"groups": list(self.groups), "policies": [outcome.to_dict() for outcome in self.outcomes]}


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
    discrimination_floor: float = 0.8
    intersections_omitted: tuple[str, ...] = ()
    """Intersections left out because some cell had fewer than ``min_n`` people."""
    allocations: tuple[AllocationComparison, ...] = ()
    """The capacity-k selection under each allocation policy (top-k rules only)."""

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
            "reference": dict(self.reference) or "the whole population",
            "tolerance": list(self.tolerance),
            "discrimination_floor": self.discrimination_floor,
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
            "intersections_omitted": list(self.intersections_omitted),
            "allocation_policies": [comparison.to_dict() for comparison in self.allocations],
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
