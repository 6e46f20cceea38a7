"""Language negotiation: Spanish by default, English when the client prefers it."""

from __future__ import annotations

import pytest

from service.texts import TEXTS, parse_accept_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "es"),
        ("", "es"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("fr-FR, en;q=0.5", "en"),
        ("en;q=0.2, es;q=0.8", "es"),
        ("de, fr", "es"),
        ("en;q=0", "es"),
        ("en;q=abc", "es"),
    ],
)
def test_the_first_accepted_language_of_es_and_en_wins(header: str | None, expected: str) -> None:
    assert parse_accept_language(header, "es") == expected


def test_every_text_exists_in_both_languages() -> None:
    for key, versions in TEXTS.items():
        assert set(versions) == {"es", "en"} and all(versions.values()), key
