"""Every training run audits its models on the test fold.

The decision rule is the programme's capacity: the top k young people by each
model's score are referred, exactly the people training's evaluation counted. The champion candidate gets the
full report (``audit/report.html`` and ``audit/audit.json``, Spanish by
default); every model's gate is summarised in metrics.json, so the cost of a
model in fairness sits beside its cost in accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fairness_audits import AuditResult, TopK, audit, write_report
from fairness_audits.report import render_html
from fairness_audits.texts import LANGUAGES
from models.artifact import ScoringModel
from previ.config import PreviConfig
from previ.errors import PreviError
from training.train import TrainingResult

AUDIT_FOLDER = "audit"


@dataclass(frozen=True)
class Champion:
    """The registry's current champion, to compare the challenger's recall with on the same rows."""

    version: str
    model: ScoringModel


@dataclass(frozen=True)
class TrainingAudit:
    champion: AuditResult
    summaries: dict[str, dict[str, Any]]
    report_path: Path
    compared_with: str | None
    not_compared: str | None
    published_report: Path | None = None  # where report_path ends up once the run folder is in place

    @property
    def gate(self) -> str:
        return "passed" if self.champion.gate.passed else "failed"

    def flags_text(self, *, limit: int = 5, see_report: bool = False) -> str:
        """How many gate checks are flagged, and the first few, for tags and messages.

        ``see_report``: end with the report where it stays once the run folder is in place (the model card).
        """
        findings = self.champion.gate.flagged
        if not findings:
            return "none"
        shown = "; ".join(
            f"{item.check.measure} {item.column}={item.value} "
            f"({item.check.estimate.value:.2f}, adjusted p {item.check.p_adjusted:.2g})"
            for item in findings[:limit]
        )
        more = f" and {len(findings) - limit} more" if len(findings) > limit else ""
        see = f" (see {(self.published_report or self.report_path).absolute()})" if see_report else ""
        return f"{len(findings)} gate checks flagged: {shown}{more}{see}"


def audit_training(
    result: TrainingResult,
    settings: PreviConfig,
    folder: Path,
    *,
    champion: Champion | None = None,
    published: Path | None = None,
) -> TrainingAudit:
    """Audit every model on the test fold; write the champion candidate's report into ``folder/audit``.

    Each model's top k is selected by its raw score (the order training's
    evaluation uses), through the same selection engine and seed. With a
    current ``champion`` whose features this data holds, the candidate's recall
    at capacity is gated group by group against the champion's on the same rows.
    The report is written in every language (``report.<lang>.html``) for the
    service's ``?lang=``; ``published`` is where the run folder will end up.
    """
    options = settings.audit
    groups = list(options.groups) or list(result.data.groups.columns)
    frame = result.data.groups.iloc[result.test_rows].reset_index(drop=True)[groups].copy()
    frame["label"] = result.data.label[result.test_rows]
    champion_score, not_compared = _champion_scores(result, champion)
    if champion_score is not None:
        frame["champion"] = champion_score
    summaries: dict[str, dict[str, Any]] = {}
    candidate: AuditResult | None = None
    for name, model in result.models.items():
        scored = frame.assign(probability=model.test_probability, rank=model.test_raw)
        outcome = audit(
            scored,
            label="label",
            score="probability",
            rank_by="rank",
            groups=groups,
            rule=TopK(result.k),
            reference=dict(options.reference) or None,
            champion="champion" if champion_score is not None else None,
            champion_name=f"v{champion.version}" if champion is not None else None,
            allocation_groups=list(settings.allocation.groups) or None,
            tolerance=options.tolerance,
            discrimination_floor=options.discrimination_floor,
            min_n=options.min_n,
            min_positives=options.min_positives,
            max_ece=options.max_ece,
            false_discovery_rate=options.false_discovery_rate,
            resamples=options.resamples,
            seed=settings.training.seed,
        )
        summaries[name] = outcome.gate.to_dict()
        if name == result.champion_candidate:
            candidate = outcome
    if candidate is None:
        raise PreviError(f"training: the champion candidate {result.champion_candidate} was not trained")
    _, html = write_report(candidate, folder / AUDIT_FOLDER, lang=settings.language)
    for language in LANGUAGES:  # every language beside the default one, for the service's ?lang=
        page = render_html(candidate, lang=language)
        (folder / AUDIT_FOLDER / f"report.{language}.html").write_text(page, encoding="utf-8")
    return TrainingAudit(
        champion=candidate,
        summaries=summaries,
        report_path=html,
        compared_with=f"v{champion.version}" if champion_score is not None and champion else None,
        not_compared=not_compared,
        published_report=published / AUDIT_FOLDER / html.name if published is not None else None,
    )


def _champion_scores(
    result: TrainingResult, champion: Champion | None
) -> tuple[np.ndarray | None, str | None]:
    """The champion's probabilities on the test rows, or why it cannot score them."""
    if champion is None:
        return None, "no champion yet: recall is reported, not compared"
    missing = [name for name in champion.model.feature_names if name not in result.data.features.columns]
    if missing:
        return None, f"champion v{champion.version} uses features this data lacks: {', '.join(missing[:5])}"
    test = result.data.features.iloc[result.test_rows].reset_index(drop=True)
    return champion.model.probability(test), None


def flagged_groups(result: AuditResult, column: str) -> dict[str, set[str]]:
    """Group value -> what stands out for it in ``column``: flagged gate checks and reported
    disparities against the population whose whole interval lies outside the band."""
    flagged: dict[str, set[str]] = {}
    for group in result.to_dict()["groups"]:
        if group["column"] != column:
            continue
        checks = {metric for metric, values in group["disparity"].items() if values.get("outside_band")}
        checks |= {measure for measure, values in group["checks"].items() if values.get("flagged")}
        if checks:
            flagged[str(group["value"])] = checks
    return flagged
