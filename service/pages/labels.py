"""Words for the codes the pages show: tiers, purposes, roles, checks, audit details, one family each.

A code is stored and passed around as itself ("indicated", "no_valid_token");
only a page words it, through :func:`label_of`. Each word is an English message
id marked with :func:`~previ.i18n.N_`, so that Babel extracts it and both
catalogs translate it. A code without a word (a purpose a deployment added, a
column of a flat table) reads as itself.
"""

from __future__ import annotations

from typing import Final, Literal

from previ.i18n import N_, Language, translation

__all__ = ["LABELS", "Family", "label_of"]

Family = Literal[
    "tier",
    "tier_meaning",
    "purpose",
    "role",
    "gate",
    "outcome",
    "kind",
    "recorded",
    "feedback_error",
    "choice",
    "calibrator",
    "card_data",
    "source",
    "model",
    "check",
    "column",
    "value",
    "direction",
    "metric",
    "detail",
    "group",
    "allocation",
]

LABELS: Final[dict[Family, dict[str, str]]] = {
    "tier": {
        "universal": N_("Universal"),
        "selective": N_("Selective"),
        "indicated": N_("Indicated"),
    },
    "tier_meaning": {
        "universal": N_("No specific concern: the general prevention offer applies."),
        "selective": N_("Elevated need: group programmes may help."),
        "indicated": N_("High need: individual follow-up is recommended."),
    },
    "purpose": {
        "referral_planning": N_("Referral planning"),
        "case_review": N_("Case review"),
        "program_evaluation": N_("Programme evaluation"),
        "referral_made": N_("Referral made"),
        "referral_declined": N_("Referral declined"),
        "tier_overridden": N_("Tier overridden"),
    },
    "role": {
        "caseworker": N_("caseworker"),
        "program_manager": N_("programme manager"),
        "data_scientist": N_("data scientist"),
        "auditor": N_("auditor"),
    },
    "gate": {
        "passed": N_("passed"),
        "failed": N_("failed"),
        "unknown": N_("unknown"),
    },
    "outcome": {
        "allowed": N_("allowed"),
        "refused": N_("refused"),
    },
    # a decision's kind, in the audit log's filter
    "kind": {
        "referral_made": N_("referral made"),
        "referral_declined": N_("referral declined"),
        "tier_overridden": N_("tier overridden"),
    },
    # the notice after a decision was recorded
    "recorded": {
        "referral_made": N_("Recorded: referral made."),
        "referral_declined": N_("Recorded: referral declined."),
        "tier_overridden": N_("Recorded: tier overridden."),
    },
    "feedback_error": {
        "reason_required": N_("To override the tier, write the reason."),
        "feedback_invalid": N_("The decision could not be recorded: check the data."),
    },
    # what the estimate form offers for each feature
    "choice": {
        "value": N_("Value"),
        "no_record": N_("No record"),
        "unknown": N_("I don't know"),
    },
    "calibrator": {
        "platt": N_("Platt (logistic)"),
        "isotonic": N_("isotonic"),
    },
    # the model card's data summary, by its key made a slug
    "card_data": {
        "source": N_("Source"),
        "rows": N_("Rows (person and as-of date)"),
        "young_people": N_("Young people"),
        "prevalence": N_("With the adverse outcome"),
        "test_rows": N_("Rows of the test period"),
        "audit_columns_never_features": N_("Audit-only columns (never features)"),
        "as_of_dates": N_("As-of dates"),
        "horizon_days": N_("Horizon (days)"),
    },
    "source": {
        "bundle": N_("previ data bundle"),
    },
    "model": {
        "abc_rule": N_("ABC rule (attendance, behaviour, coursework)"),
        "one_feature": N_("One feature"),
        "logistic": N_("Logistic regression"),
        "glassbox": N_("Glass box (additive)"),
        "lightgbm": N_("Unconstrained LightGBM"),
    },
    # the fairness gate's checks, and the audited columns and levels, in the fairness report's words (the
    # same message ids as fairness_audits.texts; not imported from it: the serving process stays lean)
    "check": {
        "fnr": N_("Miss rate (FNR)"),
        "tpr": N_("Detection rate (TPR)"),
        "fpr": N_("False positive rate (FPR)"),
        "ppv": N_("Positive predictive value (PPV)"),
        "selection_rate": N_("Selection rate"),
        "roc_auc": N_("ROC AUC"),
        "ece": N_("Expected calibration error (ECE)"),
        "calibration_in_the_large": N_("Observed / predicted"),
        "calibration_slope": N_("Calibration slope"),
        "auc_above_chance": N_("Discrimination within the group"),
        "recall_vs_champion": N_("Recall against the champion"),
    },
    "column": {
        "age_band": N_("age band"),
        "sex": N_("sex"),
        "municipality": N_("municipality"),
        "indigenous": N_("indigenous"),
        "disability": N_("disability"),
    },
    "value": {"True": N_("yes"), "False": N_("no")},
    "direction": {
        "up": N_("raises"),
        "down": N_("protects"),
        "unknown": N_("no assumption"),
    },
    "metric": {
        "roc_auc": N_("ROC AUC"),
        "pr_auc": N_("PR AUC"),
        "brier": N_("Brier"),
        "ece": N_("ECE"),
        "precision_at_k": N_("Precision at k"),
        "recall_at_k": N_("Recall at k"),
        "lift_at_k": N_("Lift at k"),
    },
    # the audit log's detail codes, as the service writes them
    "detail": {
        "invalid_request": N_("Invalid request"),
        "invalid_features": N_("Invalid feature values"),
        "no_audit": N_("No fairness audit"),
        "unknown_purpose": N_("Purpose not allowed"),
        "punitive_purpose": N_("Punitive purpose refused"),
        "snapshots_unreadable": N_("Snapshots unreadable"),
        "not_found": N_("Not in the latest snapshot"),
        "no_model": N_("No model loaded"),
        "model_refused": N_("Model refused"),
        "login": N_("Sign-in"),
        "login_failed": N_("Failed sign-in"),
        "logout": N_("Sign-out"),
        "feedback": N_("Decision recorded"),
        "csv export": N_("CSV export"),
        "csrf_failed": N_("Form not verified (CSRF)"),
        "caseload": N_("Caseload view"),
        "effects": N_("Does it work? viewed"),
        "no_valid_token": N_("No valid token"),
        "no_valid_session": N_("No valid session"),
        "session_expired": N_("Session expired"),
        "token_file_unreadable": N_("Tokens unreadable"),
        "token_revoked": N_("Token revoked"),
        "tokens_unavailable": N_("Tokens unavailable"),
        "unauthenticated": N_("Not signed in"),
        "unknown_role": N_("Unknown role"),
        "not_on_caseload": N_("Not on the caseload"),
        "out_of_caseload": N_("Look-up outside the caseload"),
        "out_of_caseload_limit": N_("Daily limit of look-ups outside the caseload reached"),
        "not_answered": N_("Granted but not answered (server error)"),
        "rate_limited_address": N_("Too many requests from the address"),
        "rate_limited_token": N_("Too many requests with the token"),
        "token_locked": N_("Token locked after failed attempts"),
    },
    # how scarce places are shared (an allocation policy a manager signs)
    "allocation": {
        "need": N_("By need"),
        "equal_recall": N_("Equal recall across groups"),
    },
    # how the uptake page groups its counts
    "group": {
        "tier": N_("Tier in the latest snapshot"),
        "municipality": N_("Municipality"),
    },
}


def label_of(family: Family, code: str, language: Language) -> str:
    """The word for ``code`` in ``family``, in ``language``; the code itself when it has none."""
    message = LABELS[family].get(code)
    return code if message is None else translation(language).gettext(message)
