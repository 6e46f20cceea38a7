"""The model card and the fairness flags in the reader's language, without a raw key on the page.

The card is written once at training (:mod:`models.card`, English, for MLflow
and Markdown); its fixed texts (intended use, out of scope, limitations) are
:mod:`models.card`'s message ids, translated by the catalogs, and its keys
(``tiers``, ``calibration``, ``data``, model names) are read through labels
(:mod:`service.pages.labels`). Fairness flags are the audit's structured
findings (``audit.json``'s ``gate.flags``) put in words: "Miss rate (FNR) for
age band 15-17: 0.67 (95% CI: ...)", an intersection as "sex F and age band 15-17".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from previ.i18n import Language, translation
from service.pages.labels import LABELS, label_of
from service.pages.views import decimal, percent

__all__ = [
    "allocation_words",
    "calibration_pairs",
    "data_pairs",
    "flag_sentences",
    "flags_text_words",
    "model_name",
    "tier_pairs",
    "validation_lines",
]

# One fold of training.splits: "train as_of 2022-08-01, 2023-02-01; validate 2024-02-01; test 2025-02-01".
FOLD = re.compile(r"train as_of (?P<train>[^;]+); validate (?P<validate>[^;]+); test (?P<test>[^;]+?)(?=;|$)")
SHOWN_FLAGS = 8
# The flags text training records as a version tag (training.fairness.TrainingAudit.flags_text):
# "2 gate checks flagged: calibration_in_the_large sex=F (0.63, adjusted p 0.0015); auc_above_chance
# age_band=15-17 (0.52, adjusted p 0.01) and 3 more", on the model card ending "(see REPORT)".
FLAGS_TEXT = re.compile(
    r"(?P<count>\d+) gate checks flagged: (?P<items>.*?)(?: and \d+ more)?(?: \(see [^)]*\))?$"
)
FLAG_ITEM = re.compile(r"(?P<check>[a-z_]+) (?P<column>[^=;]+)=(?P<value>[^;(]+?)(?: \([^)]*\))?(?:;|$)")


def model_name(name: str, language: Language) -> str:
    return label_of("model", name, language)


def tier_pairs(tiers: Mapping[str, Any], language: Language) -> list[tuple[str, str]]:
    """("Indicada", "desde 24 %") for each tier cut-off of the card."""
    texts = translation(language)
    return [
        (
            label_of("tier", key.removesuffix("_min"), language),
            texts.gettext("from {value}", value=percent(float(value), language)),
        )
        for key, value in tiers.items()
    ]


def calibration_pairs(calibration: Mapping[str, Any], language: Language) -> list[tuple[str, str]]:
    """("Método", "Platt"), ("Brier con Platt", "0,0746")..."""
    texts = translation(language)
    pairs = []
    for key, value in calibration.items():
        if key == "method":
            pairs.append((texts.gettext("Method"), label_of("calibrator", str(value), language)))
        elif key.startswith("brier_"):
            method = label_of("calibrator", key.removeprefix("brier_"), language)
            shown = decimal(float(value), 4, language) if isinstance(value, int | float) else "—"
            pairs.append((texts.gettext("Brier with {method}", method=method), shown))
    return pairs


def data_pairs(data: Mapping[str, Any], language: Language) -> list[tuple[str, str]]:
    """The card's data summary with labels; a key without a label is written in plain words."""
    texts = translation(language)
    pairs = []
    for key, value in data.items():
        slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
        label = (
            label_of("card_data", slug, language) if slug in LABELS["card_data"] else key.replace("_", " ")
        )
        if isinstance(value, float):
            shown = percent(value, language) if slug == "prevalence" else decimal(value, 3, language)
        elif isinstance(value, int):
            shown = texts.integer(value)
        elif slug == "source":
            shown = label_of("source", str(value), language)
        elif slug == "audit_columns_never_features":
            shown = ", ".join(label_of("column", name.strip(), language) for name in str(value).split(","))
        else:
            shown = str(value)
        pairs.append((label, shown))
    return pairs


