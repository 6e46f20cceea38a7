"""The model card and the fairness flags in the reader's language, without a raw key on the page.

The card is written once at training (:mod:`models.card`, English, for MLflow
and Markdown); its fixed texts (intended use, out of scope, limitations) are
the page texts ``card_text_*`` in both languages, and its keys (``tiers``,
``calibration``, ``data``, model names) are read through labels. Fairness
flags are the audit's structured findings (``audit.json``'s ``gate.flagged``)
put in words: "Miss rate (FNR) for age band 15-17: 0.67 times the reference
group's", an intersection as "sex F and age band 15-17".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from features.registry import Language
from service.pages.texts import PAGE_TEXTS, label_of, page_text
from service.pages.views import decimal, percent

__all__ = [
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
# age_band=15-17 (0.52, adjusted p 0.01) and 3 more".
FLAGS_TEXT = re.compile(r"(?P<count>\d+) gate checks flagged: (?P<items>.*?)(?: and \d+ more)?$")
FLAG_ITEM = re.compile(r"(?P<check>[a-z_]+) (?P<column>[^=;]+)=(?P<value>[^;(]+?)(?: \([^)]*\))?(?:;|$)")


def model_name(name: str, language: Language) -> str:
    return label_of("model", name, language)


def tier_pairs(tiers: Mapping[str, Any], language: Language) -> list[tuple[str, str]]:
    """("Indicada", "desde 24%") for each tier cut-off of the card."""
    pairs = []
    for key, value in tiers.items():
        tier = key.removesuffix("_min")
        label = label_of("tier", tier, language)
        pairs.append((label, page_text("card_tier_from", language, value=percent(float(value)))))
    return pairs


def calibration_pairs(calibration: Mapping[str, Any], language: Language) -> list[tuple[str, str]]:
    """("Método", "Platt"), ("Brier con Platt", "0,0746")..."""
    pairs = []
    for key, value in calibration.items():
        if key == "method":
            pairs.append(
                (page_text("card_calibration_method", language), label_of("calibrator", str(value), language))
            )
        elif key.startswith("brier_"):
            method = label_of("calibrator", key.removeprefix("brier_"), language)
            shown = decimal(float(value), 4, language) if isinstance(value, int | float) else "—"
            pairs.append((page_text("card_brier_with", language, method=method), shown))
    return pairs


def data_pairs(data: Mapping[str, Any], language: Language) -> list[tuple[str, str]]:
    """The card's data summary with labels; a key without a label is written in plain words."""
    pairs = []
    for key, value in data.items():
        slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
        label = PAGE_TEXTS[language].get(f"card_data_{slug}") or key.replace("_", " ")
        if isinstance(value, float):
            shown = percent(value) if slug == "prevalence" else decimal(value, 3, language)
        elif isinstance(value, int):
            shown = f"{value:,}".replace(",", " " if language == "es" else ",")
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
    folds = [match.groupdict() for match in FOLD.finditer(validation)]
    if folds:
        return [page_text("card_validation_temporal", language)] + [
            page_text("card_fold", language, **{key: value.strip() for key, value in fold.items()})
            for fold in folds
        ]
    if validation.startswith("Stratified"):
        return [page_text("card_validation_stratified", language)]
    return [validation] if validation else []


def flag_sentences(audit: Mapping[str, Any] | None, language: Language) -> tuple[list[str], int]:
    """The first flagged checks of the audit's gate in words, and how many more there are."""
    flagged = list(((audit or {}).get("gate") or {}).get("flags") or [])
    sentences = []
    for finding in flagged[:SHOWN_FLAGS]:
        check = label_of("check", str(finding.get("measure") or finding.get("check", "")), language)
        group = _group(str(finding.get("column", "")), str(finding.get("value", "")), language)
        ratio = finding.get("ratio")
        interval = finding.get("ratio_ci") or []
        if isinstance(ratio, int | float) and len(interval) == 2:
            sentences.append(
                page_text(
                    "flag_sentence",
                    language,
                    check=check,
                    group=group,
                    ratio=decimal(float(ratio), 2, language),
                    low=decimal(float(interval[0]), 2, language),
                    high=decimal(float(interval[1]), 2, language),
                )
            )
        else:
            sentences.append(page_text("flag_sentence_plain", language, check=check, group=group))
    return sentences, max(0, len(flagged) - SHOWN_FLAGS)


def flags_text_words(flags: str, language: Language) -> str:
    """A version's recorded flags text in words; the text itself when it is not in the recorded form."""
    if flags.strip() == "none":
        return page_text("flags_none", language)
    match = FLAGS_TEXT.match(flags.strip())
    if match is None:
        return flags
    items = [
        page_text(
            "flag_item",
            language,
            check=label_of("check", item["check"], language),
            group=_group(item["column"].strip(), item["value"].strip(), language),
        )
        for item in FLAG_ITEM.finditer(match["items"])
    ]
    return page_text("flags_summary", language, count=match["count"], items="; ".join(items))


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
    return page_text("flag_and", language).join(parts)
