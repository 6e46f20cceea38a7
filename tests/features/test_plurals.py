"""Reason sentences agree with their numbers: "1 caso resuelto", "2 casos resueltos", in both languages.

The check reads the rendered sentence, not the catalog: the words between the
number and the first preposition must be singular for 1 and plural otherwise.
The sentences come from the gettext catalogs, their form from each catalog's
plural rule (:mod:`previ.i18n`).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from features.registry import FEATURES, Feature, Language, Plural
from previ.i18n import translation

COUNTED = [feature for feature in FEATURES if isinstance(feature.reason_text, Plural)]
SENTENCES = 10_000
NUMBER = re.compile(r"(?<![\w,.])([+-]?\d+(?:[.,]\d{3})*)(?![\w%]|[,.]\d)")
# Words that end a noun phrase: prepositions and the like.
STOP: dict[Language, frozenset[str]] = {
    "es": frozenset({"en", "de", "del", "por", "con", "desde", "frente", "a", "al"}),
    "en": frozenset({"in", "at", "of", "for", "since", "through", "against", "over", "recorded"}),
}
# Singular words that happen to end in "s".
NOT_PLURAL = frozenset({"serious"})


def _phrase(sentence: str, language: Language) -> tuple[int, list[str]]:
    """The number of the sentence and the words after it, up to a preposition or the end."""
    match = NUMBER.search(sentence)
    assert match is not None, sentence
    words: list[str] = []
    for word in sentence[match.end() :].split():
        if word.lower() in STOP[language]:
            break
        words.append(word.lower())
    if language == "en" and not words:  # "Completed 1 prevention programme" puts the noun after
        words = sentence[match.end() :].split()
    return int(re.sub(r"[.,]", "", match.group(1))), words


def _agrees(number: int, words: list[str], language: Language) -> bool:
    """Singular: no plural word. Plural: the noun is (Spanish: it comes first; English: somewhere)."""
    plural = [word.endswith("s") and word not in NOT_PLURAL for word in words]
    if abs(number) == 1:
        return not any(plural)
    return bool(words) and (plural[0] if language == "es" else any(plural))


def _sentences(language: Language) -> list[tuple[Feature, str]]:
    rng = np.random.default_rng(20_261_202)
    rendered = []
    for _ in range(SENTENCES):
        feature = COUNTED[rng.integers(len(COUNTED))]
        if feature.unit == "points":  # percentage points of a rate: -1..1
            value = float(rng.choice([-0.01, 0.01, rng.integers(-40, 41) / 100]))
        else:
            value = float(rng.choice([0, 1, 1, 2, rng.integers(3, 400), rng.integers(1_000, 20_000)]))
        rendered.append((feature, feature.reason(value, language)))
    return rendered


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_plural_disagrees_with_its_number_over_ten_thousand_sentences(language: Language) -> None:
    rendered = _sentences(language)
    wrong = [sentence for _, sentence in rendered if not _agrees(*_phrase(sentence, language), language)]
    assert wrong == []
    numbers = [abs(_phrase(sentence, language)[0]) for _, sentence in rendered]
    assert numbers.count(1) > 1000 and sum(n > 1 for n in numbers) > 1000  # both forms were exercised


@pytest.mark.parametrize(
    ("sentence", "language", "agrees"),
    [
        ("1 casos resueltos por mediación", "es", False),
        ("1 caso resuelto por mediación", "es", True),
        ("3 caso resuelto por mediación", "es", False),
        ("Completed 1 prevention programmes", "en", False),
        ("Completed 1 prevention programme", "en", True),
        ("1 serious school incident in the last year", "en", True),
        ("Late 1 days in the last 90 days", "en", False),
    ],
)
def test_the_agreement_check_catches_the_mistakes_it_is_for(
    sentence: str, language: Language, agrees: bool
) -> None:
    assert _agrees(*_phrase(sentence, language), language) is agrees


def test_every_counted_feature_has_its_forms_with_the_value_in_both_catalogs() -> None:
    assert len(COUNTED) >= 20
    for feature in COUNTED:
        template = feature.reason_text
        assert isinstance(template, Plural) and template.one != template.other
        for language in ("es", "en"):
            texts = translation(language)
            forms = {texts.ngettext(template.one, template.other, n) for n in (1, 2, 1_000_000)}
            assert len(forms) >= 2, (feature.name, language)  # the singular differs from the plural
            assert all("{value}" in form for form in forms), (feature.name, language)


def test_a_spanish_sentence_takes_the_form_of_its_number_as_written() -> None:
    absences = next(feature for feature in FEATURES if feature.name == "unexcused_absences_90d")
    assert absences.reason(1.0, "es") == "1 falta injustificada en los últimos 90 días"
    assert absences.reason(0.6, "es") == "1 falta injustificada en los últimos 90 días"  # written "1"
    assert absences.reason(0.0, "es") == "0 faltas injustificadas en los últimos 90 días"
    assert absences.reason(1234.0, "es") == "1.234 faltas injustificadas en los últimos 90 días"
    assert absences.reason(1234.0, "en") == "1,234 unexcused absences in the last 90 days"
    change = next(feature for feature in FEATURES if feature.name == "attendance_rate_change")
    assert change.reason(-0.01, "es").startswith("Cambio de -1 punto ")
    assert change.reason(0.01, "en") == "Attendance changed by +1 point against the months before"