def validation_lines(validation: str, language: Language) -> list[str]:
    """The card's validation in words: one line per temporal fold, or the cross-validation sentence."""
    texts = translation(language)
    folds = [match.groupdict() for match in FOLD.finditer(validation)]
    if folds:
        rolling = texts.gettext(
            "Rolling temporal folds: every training label window closes before the validation date, and "
            "every validation window before the test date."
        )
        return [rolling] + [
            texts.gettext(
                "Trained on {train}; validated on {validate}; tested on {test}.",
                **{key: value.strip() for key, value in fold.items()},
            )
            for fold in folds
        ]
    if validation.startswith("Stratified"):
        return [
            texts.gettext(
                "Stratified 5-fold cross-validation (the table has no dates): the figures do not show how "
                "the model ages over time."
            )
        ]
    return [validation] if validation else []


def flag_sentences(audit: Mapping[str, Any] | None, language: Language) -> tuple[list[str], int]:
    """The first flagged checks of the audit's gate in words, and how many more there are."""
    texts = translation(language)
    flagged = list(((audit or {}).get("gate") or {}).get("flags") or [])
    sentences = []
    for finding in flagged[:SHOWN_FLAGS]:
        check = label_of("check", str(finding.get("measure") or finding.get("check", "")), language)
        group = _group(str(finding.get("column", "")), str(finding.get("value", "")), language)
        ratio = finding.get("ratio")
        interval = finding.get("ratio_ci") or []
        if isinstance(ratio, int | float) and len(interval) == 2:
            sentences.append(
                texts.gettext(
                    "{check} for {group}: {ratio} (95% CI: {low} to {high}).",
                    check=check,
                    group=group,
                    ratio=decimal(float(ratio), 2, language),
                    low=decimal(float(interval[0]), 2, language),
                    high=decimal(float(interval[1]), 2, language),
                )
            )
        else:
            sentences.append(texts.gettext("{check} for {group}.", check=check, group=group))
    return sentences, max(0, len(flagged) - SHOWN_FLAGS)


def flags_text_words(flags: str, language: Language) -> str:
    """A version's recorded flags text in words; the text itself when it is not in the recorded form."""
    texts = translation(language)
    if flags.strip() == "none":
        return texts.gettext("No check of the gate is flagged.")
    match = FLAGS_TEXT.match(flags.strip())
    if match is None:
        return flags
    items = [
        texts.gettext(
            "{check} for {group}",
            check=label_of("check", item["check"], language),
            group=_group(item["column"].strip(), item["value"].strip(), language),
        )
        for item in FLAG_ITEM.finditer(match["items"])
    ]
    count = int(match["count"])
    return texts.ngettext(
        "{count} check flagged: {items}.",
        "{count} checks flagged, among them: {items}.",
        count,
        count=count,
        items="; ".join(items),
    )


def allocation_words(policy: str, language: Language) -> str:
    """A recorded allocation policy ("equal_recall across sex, municipality", "need") in words."""
    code, _, rest = policy.strip().partition(" ")
    columns = [name.strip() for name in rest.removeprefix("across").strip(" ()").split(",") if name.strip()]
    if code == "equal_recall" and columns:
        groups = f" {translation(language).gettext('and')} ".join(
            label_of("column", name, language) for name in columns
        )
        return translation(language).gettext("Equal recall across {groups}", groups=groups)
    return label_of("allocation", code, language) if code in LABELS["allocation"] else policy


def _group(column: str, value: str, language: Language) -> str:
    """ "age band 15-17"; an intersection ("sex*age_band" = "F*15-17") as "sex F and age band 15-17"."""
    columns = column.split("*")
    values = value.split("*")
    if len(columns) != len(values):
        columns, values = [column], [value]
    parts = [
        f"{label_of('column', name, language)} {label_of('value', level, language)}"
        for name, level in zip(columns, values, strict=True)
    ]
    return f" {translation(language).gettext('and')} ".join(parts)
