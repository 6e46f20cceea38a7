"""Language negotiation: Spanish by default, English when the client prefers it."""

from __future__ import annotations

import pytest

from service.texts import NO_SNAPSHOT, WRONG_ROLE, parse_accept_language, range_many_unknown, text


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


def test_the_service_messages_read_in_each_language() -> None:
    assert text(NO_SNAPSHOT, "es") == "Todavía no hay ningún lote calculado ('previ score')."
    assert text(NO_SNAPSHOT, "en") == "No batch snapshot exists yet ('previ score')."
    assert text(WRONG_ROLE, "es", role="auditor") == "Su rol (auditor) no tiene acceso a este recurso."
    assert range_many_unknown(1, "es") == "1 dato" and range_many_unknown(12, "es") == "12 datos"
    assert range_many_unknown(1, "en") == "1 value" and range_many_unknown(12, "en") == "12 values"
