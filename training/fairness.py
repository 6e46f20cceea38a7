"""Every training run audits its models on the test fold.

The decision rule is the programme's capacity: the top k young people by each
model's calibrated probability are referred. The champion candidate gets the
full report (``audit/report.html`` and ``audit/audit.json``, Spanish by
default); every model's gate is summarised in metrics.json, so the cost of a
model in fairness sits beside its cost in accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fairness_audits import AuditResult, TopK, audit, write_report
from fairness_audits.report import render_html
from fairness_audits.texts import LANGUAGES
from previ.config import PreviConfig
from training.train import TrainingResult

AUDIT_FOLDER = "audit"


@dataclass(frozen=True)
class TrainingAudit:
    champion: AuditResult
    summaries: dict[str, dict[str, Any]]
    report_path: Path
    published_report: Path | None = None  # where report_path ends up once the run folder is in place

    @property
    def gate(self) -> str:
        return "passed" if self.champion.gate.passed else "failed"

    def flags_text(self, *, limit: int = 5) -> str:
        """How many primary checks are flagged, and the first few, for tags and messages."""
        findings = self.champion.gate.flagged
        if not findings:
            return "none"
        shown = "; ".join(f"{item.check} {item.column}={item.value}" for item in findings[:limit])
        more = f" and {len(findings) - limit} more" if len(findings) > limit else ""
        report = (self.published_report or self.report_path).absolute()
        return f"{len(findings)} primary disparities flagged: {shown}{more} (see {report})"


def audit_training(
    result: TrainingResult, settings: PreviConfig, folder: Path, *, published: Path | None = None
) -> TrainingAudit:
    """Audit every model on the test fold; write the champion candidate's report into ``folder/audit``."""
    options = settings.audit
    groups = list(options.groups) or list(result.data.groups.columns)
    frame = result.data.groups.iloc[result.test_rows].reset_index(drop=True)[groups].copy()
    frame["label"] = result.data.label[result.test_rows]
    summaries: dict[str, dict[str, Any]] = {}
    champion: AuditResult | None = None
    for name, model in result.models.items():
        scored = frame.assign(probability=model.test_probability)
        outcome = audit(
            scored,
            label="label",
            score="probability",
            groups=groups,
            rule=TopK(result.k),
            reference=dict(options.reference) or None,
            tolerance=options.tolerance,
            min_n=options.min_n,
            min_positives=options.min_positives,
            max_ece=options.max_ece,
            resamples=options.resamples,
            seed=settings.training.seed,
        )
        summaries[name] = outcome.gate.to_dict()
        if name == result.champion_candidate:
            champion = outcome
    assert champion is not None
    _, html = write_report(champion, folder / AUDIT_FOLDER, lang=settings.language)
    for language in LANGUAGES:  # every language beside the default one, for the service's ?lang=
        page = render_html(champion, lang=language)
        (folder / AUDIT_FOLDER / f"report.{language}.html").write_text(page, encoding="utf-8")
    final = published / AUDIT_FOLDER / html.name if published is not None else None
    return TrainingAudit(champion=champion, summaries=summaries, report_path=html, published_report=final)


def flagged_groups(result: AuditResult, column: str) -> dict[str, set[str]]:
    """Group value -> the disparities flagged for it in ``column`` (primary and secondary checks)."""
    flagged: dict[str, set[str]] = {}
    for group in result.to_dict()["groups"]:
        if group["column"] != column:
            continue
        checks = {metric for metric, values in group["disparity"].items() if values.get("flagged")}
        if checks:
            flagged[str(group["value"])] = checks
    return flagged
