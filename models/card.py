"""The model card: what a model is for, what it is not for, and how well it works.

Built from the training run's figures, so it cannot drift from them; written
as JSON (for the service's ``GET /v1/model``) and as Markdown (for people), in
English. Its fixed texts are message ids: the service's model card page shows
them in the reader's language through the catalogs (:mod:`previ.i18n`).
"""

from __future__ import annotations

from typing import Any

from previ.i18n import N_

INTENDED_USE = N_(
    "Prioritise voluntary prevention support (tutoring, school re-engagement, mentoring, family support, "
    "restorative mediation, substance-use prevention) for young people aged 11-19, within a municipal "
    "prevention programme of limited capacity. A score is a prompt for a caseworker's conversation, "
    "never a determination about a young person."
)
OUT_OF_SCOPE = N_(
    "Sanctions of any kind, policing, patrol or surveillance targeting, school discipline or "
    "expulsion, immigration or benefits decisions, court or probation decisions, and any public list "
    "of young people ranked by need."
)
LIMITATIONS = (
    N_(
        "Records reflect who was seen by schools and civic justice, not only behaviour: recording can differ "
        "by municipality or group, so the fairness audit must be read with the metrics."
    ),
    N_(
        "The outcome is a recorded event within the horizon; a young person without records may still "
        "need support."
    ),
    N_(
        "Figures hold for the period and population of the training data; re-evaluate after changes in "
        "recording practice, programmes or the population served."
    ),
)


def build_model_card(
    *,
    name: str,
    champion: str,
    metrics: dict[str, dict[str, Any]],
    data: dict[str, Any],
    validation: str,
    calibration: dict[str, Any],
    tiers: dict[str, float],
    features: list[dict[str, Any]],
    audit: dict[str, Any] | None = None,
    served: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The card as a JSON-ready mapping.

    ``served`` says how the served model differs from the one the test figures
    describe: {"text": ..., "rows": ..., "calibration_rows": ..., "calibrated_on": ...}.
    """
    candidate = metrics.get(champion, {})
    unconstrained = metrics.get("lightgbm")
    cost = None
    if champion == "glassbox" and unconstrained:
        cost = round(float(unconstrained["roc_auc"]) - float(candidate["roc_auc"]), 4)
    return {
        "model": name,
        "model_kind": champion,
        "intended_use": INTENDED_USE,
        "out_of_scope": OUT_OF_SCOPE,
        "limitations": list(LIMITATIONS),
        "data": data,
        "validation": validation,
        "calibration": calibration,
        "tiers": tiers,
        "metrics": metrics,
        "cost_of_interpretability_auc": cost,
        "features": features,
        "fairness_audit": audit,
        "served_model": served,
    }


def model_card_markdown(card: dict[str, Any]) -> str:
    """The card for people."""
    lines = [
        f"# Model card: {card['model']} ({card['model_kind']})",
        "",
        "## Intended use",
        card["intended_use"],
        "",
        "## Out of scope",
        card["out_of_scope"],
        "",
        "## Data",
        *[f"- {key}: {value}" for key, value in card["data"].items()],
        "",
        f"## Validation\n{card['validation']}",
        *([f"\n## Served model\n{card['served_model']['text']}"] if card.get("served_model") else []),
        "",
        "## Metrics on the test fold (95% bootstrap intervals)",
        "",
        "| model | ROC AUC | PR AUC | Brier | ECE | precision@k | recall@k | lift@k |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, values in card["metrics"].items():
        cells = [_cell(values, metric) for metric in ("roc_auc", "pr_auc", "brier", "ece")]
        cells += [_cell(values, metric) for metric in ("precision_at_k", "recall_at_k", "lift_at_k")]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    cost = card.get("cost_of_interpretability_auc")
    if cost is not None:
        lines += [
            "",
            _cost_sentence(cost),
        ]
    lines += [
        "",
        f"## Calibration\n{card['calibration']}",
        "",
        "## Tiers (calibrated probability cut-offs)",
        *[f"- {key}: {value:.4f}" for key, value in card["tiers"].items()],
        "",
        "## Limitations",
        *[f"- {item}" for item in card["limitations"]],
    ]
    audit = card.get("fairness_audit")
    if audit:
        lines += ["", "## Fairness audit", *[f"- {key}: {value}" for key, value in audit.items()]]
    return "\n".join(lines) + "\n"


def _cost_sentence(cost: float) -> str:
    if abs(cost) < 0.0005:
        return (
            "Cost of interpretability: none to speak of "
            "(the same ROC AUC as the unconstrained LightGBM, within 0.001)."
        )
    if cost > 0:
        return (
            "Cost of interpretability: the unconstrained LightGBM ranks slightly better "
            f"(ROC AUC {cost:.3f} higher)."
        )
    return (
        "Cost of interpretability: none; the glass box ranks better "
        f"(ROC AUC {-cost:.3f} higher than the unconstrained LightGBM)."
    )


def _cell(values: dict[str, Any], metric: str) -> str:
    value = values.get(metric)
    interval = values.get(f"{metric}_ci")
    if value is None:
        return "-"
    if interval:
        return f"{value:.3f} ({interval[0]:.3f}-{interval[1]:.3f})"
    return f"{value:.3f}"
