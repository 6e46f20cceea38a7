"""The programme manager's pages: the fairness report, the model card, registered versions, referral uptake,
and "¿Funciona?" (the latest evaluation of the programmes' effects).

None of them lists young people: the fairness report and the card describe the
model, the versions page the registry, and uptake shows counts by programme
and group. Each view is written to the audit log, as the API's are.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from models.card import INTENDED_USE, LIMITATIONS, OUT_OF_SCOPE
from previ.errors import PreviError
from previ.i18n import N_, Language, Translation, translation
from service.pages.card_words import (
    allocation_words,
    calibration_pairs,
    data_pairs,
    flag_sentences,
    flags_text_words,
    model_name,
    tier_pairs,
    validation_lines,
)
from service.pages.effects import SIGNIFICANT, EffectRow, latest_evaluation
from service.pages.frame import Page, PageRoute, page_for
from service.pages.labels import label_of
from service.pages.places import ALL_MUNICIPALITIES, cycle_uptake
from service.pages.uptake import ALL_GROUPS, GroupBy, referral_uptake
from service.pages.versions import METRICS, registered_versions
from service.pages.views import cost_sentence, decimal
from service.texts import NO_AUDIT, text
from service.tokens import ROLES

router = APIRouter(route_class=PageRoute, include_in_schema=False)

AnyRolePage = Annotated[Page, Depends(page_for(*ROLES))]
ManagerPage = Annotated[Page, Depends(page_for("program_manager"))]
RegistryPage = Annotated[Page, Depends(page_for("program_manager", "data_scientist"))]
CARD_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "precision_at_k", "recall_at_k", "lift_at_k")
# The audit report is shown in a sandboxed frame: no scripts, no same-origin access, only its own
# inline styles and data: images, and only inside previ's own pages.
REPORT_HEADERS = {
    "content-security-policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'",
    "x-frame-options": "SAMEORIGIN",
}


@router.get("/model")
def model_card(page: AnyRolePage) -> Response:
    """The served model's card (any role, as GET /v1/model)."""
    guard = page.guard
    model = guard.model()
    guard.log("allowed", 200, model=model)
    card: dict[str, Any] = model.card
    language = page.language
    texts = translation(language)
    metrics = [
        (
            name,
            model_name(name, language),
            [_metric_cell(values, metric, language) for metric in CARD_METRICS],
        )
        for name, values in (card.get("metrics") or {}).items()
    ]
    features = [
        {
            "name": feature.get("name", ""),
            "description": _description(feature, texts),
            "direction": label_of(
                "direction", {1: "up", -1: "down"}.get(feature.get("direction", 0), "unknown"), language
            ),
        }
        for feature in card.get("features") or []
    ]
    cost = card.get("cost_of_interpretability_auc")
    return page.render(
        "model.html",
        model=model,
        card=card,
        metric_names=[label_of("metric", metric, language) for metric in CARD_METRICS],
        metrics=metrics,
        features=features,
        cost=cost_sentence(cost, page.language) if cost is not None else None,
        intended_use=texts.gettext(INTENDED_USE),
        out_of_scope=texts.gettext(OUT_OF_SCOPE),
        limitations=[texts.gettext(limitation) for limitation in LIMITATIONS],
        served=_served(card.get("served_model"), language),
        tiers=tier_pairs(card.get("tiers") or {}, language),
        calibration=calibration_pairs(card.get("calibration") or {}, language),
        data=data_pairs(card.get("data") or {}, language),
        validation=validation_lines(str(card.get("validation") or ""), language),
    )


@router.get("/manager/fairness")
def fairness(page: ManagerPage) -> Response:
    """The champion's fairness audit: its gate and flags, and the full report in a sandboxed frame."""
    guard = page.guard
    model = guard.model()
    if model.audit_html is None:
        guard.refuse(404, text(NO_AUDIT, page.language), model=model, detail="no_audit")
    guard.log("allowed", 200, model=model)
    audit = model.card.get("fairness_audit") or {}
    flags, more = flag_sentences(model.audit_json, page.language)
    return page.render(
        "fairness.html",
        model=model,
        gate=audit.get("gate") or "unknown",
        flags=flags,
        more_flags=more,
        allocation=audit.get("allocation policy") or "need",
        allocation_words=lambda policy: allocation_words(str(policy), page.language),
    )


