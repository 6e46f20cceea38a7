"""The fairness report's words for the codes it shows: metrics, their help, check statuses.

Every other sentence of the report is written where it is used (:mod:`fairness_audits.narrative`,
:mod:`fairness_audits.report`, the template) as an English message id; these families are looked up by
code. All are translated by the gettext catalogs (:mod:`previ.i18n`). The report speaks of *support needs*:
a positive outcome is a young person who needed support, a selection is a suggested referral. Never words
that label people.
"""

from __future__ import annotations

from typing import Final

from previ.i18n import LANGUAGES, N_, Language, Translation

__all__ = ["COLUMNS", "HELP", "LANGUAGES", "METRIC", "STATUS", "VALUES", "Lang", "readable"]

Lang = Language

METRIC: Final[dict[str, str]] = {
    "prevalence": N_("With a support need"),
    "selection_rate": N_("Selection rate"),
    "tpr": N_("Detection rate (TPR)"),
    "fnr": N_("Miss rate (FNR)"),
    "fpr": N_("False positive rate (FPR)"),
    "ppv": N_("Positive predictive value (PPV)"),
    "fdr": N_("False discovery rate (FDR)"),
    "for": N_("False omission rate (FOR)"),
    "npv": N_("Negative predictive value (NPV)"),
    "roc_auc": N_("ROC AUC"),
    "ece": N_("Expected calibration error (ECE)"),
    "calibration_in_the_large": N_("Observed / predicted"),
    "calibration_slope": N_("Calibration slope"),
    "auc_above_chance": N_("Discrimination within the group"),
    "recall_vs_champion": N_("Recall against the champion"),
}
HELP: Final[dict[str, str]] = {
    "prevalence": N_("Share of the group with a support need (the recorded outcome)."),
    "selection_rate": N_("Share of the group the rule would refer."),
    "tpr": N_("Of those with a support need, the share the rule identifies."),
    "fnr": N_("Of those with a support need, the share the rule misses."),
    "fpr": N_("Of those without a recorded need, the share the rule would refer."),
    "ppv": N_("Of those the rule would refer, the share with a support need."),
    "fdr": N_("Of those the rule would refer, the share without a recorded need."),
    "for": N_("Of those the rule would not refer, the share who had a support need."),
    "npv": N_("Of those the rule would not refer, the share without a recorded need."),
    "roc_auc": N_("Probability that the model scores someone with a need above someone without."),
    "ece": N_("Average gap between score and observed rate (0 is perfect)."),
    "calibration_in_the_large": N_("Observed cases divided by the cases the model predicts (1 is perfect)."),
    "calibration_slope": N_(
        "Slope of a logistic regression of the outcome on the score within the group: 1 is perfect, below "
        "1 means scores too extreme."
    ),
    "auc_above_chance": N_(
        "(group AUC − 0.5) / (pooled within-group AUC of the column − 0.5): how well the model orders by "
        "need within the group, against the other groups of the same column."
    ),
    "recall_vs_champion": N_(
        "The group's recall at the programme's capacity divided by the current champion's on the same "
        "people: 1 is equal, below 1 is worse."
    ),
}
STATUS: Final[dict[str, str]] = {
    "ok": N_("within band"),
    "flagged": N_("outside band"),
    "insufficient_data": N_("insufficient data"),
    "undefined": N_("undefined"),
    "not_applicable": N_("not applicable"),
    "reference": N_("reference"),
}
# previ's audit columns and the levels that read as words; any other column or level (a municipality, a
# flat table's own columns) is shown as itself, underscores as spaces.
COLUMNS: Final[dict[str, str]] = {
    "age_band": N_("age band"),
    "sex": N_("sex"),
    "municipality": N_("municipality"),
    "indigenous": N_("indigenous"),
    "disability": N_("disability"),
}
VALUES: Final[dict[str, str]] = {"True": N_("yes"), "False": N_("no")}


def readable(name: str, texts: Translation, *, level: bool = False) -> str:
    """A column, intersection or level as people read it: "sex × age band", "F × 15-17", "yes"."""
    words = VALUES if level else COLUMNS
    return " × ".join(
        texts.gettext(words[part]) if part in words else part.replace("_", " ") for part in name.split("*")
    )
