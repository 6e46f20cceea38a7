"""Fairness audits of early-warning scores: who would the programme miss, and is that fair?

For a table of scores, observed outcomes and group columns, and a decision rule
(a threshold or a capacity), :func:`audit` computes per group, per
intersection and overall: prevalence, selection rate, TPR/FNR, FPR, PPV/FDR,
FOR/NPV, ROC AUC and calibration, each with a 95% interval; disparities to the
whole population; the promotion gate (does the score mean the same for every
group: calibration, discrimination, recall against the champion; see
:mod:`fairness_audits.checks`); and the capacity shared under each allocation
policy (:mod:`fairness_audits.allocation`). :func:`write_report` writes the
JSON with every number and a self-contained HTML report in Spanish or English.

Examples
--------
>>> from fairness_audits import Threshold, audit, write_report
>>> result = audit(frame, label="outcome", score="probability", groups=["municipality", "sex"],
...                rule=Threshold(0.3))  # doctest: +SKIP
>>> result.gate.passed  # doctest: +SKIP
>>> write_report(result, "reports/audit", lang="es")  # doctest: +SKIP
"""

from __future__ import annotations

from fairness_audits.audit import audit
from fairness_audits.inputs import read_table
from fairness_audits.report import write_report
from fairness_audits.result import AuditResult, Gate, GroupResult
from fairness_audits.rules import Threshold, TopK

__all__ = [
    "AuditResult",
    "Gate",
    "GroupResult",
    "Threshold",
    "TopK",
    "audit",
    "read_table",
    "write_report",
]