@router.get("/manager/fairness/report")
def fairness_report(page: ManagerPage) -> Response:
    """The audit's own HTML report (as GET /v1/fairness with Accept: text/html), for the frame."""
    guard = page.guard
    model = guard.model()
    if model.audit_html is None:
        guard.refuse(404, text(NO_AUDIT, page.language), model=model, detail="no_audit")
    guard.log("allowed", 200, model=model)
    return HTMLResponse(model.audit_report(page.language), headers=REPORT_HEADERS)


@router.get("/manager/versions")
def versions(page: RegistryPage) -> Response:
    """Every registered version with its metrics and audit gate side by side."""
    guard = page.guard
    training = page.state.config.training
    served = page.state.holder.current
    guard.log("allowed", 200, model=served)
    try:
        rows = registered_versions(training)
        unavailable = False
    except PreviError:
        rows, unavailable = [], True
    return page.render(
        "versions.html",
        status=503 if unavailable else 200,
        name=training.registered_model,
        rows=rows,
        served_version=served.version if served is not None else None,
        metrics=METRICS,
        metric_names=[label_of("metric", metric, page.language) for metric in METRICS],
        unavailable=unavailable,
        flags_words=lambda flags: flags_text_words(str(flags), page.language),
        allocation_words=lambda policy: allocation_words(str(policy), page.language),
    )


@router.get("/manager/uptake")
def uptake(page: ManagerPage) -> Response:
    """Referrals suggested, made and declined, by programme and group (counts only)."""
    requested = page.request.query_params.get("group", "tier")
    group_by: GroupBy = "municipality" if requested == "municipality" else "tier"
    guard = page.guard
    guard.log("allowed", 200, detail=f"uptake by {group_by}")
    result = referral_uptake(page.state, group_by=group_by, cache=page.pages.cache)
    catalog = page.state.catalog

    def programme_name(program: str) -> str:
        programme = catalog.get(program)
        return programme.name(page.language) if programme is not None else program

    def group_name(group: str) -> str:
        if group == ALL_GROUPS:
            return page.gettext("All")
        if group == "":
            return page.gettext("Not in the latest snapshot")
        return label_of("tier", group, page.language) if group_by == "tier" else group

    places = cycle_uptake(page.state)
    return page.render(
        "uptake.html",
        group_by=group_by,
        as_of=result.as_of,
        cycle=places.cycle if places else None,
        places=[
            {
                "programme": programme_name(row.program),
                "municipality": page.gettext("All")
                if row.municipality == ALL_MUNICIPALITIES
                else row.municipality,
                "total": row.municipality == ALL_MUNICIPALITIES,
                "capacity": "—" if row.capacity is None else row.capacity,
                "open": "—" if row.open is None else row.open,
                "offered": row.offered,
                "accepted": row.accepted,
                "declined": row.declined,
                "completed": row.completed,
                "waiting": row.waiting,
            }
            for row in (places.rows if places else [])
        ],
        rows=[
            {
                "programme": programme_name(row.program),
                "group": group_name(row.group),
                "total": row.group == ALL_GROUPS,
                "suggested": row.suggested,
                "made": row.made,
                "declined": row.declined,
                "uptake": page.texts.percent(row.uptake) if row.uptake is not None else "—",
            }
            for row in result.rows
        ],
        overrides=[
            (group_name(group), label_of("tier", tier, page.language), count)
            for group, tier, count in result.overrides
        ],
    )


VERDICTS: Final[dict[str, str]] = {
    "met": N_("Goal met: the whole interval is above {goal}"),
    "above_open": N_("Reaches {goal}, but not with enough certainty"),
    "below": N_("A reduction, but less than {goal}"),
    "none": N_("No evidence of a reduction"),
    "unknown": N_("No estimate"),
}
DESIGNS: Final[dict[str, str]] = {
    "observational": N_(
        "A comparison adjusted for what was known of each young person when the programme began (doubly "
        "robust estimation)."
    ),
    "lottery": N_(
        "A lottery among those ranked just around the cut-off for places: the strongest evidence, for "
        "the people at that margin."
    ),
    "rd": N_(
        "A comparison just above and just below the cut-off for places (regression discontinuity), for "
        "the people at that margin."
    ),
}
DIFFER = N_("The effects differ between municipalities (heterogeneity test, p = {p}).")
DO_NOT_DIFFER = N_(
    "No evidence that the effects differ between municipalities (heterogeneity test, p = {p})."
)
SERVED: Final[dict[str, str]] = {
    "observational": N_("Everyone served"),
    "lottery": N_("At the cut-off's margin (lottery)"),
    "rd": N_("At the cut-off's margin"),
}


