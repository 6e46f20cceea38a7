"""The data dictionary, generated from the feature registry.

docs/data_dictionary.md is this module's output; a test fails when the file is
stale, so the registry stays the one place where features are described.
"""

from __future__ import annotations

from features.registry import FEATURES, Language

_HEADERS: dict[Language, tuple[str, ...]] = {
    "es": (
        "Variable",
        "Tipo",
        "Tabla",
        "Agregación",
        "Ventana",
        "Unidad",
        "Dirección",
        "Descripción",
        "Canalización",
    ),
    "en": (
        "Feature",
        "Kind",
        "Table",
        "Aggregation",
        "Window",
        "Unit",
        "Direction",
        "Description",
        "Referral tags",
    ),
}
_KIND: dict[Language, dict[str, str]] = {
    "es": {"need": "necesidad", "history": "historial", "context": "contexto"},
    "en": {"need": "need", "history": "history", "context": "context"},
}
_DIRECTION = {1: "+1", -1: "-1", 0: "0"}


def registry_rows(language: Language) -> list[tuple[str, ...]]:
    """One row of strings per feature, in registry order."""
    return [
        (
            feature.name,
            _KIND[language][feature.kind],
            feature.source,
            feature.aggregation,
            f"{feature.window_days} d" if feature.window_days else "-",
            feature.unit,
            _DIRECTION[feature.direction],
            feature.description(language),
            ", ".join(feature.referral_tags) or "-",
        )
        for feature in FEATURES
    ]


def registry_headers(language: Language) -> tuple[str, ...]:
    return _HEADERS[language]


def data_dictionary_markdown() -> str:
    """The Markdown data dictionary, in Spanish and English."""
    lines = [
        "# previ: data dictionary / diccionario de datos",
        "",
        "Generated from `features/registry.py` by `previ features --list --markdown`; do not edit by hand.",
        "Direction: +1 raises the need for support (monotone constraint), -1 protects, 0 unknown.",
        "Kind: need (dynamic, actionable), history (a record that stays) or context (a given such as age);",
        "only needs and history with a recorded value are reasons; context and missing values never are.",
        "Every feature at `as_of` uses only events dated strictly before `as_of`.",
        "",
    ]
    sections: tuple[tuple[Language, str], ...] = (("es", "## Español"), ("en", "## English"))
    for language, title in sections:
        headers = registry_headers(language)
        lines += [title, "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in registry_rows(language)]
        lines.append("")
    return "\n".join(lines)