@router.get("/manager/effects")
def effects(page: ManagerPage) -> Response:
    """¿Funciona?: the latest evaluation's effects against the 15% goal, by programme and municipality."""
    guard = page.guard
    guard.log("allowed", 200, detail="effects")
    try:
        found = latest_evaluation(page.state.config.training, page.pages.cache)
        unavailable = False
    except PreviError:
        found, unavailable = None, True
    if found is None:
        return page.render(
            "effects.html", status=503 if unavailable else 200, found=None, unavailable=unavailable
        )
    language = page.language
    catalog = page.state.catalog

    def share(value: float | None) -> str:
        if value is None:
            return "—"
        if math.isinf(value):
            return page.gettext("unbounded")  # an interval open on that side (see effects._row)
        return f"{decimal(100 * value, 0, language)}%"

    def row(effect: EffectRow, name: str) -> dict[str, str]:
        return {
            "name": name,
            "served": str(effect.n_served),
            "reduction": share(effect.value),
            "interval": page.gettext(
                "between {low} and {high}", low=share(effect.low), high=share(effect.high)
            )
            if effect.low is not None and effect.high is not None
            else "",
            "verdict": page.gettext(VERDICTS[effect.verdict], goal=share(found.goal)),
            "verdict_class": effect.verdict,
        }

    def programme_name(program: str) -> str:
        programme = catalog.get(program)
        return programme.name(language) if programme is not None else program.replace("_", " ")

    p_value = found.difference_p
    return page.render(
        "effects.html",
        found=found,
        unavailable=False,
        goal=share(found.goal),
        when=page.texts.date(found.when.date()),
        design=page.gettext(DESIGNS[found.design]),
        served=row(found.served, page.gettext(SERVED[found.design])),
        programs=[row(effect, programme_name(effect.name)) for effect in found.programs],
        municipalities=[row(effect, effect.name) for effect in found.municipalities],
        pooled=row(found.pooled, page.gettext("Municipalities combined")) if found.pooled else None,
        differ=None
        if p_value is None
        else page.gettext(
            DIFFER if p_value < SIGNIFICANT else DO_NOT_DIFFER, p=decimal(p_value, 2, language)
        ),
    )


def _metric_cell(values: dict[str, Any], metric: str, language: Language) -> tuple[str, str]:
    """The metric and its 95% interval as printed ("0,718", "0,693–0,760" in Spanish); dashes when absent."""
    value = values.get(metric)
    if not isinstance(value, int | float):
        return "—", ""
    interval = values.get(f"{metric}_ci")
    if isinstance(interval, list | tuple) and len(interval) == 2:
        low, high = interval
        if isinstance(low, int | float) and isinstance(high, int | float):
            return decimal(value, 3, language), f"{decimal(low, 3, language)}–{decimal(high, 3, language)}"
    return decimal(value, 3, language), ""


def _served(served: Any, language: Language) -> str | None:
    """How the served model differs from the one the test figures describe, in words (None: it does not)."""
    if not isinstance(served, dict):
        return None
    texts = translation(language)
    rows = texts.integer(int(served.get("rows") or 0))
    calibration_rows = texts.integer(int(served.get("calibration_rows") or 0))
    calibrated_on = str(served.get("calibrated_on") or "")
    if calibrated_on == "sample":
        return texts.gettext(
            "The served model was refitted with the same settings on {rows} rows and calibrated on "
            "{calibration_rows} held-out rows. The test figures are those of these settings under "
            "cross-validation.",
            rows=rows,
            calibration_rows=calibration_rows,
        )
    try:
        date = texts.date(dt.date.fromisoformat(calibrated_on))
    except ValueError:
        date = calibrated_on
    return texts.gettext(
        "The served model was refitted with the same settings on {rows} rows (every period whose outcome "
        "is known) and calibrated on {calibration_rows} rows of half the young people of {date}. The test "
        "figures are those of these settings fitted on the last period.",
        rows=rows,
        calibration_rows=calibration_rows,
        date=date,
    )


def _description(feature: dict[str, Any], texts: Translation) -> str:
    """A card feature's description in the reader's language: the registry's English message id, translated.

    A card written before the catalogs carried the English text as ``description_en``.
    """
    description = str(feature.get("description") or feature.get("description_en") or "")
    return texts.gettext(description) if description else ""
